/**
 * Sparse directed graphs with one number per edge (a transmission probability for the independent
 * cascade, a transmission rate for the continuous-time cascade), in compressed sparse row form on
 * shared memory, so worker threads read them without a copy.
 */

/** Edges u -> v with a weight, grouped by source: edges of u are `offsets[u] .. offsets[u+1]-1`. */
export interface TransmissionGraph {
  /** Nodes are 0..numNodes-1 (vocabulary indices, the reserved ones included). */
  readonly numNodes: number;
  /** Length numNodes + 1. */
  readonly offsets: Int32Array;
  /** Target of each edge, sorted by target within a source. */
  readonly targets: Int32Array;
  /** Weight of each edge. */
  readonly weights: Float64Array;
}

export interface TransmissionGraphOptions {
  /** Check each weight (e.g. that it is a probability); return a problem text or undefined. */
  checkWeight?: (w: number) => string | undefined;
  /** Put the arrays on a SharedArrayBuffer (default true), so worker threads share them. */
  shared?: boolean;
}

function alloc<T extends Int32Array | Float64Array>(Ctor: { new (buf: ArrayBufferLike): T; BYTES_PER_ELEMENT: number }, n: number, shared: boolean): T {
  const bytes = Math.max(1, n) * Ctor.BYTES_PER_ELEMENT;
  const view = new Ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  return (n === 0 ? view.subarray(0, 0) : view) as T;
}

/**
 * Builds a graph from parallel edge arrays. Throws a RangeError on an out-of-range node, a duplicate
 * edge (two weights for one pair would be ambiguous) or a weight `checkWeight` rejects.
 */
export function transmissionGraph(
  numNodes: number,
  sources: ArrayLike<number>,
  targets: ArrayLike<number>,
  weights: ArrayLike<number>,
  options: TransmissionGraphOptions = {},
): TransmissionGraph {
  if (!Number.isInteger(numNodes) || numNodes < 0) throw new RangeError(`transmissionGraph: numNodes must be a non-negative integer, got ${numNodes}`);
  const m = sources.length;
  if (targets.length !== m || weights.length !== m) throw new RangeError(`transmissionGraph: sources, targets and weights differ in length (${m}, ${targets.length}, ${weights.length})`);
  const shared = options.shared ?? true;
  const offsets = alloc(Int32Array, numNodes + 1, shared);
  for (let e = 0; e < m; e++) {
    const u = sources[e];
    const v = targets[e];
    if (!Number.isInteger(u) || u < 0 || u >= numNodes) throw new RangeError(`transmissionGraph: edge ${e} has source ${u} outside 0..${numNodes - 1}`);
    if (!Number.isInteger(v) || v < 0 || v >= numNodes) throw new RangeError(`transmissionGraph: edge ${e} has target ${v} outside 0..${numNodes - 1}`);
    const problem = options.checkWeight?.(weights[e]);
    if (problem !== undefined) throw new RangeError(`transmissionGraph: edge ${e} (${u} -> ${v}): ${problem}`);
    offsets[u + 1]++;
  }
  for (let u = 0; u < numNodes; u++) offsets[u + 1] += offsets[u];
  const order = new Int32Array(m);
  const fill = offsets.slice(0, numNodes);
  for (let e = 0; e < m; e++) order[fill[sources[e]]++] = e;
  // Sort each source's edges by target (deterministic layout, duplicate detection).
  for (let u = 0; u < numNodes; u++) {
    const row = order.subarray(offsets[u], offsets[u + 1]);
    if (row.length > 1) row.sort((a, b) => targets[a] - targets[b]);
  }
  const outTargets = alloc(Int32Array, m, shared);
  const outWeights = alloc(Float64Array, m, shared);
  for (let i = 0; i < m; i++) {
    const e = order[i];
    outTargets[i] = targets[e];
    outWeights[i] = weights[e];
  }
  for (let u = 0; u < numNodes; u++) {
    for (let i = offsets[u] + 1; i < offsets[u + 1]; i++) {
      if (outTargets[i] === outTargets[i - 1]) throw new RangeError(`transmissionGraph: edge ${u} -> ${outTargets[i]} is given twice`);
    }
  }
  return { numNodes, offsets, targets: outTargets, weights: outWeights };
}

/** Weight of edge u -> v, or undefined when there is none (binary search). */
export function edgeWeight(graph: TransmissionGraph, u: number, v: number): number | undefined {
  let lo = graph.offsets[u];
  let hi = graph.offsets[u + 1];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const t = graph.targets[mid];
    if (t === v) return graph.weights[mid];
    if (t < v) lo = mid + 1;
    else hi = mid;
  }
  return undefined;
}

export function checkProbability(w: number): string | undefined {
  return w >= 0 && w <= 1 ? undefined : `probability ${w} is not in [0, 1]`;
}

export function checkRate(w: number): string | undefined {
  return w >= 0 && Number.isFinite(w) ? undefined : `rate ${w} is not a finite non-negative number`;
}
