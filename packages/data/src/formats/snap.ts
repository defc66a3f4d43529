/**
 * SNAP's NETINF and InfoPath text formats (Gomez-Rodriguez et al.; snap-stanford `examples/netinf`,
 * `examples/infopath`). Every file starts with a node block, `id,name` per line, then a blank line,
 * then records:
 * - NETINF cascades: `id,t,id,t,...` per cascade. SNAP sorts each cascade by time after reading, so
 *   the order in the file is free (the NETINF example lists times in descending order); we sort too.
 * - InfoPath cascades: `cascade_id;id,t,id,t,...`.
 * - NETINF networks (ground truth or inferred): `src,dst` per directed edge.
 * - InfoPath networks (time-varying): `src,dst,t0,a0,t1,a1,...`, the transmission rate a_k from t_k.
 * - NETINF's `network-edge.info`: header `src dst vol marginal_gain median_timediff average_timediff`,
 *   then `src/dst/vol/gain/median/average` per inferred edge.
 */
import type { Cascade, InfectionEvent, SocialGraph } from '@cascade-lab/core';
import { TextSource, parseInteger, parseNumber, quote, stableSortByTime, type Line, type ParseOptions } from '../parse-util.js';
import { Vocabulary } from '../vocabulary.js';
import { formatNumber } from './ndm.js';

export interface SnapNode {
  id: number;
  name: string;
}

interface Blocks {
  src: TextSource;
  nodes: SnapNode[];
  records: Line[];
}

/** Splits a SNAP file into its node block and its record lines. */
function readBlocks(text: string, file: string, options: ParseOptions, what: string): Blocks {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent(what);
  const nodes: SnapNode[] = [];
  const seen = new Set<number>();
  let i = 0;
  const lines = src.lines;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line.text.trim().length === 0) break;
    const comma = line.text.indexOf(',');
    const id = comma > 0 ? parseInteger(line.text.slice(0, comma)) : undefined;
    if (id === undefined || id < 0) {
      src.fail(line, `expected "id,name" in the node block (records come after one blank line), got ${quote(line.text)}`);
    }
    if (seen.has(id)) src.fail(line, `node ${id} is listed twice`);
    seen.add(id);
    nodes.push({ id, name: line.text.slice(comma + 1) });
  }
  if (i === lines.length) src.fail(lines.length, 'no blank line after the node block: the file has nodes but no records');
  const records = lines.slice(i + 1).filter((l) => l.text.trim().length > 0);
  return { src, nodes, records };
}

/** Vocabulary of a SNAP node block: raw id = the node id as a decimal string, in block order. */
export function snapVocabulary(nodes: readonly SnapNode[]): Vocabulary {
  return new Vocabulary(nodes.map((n) => String(n.id)));
}

export interface SnapCascadesFile {
  nodes: SnapNode[];
  vocabulary: Vocabulary;
  cascades: Cascade[];
}

function parsePairs(src: TextSource, line: Line, body: string, vocab: Vocabulary, offset: number): InfectionEvent[] | undefined {
  const parts = body.split(',');
  if (parts.length % 2 !== 0 || body.trim().length === 0) {
    src.problem(line, 'malformed-line', `expected "id,time,id,time,...", an even number of fields, got ${parts.length}`, offset + 1);
    return undefined;
  }
  const events: InfectionEvent[] = [];
  const seen = new Set<number>();
  for (let k = 0; k < parts.length; k += 2) {
    const raw = parts[k].trim();
    const time = parseNumber(parts[k + 1].trim());
    if (time === undefined) {
      src.problem(line, 'bad-number', `time ${quote(parts[k + 1])} of node ${quote(raw)} is not a number`);
      continue;
    }
    const user = vocab.indexOf(raw);
    if (user === undefined) {
      src.problem(line, 'unknown-user', `node ${quote(raw)} is not in the node block`);
      continue;
    }
    if (seen.has(user)) {
      src.problem(line, 'duplicate-user', `node ${quote(raw)} is infected twice in this cascade`);
      continue;
    }
    seen.add(user);
    events.push({ user, time });
  }
  // SNAP's cascade reader sorts by time; the file's order carries no meaning.
  return stableSortByTime(events);
}

/** Parses a NETINF cascades file (node block, blank line, `id,t,id,t,...` per cascade). */
export function parseNetinfCascades(text: string, file: string, options: ParseOptions = {}): SnapCascadesFile {
  const { src, nodes, records } = readBlocks(text, file, options, 'cascades');
  const vocabulary = snapVocabulary(nodes);
  const cascades: Cascade[] = [];
  for (const line of records) {
    src.guard(() => {
      const events = parsePairs(src, line, line.text, vocabulary, 0);
      if (events === undefined) return;
      if (events.length === 0) return src.problem(line, 'empty-cascade', 'no valid infection on this line');
      cascades.push({ id: String(cascades.length), events });
    });
  }
  if (records.length === 0) src.fail(src.lines.length, 'the file has no cascades after the node block');
  return { nodes, vocabulary, cascades };
}

