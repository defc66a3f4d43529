/**
 * The DeepCas format (Li et al., WWW 2017; chengli-um/DeepCas `data/test-net/`):
 * `cascade_(train|val|test).txt`, one cascade per line, tab separated:
 * `id  starter starter ...  constant_field  num_nodes  src:tgt:weight ...  label label ...`.
 * The graph is the cascade's snapshot at the end of the observation; `num_nodes` counts the
 * starters and every node of the edges; the labels are the size increments at later time points
 * (how many time points, and how far, is a property of the dataset, not of the file). The format has
 * no event times, so it feeds graph-based models, not the windowed task.
 */
import { TextSource, parseInteger, parseNumber, quote, splitWhitespace, type ParseOptions } from '../parse-util.js';
import { formatNumber } from './ndm.js';

export interface DeepCasEdge {
  source: string;
  target: string;
  weight: number;
}

export interface DeepCasCascade {
  id: string;
  starters: string[];
  /** The third field (a year in test-net; DeepCas calls it a constant field). */
  date: string;
  /** Number of nodes in the observed cascade graph. */
  numNodes: number;
  edges: DeepCasEdge[];
  /** Size increments at the dataset's prediction time points. */
  labels: number[];
}

export function parseDeepCas(text: string, file: string, options: ParseOptions = {}): DeepCasCascade[] {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent();
  const out: DeepCasCascade[] = [];
  const ids = new Set<string>();
  src.eachLine((line) => {
    const f = line.text.split('\t');
    if (f.length !== 6) return src.problem(line, 'malformed-line', `expected 6 tab-separated fields "id starters date num_nodes edges labels", got ${f.length}`);
    const id = f[0].trim();
    if (id.length === 0 || ids.has(id)) return src.problem(line, 'malformed-line', id.length === 0 ? 'empty cascade id' : `cascade id ${quote(id)} is used twice`);
    const starters = splitWhitespace(f[1]);
    if (starters.length === 0) return src.problem(line, 'malformed-line', 'no starter node');
    const numNodes = parseInteger(f[3].trim());
    if (numNodes === undefined || numNodes < 1) return src.problem(line, 'bad-number', `num_nodes ${quote(f[3])} is not a positive integer`);
    const edges: DeepCasEdge[] = [];
    const nodes = new Set(starters);
    for (const e of splitWhitespace(f[4])) {
      if (e === 'null') continue;
      const p = e.split(':');
      if (p.length !== 3 || p[0].length === 0 || p[1].length === 0) return src.problem(line, 'malformed-line', `expected an edge "src:tgt:weight", got ${quote(e)}`);
      const weight = parseNumber(p[2]);
      if (weight === undefined) return src.problem(line, 'bad-number', `edge weight ${quote(p[2])} is not a number`);
      edges.push({ source: p[0], target: p[1], weight });
      nodes.add(p[0]);
      nodes.add(p[1]);
    }
    const labels: number[] = [];
    for (const l of splitWhitespace(f[5])) {
      const v = parseNumber(l);
      if (v === undefined) return src.problem(line, 'bad-number', `label ${quote(l)} is not a number`);
      labels.push(v);
    }
    if (labels.length === 0) return src.problem(line, 'malformed-line', 'no label');
    if (nodes.size !== numNodes) src.problem(line, 'count-mismatch', `num_nodes says ${numNodes}, the starters and edges have ${nodes.size} distinct nodes`);
    ids.add(id);
    out.push({ id, starters, date: f[2].trim(), numNodes, edges, labels });
  });
  return out;
}

export function writeDeepCas(cascades: readonly DeepCasCascade[]): string {
  let out = '';
  for (const c of cascades) {
    for (const s of [c.id, c.date, ...c.starters, ...c.edges.flatMap((e) => [e.source, e.target])]) {
      if (s.length === 0 || /[\s:]/.test(s)) throw new RangeError(`id ${JSON.stringify(s)} cannot be written in the DeepCas format`);
    }
    const edges = c.edges.map((e) => `${e.source}:${e.target}:${formatNumber(e.weight)}`).join(' ');
    out += [c.id, c.starters.join(' '), c.date, String(c.numNodes), edges, c.labels.map(formatNumber).join(' ')].join('\t') + '\n';
  }
  return out;
}
