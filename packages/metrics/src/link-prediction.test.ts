import type { SocialGraph } from '@cascade-lab/core';
import { closestUsers, edgeRecovery, linkPredictionAccuracy, precisionAtK, rocAuc } from './link-prediction.js';

// Users 2..5 (0 and 1 are reserved). Directed edges 2->3, 3->4, 5->2.
const graph: SocialGraph = { directed: true, numNodes: 6, edges: Int32Array.from([2, 3, 3, 4, 5, 2]) };

describe('link prediction accuracy (NDM §5.4)', () => {
  it('counts the users whose closest user is linked to them, by hand', () => {
    // closest: 2->3 (edge 2->3 out: yes), 3->2 (only 2->3: in), 4->5 (none), 5->-1 (no guess)
    const closest = Int32Array.from([-1, -1, 3, 2, 5, -1]);
    expect(linkPredictionAccuracy(closest, graph)).toBe(1 / 4);
    expect(linkPredictionAccuracy(closest, graph, { direction: 'in' })).toBe(1 / 4);
    expect(linkPredictionAccuracy(closest, graph, { direction: 'either' })).toBe(2 / 4);
    expect(linkPredictionAccuracy(closest, { ...graph, directed: false })).toBe(2 / 4);
    expect(linkPredictionAccuracy(closest, graph, { users: [2, 3] })).toBe(1 / 2);
  });
  it('finds the most closely related user, skipping itself and reserved indices', () => {
    const n = 4;
    // rows u = 2, 3; reserved columns have huge scores that must be ignored
    const c = new Float64Array(n * n).fill(100);
    c[2 * n + 2] = 50; c[2 * n + 3] = 1;
    c[3 * n + 2] = -Infinity; c[3 * n + 3] = 99;
    expect(Array.from(closestUsers(c, n))).toEqual([-1, -1, 3, -1]);
  });
  it('rejects bad input', () => {
    expect(() => linkPredictionAccuracy([], graph, { users: [] })).toThrow(/no users/);
    expect(() => linkPredictionAccuracy([0, 0, 9], graph, { users: [2] })).toThrow(/outside the graph/);
    expect(() => closestUsers([1, 2], 2)).toThrow(/expected 2x2/);
  });
});

describe('AUC and precision@k with ties', () => {
  const s = [0.3, 0.1, 0.7, 0.7, 0.2, 0.9, 0.1, 0.5, 0.7, 0.0];
  const y = [1, 0, 1, 0, 0, 1, 1, 0, 0, 0];
  it('matches the Mann-Whitney statistic', () => {
    // scipy: pos=[0.3,0.7,0.9,0.1], neg=[0.1,0.7,0.2,0.5,0.7,0.0];
    // mannwhitneyu(pos, neg, alternative='two-sided').statistic / (4*6) -> 0.6458333333333334
    expect(rocAuc(s, y)).toBeCloseTo(0.6458333333333334, 15);
    // hand: pos {0.9, 0.8}, neg {0.8, 0.1}: 1 + 1 + 0.5 + 1 = 3.5 of 4 pairs
    expect(rocAuc([0.9, 0.8, 0.8, 0.1], [true, true, false, false])).toBe(0.875);
  });
  it('gives a tie group straddling the cut-off its expected share', () => {
    // hand: 0.9 is positive; the 0.7 group holds 1 positive of 3, 2 of them fit in k = 3: (1 + 2/3) / 3
    expect(precisionAtK(s, y, 3)).toBeCloseTo(5 / 9, 15);
    expect(precisionAtK(s, y, 1)).toBe(1);
    expect(precisionAtK(s, y, 4)).toBe(0.5);
  });
  it('rejects what it cannot score', () => {
    expect(() => rocAuc([1, 2], [1, 1])).toThrow(/positives and negatives/);
    expect(() => rocAuc([NaN, 2], [1, 0])).toThrow(/NaN/);
    expect(() => precisionAtK([1, 2], [1, 0], 3)).toThrow(/exceeds/);
    expect(() => precisionAtK([1, 2], [1, 0], 0)).toThrow(/positive integer/);
  });
});

describe('edge recovery against a ground-truth graph', () => {
  // users 2, 3, 4 (6 ordered pairs); true edges 2 -> 3 and 4 -> 2
  const truth: SocialGraph = { directed: true, numNodes: 5, edges: Int32Array.from([2, 3, 4, 2]) };
  const dense = new Float64Array(25);
  dense[2 * 5 + 3] = 0.9;
  dense[3 * 5 + 2] = 0.5;
  dense[4 * 5 + 3] = 0.2;
  // reserved rows and columns are not scored, however high
  dense[0 * 5 + 2] = 99;
  dense[3 * 5 + 1] = 99;
  const sparse = { numNodes: 5, sources: [2, 3, 4, 0], targets: [3, 2, 3, 2], scores: [0.9, 0.5, 0.2, 99] };
  it('scores dense and sparse scores the same, by hand', () => {
    // positives (2,3)=0.9 and (4,2)=0; negatives (2,4)=0, (3,2)=0.5, (3,4)=0, (4,3)=0.2.
    // AUC: 0.9 beats 4 negatives; 0 ties 2 negatives (2 x 0.5): 5/8. precision@2: {0.9 +, 0.5 -} = 1/2
    const want = { precisionAtTrueEdges: 0.5, auc: 0.625, trueEdges: 2, pairs: 6 };
    expect(edgeRecovery({ numNodes: 5, dense }, truth)).toEqual(want);
    expect(edgeRecovery(sparse, truth)).toEqual(want);
  });
  it('gives the same numbers for a graph too large for the pair bit set (a Set instead)', () => {
    // 30,000 nodes: 9e8 pairs exceed the 2^29-bit set; the same users 2, 3, 4 and scores as above
    const big: SocialGraph = { ...truth, numNodes: 30_000 };
    expect(edgeRecovery({ ...sparse, numNodes: 30_000 }, big, { users: [2, 3, 4] })).toEqual({ precisionAtTrueEdges: 0.5, auc: 0.625, trueEdges: 2, pairs: 6 });
    expect(() => edgeRecovery({ numNodes: 30_000, sources: [2, 2], targets: [3, 3], scores: [1, 1] }, big, { users: [2, 3, 4] })).toThrow(/listed twice/);
  });

  it('counts an undirected edge both ways', () => {
    // positives (2,3)=0.9, (3,2)=0.5, (4,2)=0, (2,4)=0; negatives (3,4)=0, (4,3)=0.2.
    // AUC: 2 + 2 + 0.5 + 0.5 = 5 of 8. precision@4: 0.9, 0.5, 0.2 (-), then 1 of the tie group {+, +, -} at 0: (2 + 2/3) / 4
    const r = edgeRecovery(sparse, { ...truth, directed: false });
    expect(r.auc).toBe(0.625);
    expect(r.precisionAtTrueEdges).toBeCloseTo(2 / 3, 15);
    expect(r.trueEdges).toBe(4);
  });
  it('rejects mismatched or duplicated input', () => {
    expect(() => edgeRecovery({ numNodes: 4, dense: new Float64Array(16) }, truth)).toThrow(/cover 4 nodes/);
    expect(() => edgeRecovery({ numNodes: 5, dense: new Float64Array(4) }, truth)).toThrow(/expected 5x5/);
    expect(() => edgeRecovery({ numNodes: 5, sources: [2, 2], targets: [3, 3], scores: [1, 1] }, truth)).toThrow(/listed twice/);
    expect(() => edgeRecovery(sparse, { directed: true, numNodes: 5, edges: Int32Array.from([0, 1]) })).toThrow(/no edge/);
  });
});
