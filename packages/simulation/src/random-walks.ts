/**
 * Random walks on a cascade graph (DeepCas §4.1, "sampling cascade graphs"; the authors'
 * `gen_walks.py` for the details the paper leaves open).
 *
 * A walk is a Markov chain on the observed cascade graph G_c:
 * - the transition from u goes to an out-neighbour v with probability proportional to
 *   sc(v) + alpha, where sc is the edge weight w(u, v) (`weight`) or the out-degree of v inside
 *   the cascade graph (`degree`); alpha = 0.01 is the authors' pseudo-count;
 * - the start nodes are drawn with probability proportional to the node's weighted out-degree
 *   (the sum of its outgoing transition weights; a node without out-edges counts alpha), without
 *   replacement in rounds: the first round over every node of the graph, later rounds (when the
 *   walk count exceeds the node count) over nodes with out-edges only, each round taking as many
 *   nodes as it has or as walks remain (the authors' code);
 * - a walk stops early at a node without out-edges; the remaining positions hold `WALK_END`.
 *
 * A graph without edges (a cascade of its root alone) gets walks of the root alone.
 */
import { throwIfCancelled, type CascadeGraph, type Rng } from '@cascade-lab/core';
import type { SimulationPool } from './pool.js';

/** What a walk reads of a cascade graph (node ids and times stay behind, also when sent to a worker). */
export type WalkGraph = Pick<CascadeGraph, 'numNodes' | 'edges' | 'weights'>;

/** Marks the positions after a walk stopped (a node without out-edges). */
export const WALK_END = -1;

export type TransitionRule = 'weight' | 'degree';

export interface WalkOptions {
  /** K: walks per cascade graph (paper default 200). */
  walksPerGraph: number;
  /** T: nodes per walk (paper default 10). */
  walkLength: number;
  transition: TransitionRule;
  /** The pseudo-count added to every transition score (authors' code: 0.01). */
  pseudoCount: number;
}

export const DEFAULT_WALK_OPTIONS: WalkOptions = { walksPerGraph: 200, walkLength: 10, transition: 'degree', pseudoCount: 0.01 };

/** Out-adjacency with the transition weights (sc(v) + alpha) of every edge, CSR layout. */
export interface TransitionTable {
  numNodes: number;
  /** offsets[u] .. offsets[u + 1]: u's out-edges. */
  offsets: Int32Array;
  targets: Int32Array;
  /** Cumulative transition weights within each node's row (for sampling). */
  cumulative: Float64Array;
  /** Weighted out-degree: the sum of u's transition weights (0 for a node without out-edges). */
  outWeight: Float64Array;
}

/**
 * The transition table of a graph. A repeated edge (u, v) counts once with its last weight, as in
 * the authors' code (networkx's `add_edge` overwrites).
 */
export function transitionTable(graph: WalkGraph, rule: TransitionRule, pseudoCount: number): TransitionTable {
  const n = graph.numNodes;
  const m = graph.edges.length / 2;
  // Merge duplicate (u, v): last weight wins.
  const edgeWeight = new Map<number, number>();
  for (let k = 0; k < m; k++) {
    const u = graph.edges[2 * k];
    const v = graph.edges[2 * k + 1];
    if (u < 0 || u >= n || v < 0 || v >= n) throw new RangeError(`edge ${k} (${u} -> ${v}) is outside the graph's ${n} nodes`);
    edgeWeight.set(u * n + v, graph.weights ? graph.weights[k] : 1);
  }
  const outDegree = new Int32Array(n);
  for (const key of edgeWeight.keys()) outDegree[Math.floor(key / n)]++;
  const offsets = new Int32Array(n + 1);
  for (let u = 0; u < n; u++) offsets[u + 1] = offsets[u] + outDegree[u];
  const fill = offsets.slice(0, n);
  const targets = new Int32Array(offsets[n]);
  const raw = new Float64Array(offsets[n]);
  // Sorted keys: rows in node order, targets ascending (a fixed order for seeded sampling).
  for (const key of [...edgeWeight.keys()].sort((a, b) => a - b)) {
    const u = Math.floor(key / n);
    const v = key % n;
    const slot = fill[u]++;
    targets[slot] = v;
    raw[slot] = (rule === 'weight' ? edgeWeight.get(key)! : outDegree[v]) + pseudoCount;
  }
  const cumulative = new Float64Array(offsets[n]);
  const outWeight = new Float64Array(n);
  for (let u = 0; u < n; u++) {
    let acc = 0;
    for (let s = offsets[u]; s < offsets[u + 1]; s++) cumulative[s] = acc += raw[s];
    outWeight[u] = acc;
  }
  return { numNodes: n, offsets, targets, cumulative, outWeight };
}

/** Index i with probability weights[i] / sum, by one uniform draw (weights >= 0, sum > 0). */
function drawIndex(weights: Float64Array | number[], rng: Rng): number {
  let total = 0;
  for (const w of weights) total += w;
  let x = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i];
    if (x < 0 && weights[i] > 0) return i;
  }
  // Rounding left x at >= 0: the last index with weight.
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
  throw new RangeError('drawIndex: no positive weight');
}

/**
 * `count` distinct nodes among `candidates`, drawn one after another with probability proportional
 * to their weights among those not drawn yet (numpy's `choice(replace=False, p=...)`).
 */
