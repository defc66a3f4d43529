import { Rng, type SocialGraph } from '@cascade-lab/core';
import { deepWalk } from './deepwalk.js';

// Two 6-cliques (nodes 2..7 and 8..13) joined by one edge 7-8; nodes 0, 1 have no edge.
const edges: number[] = [];
for (const group of [[2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13]]) for (const a of group) for (const b of group) if (a < b) edges.push(a, b);
edges.push(7, 8);
const graph: SocialGraph = { directed: true, numNodes: 14, edges: Int32Array.from(edges) };

describe('DeepWalk', () => {
  const options = { dimensions: 8, walksPerNode: 10, walkLength: 20, window: 3, negatives: 5, epochs: 2 };

  it('puts nodes of the same clique closer than nodes of different cliques', () => {
    const emb = deepWalk(graph, options, Rng.fromSeed(2));
    const cos = (a: number, b: number) => {
      let ab = 0, aa = 0, bb = 0;
      for (let e = 0; e < 8; e++) {
        ab += emb[a * 8 + e] * emb[b * 8 + e];
        aa += emb[a * 8 + e] ** 2;
        bb += emb[b * 8 + e] ** 2;
      }
      return ab / Math.sqrt(aa * bb);
    };
    let within = 0, across = 0, nw = 0, na = 0;
    for (let a = 2; a < 14; a++) {
      for (let b = a + 1; b < 14; b++) {
        if ((a < 8) === (b < 8)) {
          within += cos(a, b);
          nw++;
        } else {
          across += cos(a, b);
          na++;
        }
      }
    }
    expect(within / nw).toBeGreaterThan(across / na + 0.3);
  });

  it('is reproducible with a seed', () => {
    expect(Array.from(deepWalk(graph, options, Rng.fromSeed(3)))).toEqual(Array.from(deepWalk(graph, options, Rng.fromSeed(3))));
  });
});
