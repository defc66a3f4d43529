/**
 * The Inf-VAE format (Sankar et al., WSDM 2020; the authors' repository `data/<name>/`):
 * `train.txt`, `val.txt`, `test.txt` with one cascade per line, `seed u1 t1 u2 t2 ...` separated by
 * spaces, the seed without a time (it is at time 0, as the authors' loader sets it); users are the
 * node ids 0..N-1 of the social graph `graph.txt`: first line `N E`, then `u v` per edge (undirected).
 */
import type { Cascade, InfectionEvent, SocialGraph } from '@cascade-lab/core';
import { TextSource, ensureTimeOrder, parseInteger, parseNumber, quote, splitWhitespace, type ParseOptions } from '../parse-util.js';
import { Vocabulary } from '../vocabulary.js';
import { checkToken, formatNumber } from './ndm.js';

export interface InfVaeParseOptions extends ParseOptions {
  /** Raw ids are the node ids as decimal strings. Fixed unless `extendVocabulary`. */
  vocabulary: Vocabulary;
  extendVocabulary?: boolean;
  idPrefix?: string;
}

export function parseInfVaeCascades(text: string, file: string, options: InfVaeParseOptions): Cascade[] {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent();
  const vocab = options.vocabulary;
  const prefix = options.idPrefix ?? `${file}:`;
  const cascades: Cascade[] = [];
  src.eachLine((line) => {
    const tokens = splitWhitespace(line.text);
    if (tokens.length % 2 === 0) {
      src.problem(line, 'malformed-line', `expected "seed user time user time ...", an odd number of fields, got ${tokens.length}`);
      return;
    }
    let events: InfectionEvent[] = [];
    const seen = new Set<number>();
    for (let k = 0; k < tokens.length; k += k === 0 ? 1 : 2) {
      const raw = tokens[k];
      const time = k === 0 ? 0 : parseNumber(tokens[k + 1]);
      if (time === undefined) {
        src.problem(line, 'bad-number', `time ${quote(tokens[k + 1])} of user ${quote(raw)} is not a number`);
        continue;
      }
      if (parseInteger(raw) === undefined || raw.startsWith('-') || raw.startsWith('+')) {
        src.problem(line, 'malformed-line', `user ${quote(raw)} is not a node id (a non-negative integer)`);
        return;
      }
      let user = vocab.indexOf(raw);
      if (user === undefined) {
        if (!options.extendVocabulary) {
          src.problem(line, 'unknown-user', `user ${quote(raw)} is not a node of the social graph`);
          continue;
        }
        user = vocab.add(raw);
      }
      if (seen.has(user)) {
        src.problem(line, 'duplicate-user', `user ${quote(raw)} is infected twice in this cascade`);
        continue;
      }
      seen.add(user);
      events.push({ user, time });
    }
    events = ensureTimeOrder(src, line, events, 'infections');
    if (events.length === 0) {
      src.problem(line, 'empty-cascade', 'no valid infection on this line');
      return;
    }
    cascades.push({ id: `${prefix}${line.no}`, events });
  });
  return cascades;
}

/** Writes cascades in the Inf-VAE format. The seed's time is implicit 0, so it must be 0. */
export function writeInfVaeCascades(cascades: readonly Cascade[], vocab: Pick<Vocabulary, 'rawIdOf'>): string {
  let out = '';
  for (const c of cascades) {
    if (c.events.length === 0) throw new RangeError(`cascade ${c.id} has no events`);
    if (c.events[0].time !== 0) throw new RangeError(`cascade ${c.id}: the Inf-VAE format puts the seed at time 0; shift the times first`);
    const parts = [checkToken(vocab.rawIdOf(c.events[0].user), 'Inf-VAE user id', /\s/)];
    for (const e of c.events.slice(1)) parts.push(checkToken(vocab.rawIdOf(e.user), 'Inf-VAE user id', /\s/), formatNumber(e.time));
    out += parts.join(' ') + '\n';
  }
  return out;
}

export interface InfVaeGraph {
  /** Number of nodes declared on the first line. */
  numNodes: number;
  /** Edges as flat node-id pairs (source at 2k, target at 2k+1), in file order. */
  edges: Int32Array;
}

/** Parses `graph.txt`: `N E`, then `u v` per edge, node ids in [0, N). */
export function parseInfVaeGraph(text: string, file: string, options: ParseOptions = {}): InfVaeGraph {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent('edges');
  const lines = src.contentLines();
  const head = splitWhitespace(lines[0].text);
  const n = parseInteger(head[0] ?? '');
  const e = parseInteger(head[1] ?? '');
  if (head.length !== 2 || n === undefined || e === undefined || n < 0 || e < 0) src.fail(lines[0], `first line must be "<number of nodes> <number of edges>", got ${quote(lines[0].text)}`);
  const edges: number[] = [];
  src.eachLine((line) => {
    if (line === lines[0]) return;
    const t = splitWhitespace(line.text);
    const u = parseInteger(t[0] ?? '');
    const v = parseInteger(t[1] ?? '');
    if (t.length !== 2 || u === undefined || v === undefined) {
      src.problem(line, 'malformed-line', `expected "u v", got ${quote(line.text)}`);
      return;
    }
    if (u < 0 || u >= n || v < 0 || v >= n) {
      src.problem(line, 'unknown-user', `edge ${u} ${v} names a node outside 0..${n - 1}`);
      return;
    }
    edges.push(u, v);
  });
  if (edges.length / 2 !== e) src.problem(undefined, 'count-mismatch', `the first line declares ${e} edges, the file has ${edges.length / 2}`);
  return { numNodes: n, edges: Int32Array.from(edges) };
}

export function writeInfVaeGraph(graph: InfVaeGraph): string {
  let out = `${graph.numNodes} ${graph.edges.length / 2}\n`;
  for (let k = 0; k < graph.edges.length; k += 2) out += `${graph.edges[k]} ${graph.edges[k + 1]}\n`;
  return out;
}

/** The vocabulary of an Inf-VAE dataset: nodes 0..N-1 in order, so node k has index k + 2. */
export function nodeVocabulary(numNodes: number): Vocabulary {
  const v = new Vocabulary();
  for (let k = 0; k < numNodes; k++) v.add(String(k));
  return v;
}

/** The graph over vocabulary indices (undirected, as the Inf-VAE loader builds it). */
export function infVaeSocialGraph(graph: InfVaeGraph, vocab: Vocabulary): SocialGraph {
  const edges = new Int32Array(graph.edges.length);
  for (let k = 0; k < edges.length; k++) {
    const idx = vocab.indexOf(String(graph.edges[k]));
    if (idx === undefined) throw new RangeError(`graph node ${graph.edges[k]} is not in the vocabulary`);
    edges[k] = idx;
  }
  return { directed: false, numNodes: vocab.size, edges };
}