function drawWithoutReplacement(candidates: number[], weights: number[], count: number, rng: Rng): number[] {
  const w = Float64Array.from(weights);
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const i = drawIndex(w, rng);
    out.push(candidates[i]);
    w[i] = 0;
  }
  return out;
}

/** The start nodes of the walks, in order (see the module comment). */
export function startNodes(table: TransitionTable, walks: number, pseudoCount: number, rng: Rng): number[] {
  const n = table.numNodes;
  // Nodes of the walk graph: those on an edge (the authors' DiGraph holds only those).
  const onEdge = new Uint8Array(n);
  for (let u = 0; u < n; u++) {
    if (table.offsets[u + 1] > table.offsets[u]) {
      onEdge[u] = 1;
      for (let s = table.offsets[u]; s < table.offsets[u + 1]; s++) onEdge[table.targets[s]] = 1;
    }
  }
  const all: number[] = [];
  const allWeights: number[] = [];
  const inner: number[] = [];
  const innerWeights: number[] = [];
  for (let u = 0; u < n; u++) {
    if (!onEdge[u]) continue;
    const w = table.outWeight[u];
    all.push(u);
    allWeights.push(w > 0 ? w : pseudoCount);
    if (w > 0) {
      inner.push(u);
      innerWeights.push(w);
    }
  }
  const out: number[] = [];
  let remaining = walks;
  let first = true;
  while (remaining > 0) {
    const [nodes, weights] = first ? [all, allWeights] : [inner, innerWeights];
    first = false;
    const take = Math.min(nodes.length, remaining);
    if (take <= 0) break;
    out.push(...drawWithoutReplacement(nodes, weights, take, rng));
    remaining -= take;
  }
  return out;
}

/**
 * `walksPerGraph` walks of `walkLength` local node indices each, row-major
 * [walksPerGraph, walkLength], `WALK_END` after a walk stopped. Fewer start nodes than walks (a
 * graph whose nodes all lack out-edges after the first round) leave whole rows of `WALK_END`.
 */
export function sampleWalks(graph: WalkGraph, options: WalkOptions, rng: Rng): Int32Array {
  const { walksPerGraph: K, walkLength: T } = options;
  const out = new Int32Array(K * T).fill(WALK_END);
  if (graph.edges.length === 0) {
    // No edge: the root alone (DeepCas' code would produce no walk at all).
    for (let k = 0; k < K; k++) out[k * T] = 0;
    return out;
  }
  const table = transitionTable(graph, options.transition, options.pseudoCount);
  const starts = startNodes(table, K, options.pseudoCount, rng);
  starts.forEach((start, k) => {
    let u = start;
    out[k * T] = u;
    for (let t = 1; t < T; t++) {
      const lo = table.offsets[u];
      const hi = table.offsets[u + 1];
      if (hi === lo) break;
      const x = rng.next() * table.outWeight[u];
      let s = lo;
      while (s < hi - 1 && table.cumulative[s] <= x) s++;
      u = table.targets[s];
      out[k * T + t] = u;
    }
  });
  return out;
}

/** Graphs per worker task: enough to pay for a message, small enough to share the work out. */
const GRAPHS_PER_TASK = 64;

/**
 * The walks of many graphs, graph i drawn from `rngs[i]` (the same walks as `sampleWalks(graphs[i],
 * options, rngs[i])`, whatever the pool): in this thread without a pool, else as `random-walks`
 * tasks of up to 64 graphs on the pool's worker threads. Node ids, edge times and the generators'
 * later states stay here: a generator is sent as its state, so `rngs[i]` itself does not advance
 * on the pool path. Derive one stream per graph (`rng.derive(id)`) and the results do not depend
 * on where they were drawn.
 */
export async function sampleWalksOfGraphs(graphs: readonly WalkGraph[], options: WalkOptions, rngs: readonly Rng[], pool?: SimulationPool, signal?: AbortSignal): Promise<Int32Array[]> {
  if (rngs.length !== graphs.length) throw new RangeError(`sampleWalksOfGraphs: ${graphs.length} graphs but ${rngs.length} generators`);
  if (!pool || graphs.length <= GRAPHS_PER_TASK) {
    return graphs.map((g, i) => {
      throwIfCancelled(signal);
      return sampleWalks(g, options, rngs[i]);
    });
  }
  const kt = options.walksPerGraph * options.walkLength;
  const parts: Promise<Int32Array[]>[] = [];
  for (let from = 0; from < graphs.length; from += GRAPHS_PER_TASK) {
    const to = Math.min(graphs.length, from + GRAPHS_PER_TASK);
    const task = {
      kind: 'random-walks' as const,
      graphs: graphs.slice(from, to).map((g) => ({ numNodes: g.numNodes, edges: g.edges, weights: g.weights })),
      options: { walksPerGraph: options.walksPerGraph, walkLength: options.walkLength, transition: options.transition, pseudoCount: options.pseudoCount },
      rngStates: rngs.slice(from, to).map((r) => r.state()),
    };
    parts.push(pool.run(task, signal).then(({ sequences }) => Array.from({ length: to - from }, (_, i) => sequences.slice(i * kt, (i + 1) * kt))));
  }
  return (await Promise.all(parts)).flat();
}