/** Parses an InfoPath cascades file (node block, blank line, `cascade_id;id,t,...` per cascade). */
export function parseInfopathCascades(text: string, file: string, options: ParseOptions = {}): SnapCascadesFile {
  const { src, nodes, records } = readBlocks(text, file, options, 'cascades');
  const vocabulary = snapVocabulary(nodes);
  const cascades: Cascade[] = [];
  const ids = new Set<string>();
  for (const line of records) {
    src.guard(() => {
      const semi = line.text.indexOf(';');
      if (semi <= 0) return src.problem(line, 'malformed-line', `expected "cascade_id;id,time,...", got ${quote(line.text)}`);
      const id = line.text.slice(0, semi).trim();
      if (ids.has(id)) return src.problem(line, 'malformed-line', `cascade id ${quote(id)} is used twice`);
      const events = parsePairs(src, line, line.text.slice(semi + 1), vocabulary, semi + 1);
      if (events === undefined) return;
      if (events.length === 0) return src.problem(line, 'empty-cascade', 'no valid infection on this line');
      ids.add(id);
      cascades.push({ id, events });
    });
  }
  if (records.length === 0) src.fail(src.lines.length, 'the file has no cascades after the node block');
  return { nodes, vocabulary, cascades };
}

function nodeBlock(nodes: readonly SnapNode[]): string {
  let out = '';
  for (const n of nodes) {
    if (/[\r\n]/.test(n.name)) throw new RangeError(`node name ${JSON.stringify(n.name)} cannot be written: it contains a line break`);
    out += `${n.id},${n.name}\n`;
  }
  return out + '\n';
}

function pairs(c: Cascade, vocab: Pick<Vocabulary, 'rawIdOf'>): string {
  return c.events.map((e) => `${vocab.rawIdOf(e.user)},${formatNumber(e.time)}`).join(',');
}

/** Writes a NETINF cascades file (times ascending). Users' raw ids must be the node ids. */
export function writeNetinfCascades(file: Omit<SnapCascadesFile, 'vocabulary'> & { vocabulary: Pick<Vocabulary, 'rawIdOf'> }): string {
  let out = nodeBlock(file.nodes);
  for (const c of file.cascades) out += pairs(c, file.vocabulary) + '\n';
  return out;
}

/** Writes an InfoPath cascades file. */
export function writeInfopathCascades(file: Omit<SnapCascadesFile, 'vocabulary'> & { vocabulary: Pick<Vocabulary, 'rawIdOf'> }): string {
  let out = nodeBlock(file.nodes);
  for (const c of file.cascades) {
    if (/[;\r\n]/.test(c.id) || c.id.length === 0) throw new RangeError(`cascade id ${JSON.stringify(c.id)} cannot be written in the InfoPath format`);
    out += `${c.id};${pairs(c, file.vocabulary)}\n`;
  }
  return out;
}

export interface SnapNetwork {
  nodes: SnapNode[];
  /** Directed edges as flat node-id pairs (source at 2k, target at 2k+1). */
  edges: Int32Array;
}

/** Parses a NETINF network file (node block, blank line, `src,dst` per directed edge). */
export function parseNetinfNetwork(text: string, file: string, options: ParseOptions = {}): SnapNetwork {
  const { src, nodes, records } = readBlocks(text, file, options, 'edges');
  const ids = new Set(nodes.map((n) => n.id));
  const edges: number[] = [];
  for (const line of records) {
    src.guard(() => {
      const parts = line.text.split(',');
      const u = parseInteger(parts[0]?.trim() ?? '');
      const v = parseInteger(parts[1]?.trim() ?? '');
      if (parts.length !== 2 || u === undefined || v === undefined) return src.problem(line, 'malformed-line', `expected "src,dst", got ${quote(line.text)}`);
      if (!ids.has(u) || !ids.has(v)) return src.problem(line, 'unknown-user', `edge ${u},${v} names a node missing from the node block`);
      edges.push(u, v);
    });
  }
  return { nodes, edges: Int32Array.from(edges) };
}

export function writeNetinfNetwork(net: SnapNetwork): string {
  let out = nodeBlock(net.nodes);
  for (let k = 0; k < net.edges.length; k += 2) out += `${net.edges[k]},${net.edges[k + 1]}\n`;
  return out;
}

