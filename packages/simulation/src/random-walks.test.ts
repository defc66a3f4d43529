import { Rng, type CascadeGraph } from '@cascade-lab/core';
import { sampleWalks, startNodes, transitionTable, WALK_END, type WalkOptions } from './random-walks.js';

// A tiny directed graph: 0 -> 1 (w 2), 0 -> 2 (w 1), 1 -> 2 (w 3), 2 -> 3 (w 1); 3 has no out-edge.
// Out-degrees inside the graph: deg(0) = 2, deg(1) = 1, deg(2) = 1, deg(3) = 0.
const graph: CascadeGraph = { numNodes: 4, edges: Int32Array.from([0, 1, 0, 2, 1, 2, 2, 3]), weights: Float32Array.from([2, 1, 3, 1]) };
const alpha = 0.01;

/** Empirical frequencies of `draw()` over n draws, as an array over 0..k-1. */
function frequencies(k: number, n: number, draw: (i: number) => number): number[] {
  const counts = new Array(k).fill(0);
  for (let i = 0; i < n; i++) counts[draw(i)]++;
  return counts.map((c) => c / n);
}

// With N = 20,000 draws a frequency's standard deviation is at most sqrt(0.25 / N) = 0.0035; the
// tolerance 0.015 is over four of them.
const N = 20000;
const TOL = 0.015;

describe('random walks on a cascade graph (DeepCas §4.1)', () => {
  it('transition table: sc(v) + alpha per edge, by weight or by the target out-degree (hand-computed)', () => {
    const byWeight = transitionTable(graph, 'weight', alpha);
    expect(Array.from(byWeight.outWeight)).toEqual([2 + alpha + 1 + alpha, 3 + alpha, 1 + alpha, 0]);
    const byDegree = transitionTable(graph, 'degree', alpha);
    // 0 -> 1: deg(1) = 1; 0 -> 2: deg(2) = 1; 1 -> 2: deg(2) = 1; 2 -> 3: deg(3) = 0.
    expect(Array.from(byDegree.outWeight)).toEqual([2 + 2 * alpha, 1 + alpha, alpha, 0]);
  });

  it('the first start node is drawn in proportion to the weighted out-degree, leaves at alpha (closed form)', () => {
    const table = transitionTable(graph, 'weight', alpha);
    const w = [3 + 2 * alpha, 3 + alpha, 1 + alpha, alpha];
    const total = w.reduce((a, b) => a + b, 0);
    const root = Rng.fromSeed(7);
    const freq = frequencies(4, N, (i) => startNodes(table, 1, alpha, root.derive(i))[0]);
    freq.forEach((f, u) => expect(Math.abs(f - w[u] / total)).toBeLessThan(TOL));
  });

  it('the second start node is drawn without replacement: P(s2 = v) = sum_u p_u p_v / (1 - p_u) (closed form)', () => {
    const table = transitionTable(graph, 'weight', alpha);
    const w = [3 + 2 * alpha, 3 + alpha, 1 + alpha, alpha];
    const total = w.reduce((a, b) => a + b, 0);
    const p = w.map((x) => x / total);
    const expected = p.map((pv, v) => p.reduce((acc, pu, u) => (u === v ? acc : acc + (pu * pv) / (1 - pu)), 0));
    const root = Rng.fromSeed(8);
    const freq = frequencies(4, N, (i) => startNodes(table, 2, alpha, root.derive(i))[1]);
    freq.forEach((f, v) => expect(Math.abs(f - expected[v])).toBeLessThan(TOL));
  });

  it('rounds: every node starts once, then only nodes with out-edges, as many as walks remain', () => {
    const table = transitionTable(graph, 'weight', alpha);
    // 4 nodes in the first round, then nodes 0, 1, 2 (3 has no out-edge), then 2 more of them.
    const starts = startNodes(table, 9, alpha, Rng.fromSeed(3));
    expect(starts).toHaveLength(9);
    expect([...starts.slice(0, 4)].sort()).toEqual([0, 1, 2, 3]);
    expect([...starts.slice(4, 7)].sort()).toEqual([0, 1, 2]);
    expect(new Set(starts.slice(7)).size).toBe(2);
    expect(starts.slice(7).every((u) => u !== 3)).toBe(true);
  });

  it('transitions follow (sc + alpha) / sum and walks stop at a node without out-edges (closed form)', () => {
    const options: WalkOptions = { walksPerGraph: 1, walkLength: 5, transition: 'weight', pseudoCount: alpha };
    const root = Rng.fromSeed(11);
    // Condition on the walk starting at 0: P(0 -> 1) = (2 + a) / (3 + 2a), P(0 -> 2) = (1 + a) / (3 + 2a).
    const seconds: number[] = [];
    for (let i = 0; seconds.length < N && i < 10 * N; i++) {
      const walk = sampleWalks(graph, options, root.derive(i));
      if (walk[0] !== 0) continue;
      seconds.push(walk[1]);
      // 0 -> 1 -> 2 -> 3, then the walk stops (3 has no out-edge).
      if (walk[1] === 1) expect(Array.from(walk)).toEqual([0, 1, 2, 3, WALK_END]);
      else expect(Array.from(walk)).toEqual([0, 2, 3, WALK_END, WALK_END]);
    }
    const f1 = seconds.filter((v) => v === 1).length / seconds.length;
    expect(Math.abs(f1 - (2 + alpha) / (3 + 2 * alpha))).toBeLessThan(TOL);
  });

  it('by degree: from 0 the two targets (out-degree 1 each) are equally likely (closed form)', () => {
    const options: WalkOptions = { walksPerGraph: 4, walkLength: 2, transition: 'degree', pseudoCount: alpha };
    const root = Rng.fromSeed(12);
    let from0 = 0;
    let to1 = 0;
    for (let i = 0; i < N / 2; i++) {
      const walks = sampleWalks(graph, options, root.derive(i));
      for (let k = 0; k < 4; k++) {
        if (walks[2 * k] !== 0) continue;
        from0++;
        if (walks[2 * k + 1] === 1) to1++;
      }
    }
    expect(Math.abs(to1 / from0 - 0.5)).toBeLessThan(TOL);
  });

  it('the same stream gives the same walks; a graph without edges gives walks of the root alone', () => {
    const options: WalkOptions = { walksPerGraph: 20, walkLength: 10, transition: 'weight', pseudoCount: alpha };
    expect(sampleWalks(graph, options, Rng.fromSeed(5))).toEqual(sampleWalks(graph, options, Rng.fromSeed(5)));
    const lone = sampleWalks({ numNodes: 1, edges: new Int32Array(0) }, { ...options, walksPerGraph: 2, walkLength: 3 }, Rng.fromSeed(1));
    expect(Array.from(lone)).toEqual([0, WALK_END, WALK_END, 0, WALK_END, WALK_END]);
  });
});
