/**
 * Uniform random walks over a graph's edges (DeepWalk, Perozzi, Al-Rfou & Skiena, KDD 2014, §4.2),
 * for node embeddings of social graphs (NDM+SN) and of cascade graphs (DeepCas). Any edge list over
 * node indices works: core's SocialGraph or CascadeGraph.
 */
import { CascadeError, type Rng } from '@cascade-lab/core';

/** A graph the walks can take: node indices 0..numNodes-1 and flat (source, target) pairs. */
export interface WalkGraph {
  numNodes: number;
  edges: Int32Array;
}

export interface RandomWalkOptions {
  /** Rounds; each round starts one walk at every node with a neighbour (in a shuffled order). */
  walksPerNode: number;
  /** Nodes per walk. */
  walkLength: number;
}

/**
 * Neighbour lists of the graph read as undirected (DeepWalk walks undirected graphs), in edge-list
 * order with repeated edges kept (a repeated edge is a likelier step); self-loops are dropped.
 */
export function walkAdjacency(graph: WalkGraph): { offsets: Int32Array; neighbours: Int32Array } {
  const n = graph.numNodes;
  const degree = new Int32Array(n);
  const e = graph.edges;
  for (let k = 0; k + 1 < e.length; k += 2) {
    const a = e[k];
    const b = e[k + 1];
    if (a < 0 || a >= n || b < 0 || b >= n) throw new CascadeError('DATA_FORMAT', `graph: edge ${a} -> ${b} is outside its ${n} nodes`);
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
export function randomWalks(graph: WalkGraph, options: RandomWalkOptions, rng: Rng): Int32Array[] {
  const { offsets, neighbours } = walkAdjacency(graph);
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
