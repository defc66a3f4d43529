/**
 * Social graphs as compressed sparse rows (CSR): neighbour lists in one Int32Array, for link
 * prediction (edge lookups, negative sampling) and graph features (degrees), and cheap to hand to
 * tfjs (`tf.sparse`-style index arrays) or worker threads.
 */
import type { Rng, SocialGraph } from '@cascade-lab/core';

export interface CsrGraph {
  numNodes: number;
  /** Row starts, length numNodes + 1: the neighbours of u are targets[offsets[u] .. offsets[u+1]). */
  offsets: Int32Array;
  /** Neighbours, each row sorted ascending. */
  targets: Int32Array;
}

export interface CsrOptions {
  /** Add the reverse of every edge. Default: true for undirected graphs, false for directed ones. */
  symmetric?: boolean;
  /** Drop repeated edges. Default true. */
  dedupe?: boolean;
  /** Drop self-loops. Default false. */
  dropSelfLoops?: boolean;
}

/** Edge list -> CSR (counting sort by source, then each row sorted). O(E log d). */
export function toCsr(graph: SocialGraph, options: CsrOptions = {}): CsrGraph {
  const symmetric = options.symmetric ?? !graph.directed;
  const dedupe = options.dedupe ?? true;
  const n = graph.numNodes;
  const e = graph.edges;
  if (e.length % 2 !== 0) throw new RangeError('edge list has an odd length');
  const counts = new Int32Array(n + 1);
  const keep = (u: number, v: number) => !(options.dropSelfLoops && u === v);
  for (let k = 0; k < e.length; k += 2) {
    const u = e[k];
    const v = e[k + 1];
    if (u < 0 || u >= n || v < 0 || v >= n) throw new RangeError(`edge ${u} -> ${v} is outside 0..${n - 1}`);
    if (!keep(u, v)) continue;
    counts[u + 1]++;
    if (symmetric && u !== v) counts[v + 1]++;
  }
  for (let i = 0; i < n; i++) counts[i + 1] += counts[i];
  const fill = counts.slice(0, n);
  const targets = new Int32Array(counts[n]);
  for (let k = 0; k < e.length; k += 2) {
    const u = e[k];
    const v = e[k + 1];
    if (!keep(u, v)) continue;
    targets[fill[u]++] = v;
    if (symmetric && u !== v) targets[fill[v]++] = u;
  }
  const offsets = new Int32Array(n + 1);
  let w = 0;
  for (let u = 0; u < n; u++) {
    const row = targets.subarray(counts[u], counts[u + 1]).sort();
    offsets[u] = w;
    for (let j = 0; j < row.length; j++) {
      if (dedupe && j > 0 && row[j] === row[j - 1]) continue;
      targets[w++] = row[j];
    }
  }
  offsets[n] = w;
  return { numNodes: n, offsets, targets: targets.slice(0, w) };
}

export function neighbours(g: CsrGraph, u: number): Int32Array {
  return g.targets.subarray(g.offsets[u], g.offsets[u + 1]);
}

export function degree(g: CsrGraph, u: number): number {
  return g.offsets[u + 1] - g.offsets[u];
}

/** Out-degree of every node. */
export function degrees(g: CsrGraph): Int32Array {
  const d = new Int32Array(g.numNodes);
  for (let u = 0; u < g.numNodes; u++) d[u] = g.offsets[u + 1] - g.offsets[u];
  return d;
}

/** Whether u -> v is an edge (binary search in u's sorted row). */
export function hasEdge(g: CsrGraph, u: number, v: number): boolean {
  let lo = g.offsets[u];
  let hi = g.offsets[u + 1];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = g.targets[mid];
    if (t === v) return true;
    if (t < v) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/** The reverse graph (in-neighbours become out-neighbours). */
export function transpose(g: CsrGraph): CsrGraph {
  const edges = new Int32Array(g.targets.length * 2);
  for (let u = 0, k = 0; u < g.numNodes; u++) {
    for (let j = g.offsets[u]; j < g.offsets[u + 1]; j++, k += 2) {
      edges[k] = g.targets[j];
      edges[k + 1] = u;
    }
  }
  return toCsr({ directed: true, numNodes: g.numNodes, edges });
}

/** Number of (stored) edges. */
export function edgeCount(g: CsrGraph): number {
  return g.targets.length;
}

/**
 * `count` node pairs (u, v), u != v, that are not edges, drawn uniformly by rejection, for link
 * prediction. Nodes below `firstNode` (the reserved vocabulary indices, default 2) are never drawn.
 * Returns flat pairs like {@link SocialGraph.edges}.
 */
export function sampleNonEdges(g: CsrGraph, count: number, rng: Rng, firstNode = 2): Int32Array {
  const span = g.numNodes - firstNode;
  if (span < 2) throw new RangeError('need at least two nodes to sample pairs');
  const possible = span * (span - 1);
  let existing = 0;
  for (let u = firstNode; u < g.numNodes; u++) for (let j = g.offsets[u]; j < g.offsets[u + 1]; j++) if (g.targets[j] >= firstNode && g.targets[j] !== u) existing++;
  if (possible - existing < count) throw new RangeError(`only ${possible - existing} non-edges exist, ${count} requested`);
  const out = new Int32Array(count * 2);
  for (let k = 0; k < count; ) {
    const u = firstNode + rng.int(span);
    const v = firstNode + rng.int(span);
    if (u === v || hasEdge(g, u, v)) continue;
    out[2 * k] = u;
    out[2 * k + 1] = v;
    k++;
  }
  return out;
}
