import type { SocialGraph } from '@cascade-lab/core';
import { closestUsers, linkPredictionAccuracy } from './link-prediction.js';

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
