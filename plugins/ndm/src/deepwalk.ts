import { CascadeError, throwIfCancelled, type Rng, type SocialGraph } from '@cascade-lab/core';

/** DeepWalk settings (Perozzi, Al-Rfou & Skiena, KDD 2014). */
export interface DeepWalkOptions {
  dimensions: number;
  walksPerNode: number;
  walkLength: number;
  /** Context window on each side of a node in a walk. */
  window: number;
  /** Negative samples per (node, context) pair (skip-gram with negative sampling, Mikolov et al. 2013). */
  negatives: number;
  epochs: number;
  /** Initial SGD step size, decayed linearly to 1e-4 of it (word2vec's schedule). Default 0.025. */
  learningRate?: number;
}

/** Neighbour lists of the graph read as undirected (DeepWalk walks undirected graphs). */
export function adjacency(graph: SocialGraph): { offsets: Int32Array; neighbours: Int32Array } {
  const n = graph.numNodes;
  const degree = new Int32Array(n);
  const e = graph.edges;
  for (let k = 0; k + 1 < e.length; k += 2) {
    const a = e[k];
    const b = e[k + 1];
    if (a < 0 || a >= n || b < 0 || b >= n) throw new CascadeError('DATA_FORMAT', `social graph: edge ${a} -> ${b} is outside its ${n} nodes`);
    if (a === b) continue;
    degree[a]++;
    degree[b]++;
  }
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + degree[i];
  const neighbours = new Int32Array(offsets[n]);
  const fill = offsets.slice(0, n);
  for (let k = 0; k + 1 < e.length; k += 2) {
    const a = e[k];
    const b = e[k + 1];
    if (a === b) continue;
    neighbours[fill[a]++] = b;
    neighbours[fill[b]++] = a;
  }
  return { offsets, neighbours };
}

/** Uniform random walks: `walksPerNode` rounds, each round a walk from every node with a neighbour. */
export function randomWalks(graph: SocialGraph, options: Pick<DeepWalkOptions, 'walksPerNode' | 'walkLength'>, rng: Rng): Int32Array[] {
  const { offsets, neighbours } = adjacency(graph);
  const starts: number[] = [];
  for (let v = 0; v < graph.numNodes; v++) if (offsets[v + 1] > offsets[v]) starts.push(v);
  const walks: Int32Array[] = [];
  for (let round = 0; round < options.walksPerNode; round++) {
    const order = rng.shuffle(starts.slice());
    for (const start of order) {
      const walk = new Int32Array(options.walkLength);
      walk[0] = start;
      let cur = start;
      for (let i = 1; i < options.walkLength; i++) {
        const lo = offsets[cur];
        cur = neighbours[lo + rng.int(offsets[cur + 1] - lo)];
        walk[i] = cur;
      }
      walks.push(walk);
    }
  }
  return walks;
}

/**
 * DeepWalk node embeddings [numNodes, dimensions]: skip-gram with negative sampling over uniform
 * random walks (NDM paper §5.5 uses 32 dimensions for NDM+SN). Negatives are drawn from the walk
 * frequencies raised to 3/4 (word2vec); input vectors start uniform in +-0.5/dimensions, output
 * vectors at zero. Nodes without edges keep their (small, random) initial vectors. Seeded: equal
 * rngs give equal embeddings.
 */
export function deepWalk(graph: SocialGraph, options: DeepWalkOptions, rng: Rng, signal?: AbortSignal): Float32Array {
  const n = graph.numNodes;
  const dim = options.dimensions;
  const walks = randomWalks(graph, options, rng.derive('walks'));
  const sgd = rng.derive('sgd');
  const input = new Float32Array(n * dim);
  for (let i = 0; i < input.length; i++) input[i] = (sgd.next() - 0.5) / dim;
  const output = new Float32Array(n * dim);
  // Unigram^(3/4) table for negative sampling.
  const counts = new Float64Array(n);
  for (const w of walks) for (const v of w) counts[v]++;
  const tableSize = Math.max(1, Math.min(1 << 20, walks.length * options.walkLength * 4));
  const table = new Int32Array(tableSize);
  let norm = 0;
  for (let v = 0; v < n; v++) norm += counts[v] ** 0.75;
  if (norm === 0) return input;
  let v = 0;
  let cum = counts[0] ** 0.75 / norm;
  for (let i = 0; i < tableSize; i++) {
    table[i] = v;
    if ((i + 1) / tableSize > cum && v < n - 1) {
      v++;
      cum += counts[v] ** 0.75 / norm;
    }
  }
  const lr0 = options.learningRate ?? 0.025;
  const total = options.epochs * walks.length * options.walkLength;
  let processed = 0;
  const grad = new Float64Array(dim);
  const sigmoid = (x: number) => (x > 20 ? 1 : x < -20 ? 0 : 1 / (1 + Math.exp(-x)));
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (let w = 0; w < walks.length; w++) {
      if ((w & 1023) === 0) throwIfCancelled(signal);
      const walk = walks[w];
      for (let i = 0; i < walk.length; i++) {
        const lr = Math.max(lr0 * 1e-4, lr0 * (1 - processed / total));
        processed++;
        const center = walk[i];
        // word2vec shrinks the window at random: b in [0, window) positions are dropped.
        const b = sgd.int(options.window);
        for (let j = i - options.window + b; j <= i + options.window - b; j++) {
          if (j < 0 || j >= walk.length || j === i) continue;
          const context = walk[j];
          grad.fill(0);
          const ci = center * dim;
          for (let k = 0; k <= options.negatives; k++) {
            const target = k === 0 ? context : table[sgd.int(tableSize)];
            if (k > 0 && target === context) continue;
            const label = k === 0 ? 1 : 0;
            const to = target * dim;
            let dot = 0;
            for (let e = 0; e < dim; e++) dot += input[ci + e] * output[to + e];
            const g = (label - sigmoid(dot)) * lr;
            for (let e = 0; e < dim; e++) {
              grad[e] += g * output[to + e];
              output[to + e] += g * input[ci + e];
            }
          }
          for (let e = 0; e < dim; e++) input[ci + e] += grad[e];
        }
      }
    }
  }
  return input;
}
