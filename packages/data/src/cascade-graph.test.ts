import { describe, expect, it } from '@jest/globals';
import { cascadeGraphUpTo, deepCasCascadeGraph, deepCasWindowed, weiboCascadeGraph } from './cascade-graph.js';
import { parseWeibo } from './formats/weibo.js';

describe('cascade graphs', () => {
  // r posts; x retweets r at 10 s, y retweets x at 50 s, z retweets r at 30 s (paths unordered in the file).
  const weibo = parseWeibo('m1\tr\t1600000000\t4\tr:0 r/x/y:50 r/x:10 r/z:30\n', 'w.txt')[0];

  it('Weibo paths: parent -> retweeter, nodes numbered by time with the root 0', () => {
    const g = weiboCascadeGraph(weibo);
    expect(g.nodeIds).toEqual(['r', 'x', 'z', 'y']);
    expect(Array.from(g.edges)).toEqual([0, 1, 0, 2, 1, 3]);
    expect(Array.from(g.edgeTimes!)).toEqual([10, 30, 50]);
    expect(g.weights).toBeUndefined();
  });

  it('the part observed up to a time keeps the root at 0 and renumbers the rest', () => {
    const g = cascadeGraphUpTo(weiboCascadeGraph(weibo), 40);
    expect([g.numNodes, g.nodeIds, Array.from(g.edges)]).toEqual([3, ['r', 'x', 'z'], [0, 1, 0, 2]]);
    expect(cascadeGraphUpTo(weiboCascadeGraph(weibo), 5)).toMatchObject({ numNodes: 1, nodeIds: ['r'] });
  });

  it('DeepCas: starters first, then edges in file order, with weights; a snapshot is not cut by time', () => {
    const c = { id: 'c', starters: ['s1', 's2'], date: '2005', numNodes: 4, edges: [{ source: 's2', target: 'a', weight: 2 }, { source: 'a', target: 'b', weight: 0.5 }], labels: [3, 7] };
    const g = deepCasCascadeGraph(c);
    expect([g.numNodes, g.nodeIds, Array.from(g.edges), Array.from(g.weights!)]).toEqual([4, ['s1', 's2', 'a', 'b'], [1, 2, 2, 3], [2, 0.5]]);
    expect(cascadeGraphUpTo(g, 0)).toBe(g);
    const w = deepCasWindowed(c, [24, 48]);
    expect([w.observedSize, Array.from(w.targets)]).toEqual([4, [7, 11]]);
    expect(() => deepCasWindowed(c, [24])).toThrow(/2 labels .* 1 horizons/);
  });
});