export interface TimeVaryingEdge {
  source: number;
  target: number;
  /** Times at which the rate changes, ascending. */
  times: Float64Array;
  /** Transmission rate from `times[k]` on. */
  rates: Float64Array;
}

export interface InfopathNetwork {
  nodes: SnapNode[];
  edges: TimeVaryingEdge[];
}

/** Parses an InfoPath network (node block, blank line, `src,dst,t0,a0,t1,a1,...` per edge). */
export function parseInfopathNetwork(text: string, file: string, options: ParseOptions = {}): InfopathNetwork {
  const { src, nodes, records } = readBlocks(text, file, options, 'edges');
  const ids = new Set(nodes.map((n) => n.id));
  const edges: TimeVaryingEdge[] = [];
  for (const line of records) {
    src.guard(() => {
      const parts = line.text.split(',');
      const u = parseInteger(parts[0]?.trim() ?? '');
      const v = parseInteger(parts[1]?.trim() ?? '');
      if (parts.length < 4 || parts.length % 2 !== 0 || u === undefined || v === undefined) {
        return src.problem(line, 'malformed-line', `expected "src,dst,time,rate,time,rate,...", got ${parts.length} fields`);
      }
      if (!ids.has(u) || !ids.has(v)) return src.problem(line, 'unknown-user', `edge ${u},${v} names a node missing from the node block`);
      const n = (parts.length - 2) / 2;
      const times = new Float64Array(n);
      const rates = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        const t = parseNumber(parts[2 + 2 * k].trim());
        const a = parseNumber(parts[3 + 2 * k].trim());
        if (t === undefined || a === undefined || a < 0) return src.problem(line, 'bad-number', `time/rate pair ${k + 1} (${quote(parts[2 + 2 * k])}, ${quote(parts[3 + 2 * k])}) is not a time and a non-negative rate`);
        if (k > 0 && t < times[k - 1]) return src.problem(line, 'out-of-order', `rate times out of order: ${t} after ${times[k - 1]}`);
        times[k] = t;
        rates[k] = a;
      }
      edges.push({ source: u, target: v, times, rates });
    });
  }
  return { nodes, edges };
}

export function writeInfopathNetwork(net: InfopathNetwork): string {
  let out = nodeBlock(net.nodes);
  for (const e of net.edges) {
    const parts = [String(e.source), String(e.target)];
    for (let k = 0; k < e.times.length; k++) parts.push(formatNumber(e.times[k]), formatNumber(e.rates[k]));
    out += parts.join(',') + '\n';
  }
  return out;
}

export interface NetinfEdgeInfo {
  source: number;
  target: number;
  /** Number of cascades that used the edge. */
  volume: number;
  marginalGain: number;
  medianTimeDiff: number;
  averageTimeDiff: number;
}

/** Parses NETINF's `network-edge.info` (header line, then `src/dst/vol/gain/median/average`). */
export function parseNetinfEdgeInfo(text: string, file: string, options: ParseOptions = {}): NetinfEdgeInfo[] {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent('edges');
  const lines = src.contentLines();
  if (!/^src\s+dst\b/.test(lines[0].text.trim())) src.fail(lines[0], `expected the header "src dst vol marginal_gain median_timediff average_timediff", got ${quote(lines[0].text)}`);
  const out: NetinfEdgeInfo[] = [];
  src.eachLine((line) => {
    if (line === lines[0]) return;
    const p = line.text.trim().split('/');
    const nums = p.map((x) => parseNumber(x));
    if (p.length !== 6) return src.problem(line, 'malformed-line', `expected 6 fields separated by "/", got ${p.length}`);
    if (nums.some((x) => x === undefined) || !Number.isInteger(nums[0]) || !Number.isInteger(nums[1])) {
      return src.problem(line, 'bad-number', `a field of ${quote(line.text)} is not a number`);
    }
    const [s, t, vol, gain, med, avg] = nums as number[];
    out.push({ source: s, target: t, volume: vol, marginalGain: gain, medianTimeDiff: med, averageTimeDiff: avg });
  });
  return out;
}

/** A SNAP network as a directed social graph over a vocabulary built from the same node ids. */
export function snapSocialGraph(edges: Int32Array, vocab: Vocabulary): SocialGraph {
  const out = new Int32Array(edges.length);
  for (let k = 0; k < edges.length; k++) {
    const idx = vocab.indexOf(String(edges[k]));
    if (idx === undefined) throw new RangeError(`network node ${edges[k]} is not among the cascades' nodes`);
    out[k] = idx;
  }
  return { directed: true, numNodes: vocab.size, edges: out };
}
