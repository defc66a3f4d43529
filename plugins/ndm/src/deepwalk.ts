import { CascadeError, type Rng, type SocialGraph } from '@cascade-lab/core';
import { skipGram } from '@cascade-lab/tensor-ops';

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
  const walks = randomWalks(graph, options, rng.derive('walks'));
  // The schedule and negative table are sized for full-length walks.
  return skipGram(walks, graph.numNodes, { ...options, plannedTokens: walks.length * options.walkLength }, rng.derive('sgd'), signal);
}
