import type { Rng, SocialGraph } from '@cascade-lab/core';
import { randomWalks } from '@cascade-lab/data';
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
