import { Rng, type SocialGraph } from '@cascade-lab/core';
import { randomWalks, walkAdjacency } from './walks.js';

// Two 6-cliques (nodes 2..7 and 8..13) joined by one edge 7-8; nodes 0, 1 have no edge.
const edges: number[] = [];
for (const group of [[2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13]]) for (const a of group) for (const b of group) if (a < b) edges.push(a, b);
edges.push(7, 8);
const graph: SocialGraph = { directed: true, numNodes: 14, edges: Int32Array.from(edges) };

describe('random walks', () => {
  it('step along edges (read as undirected), start once per node with an edge per round, are seeded', () => {
    const { offsets, neighbours } = walkAdjacency(graph);
    const isEdge = (a: number, b: number) => Array.from(neighbours.subarray(offsets[a], offsets[a + 1])).includes(b);
    const walks = randomWalks(graph, { walksPerNode: 3, walkLength: 10 }, Rng.fromSeed(1));
    expect(walks.length).toBe(3 * 12);
    for (const w of walks) for (let i = 1; i < w.length; i++) expect(isEdge(w[i - 1], w[i])).toBe(true);
    // 8 -> 7 exists only as the reverse of the directed edge 7 -> 8.
    expect(isEdge(8, 7)).toBe(true);
    expect(randomWalks(graph, { walksPerNode: 3, walkLength: 10 }, Rng.fromSeed(1))).toEqual(walks);
  });
});

describe('random walks on a cascade graph', () => {
  it('take a CascadeGraph (a star from the root) and stay on its edges', () => {
    const star = { numNodes: 4, edges: Int32Array.from([0, 1, 0, 2, 0, 3]) };
    const walks = randomWalks(star, { walksPerNode: 2, walkLength: 5 }, Rng.fromSeed(4));
    expect(walks).toHaveLength(8);
    // Every other node of a walk on a star is the root.
    for (const w of walks) for (let i = 0; i < w.length; i++) if ((w[0] === 0) === (i % 2 === 0)) expect(w[i]).toBe(0);
  });
});
