import { hitsAtK, mapAtK, rankingMetrics, targetRank } from './ranking.js';

describe('next-user ranking metrics', () => {
  it('ranks the target with ties counted against it', () => {
    // scores of users 0..4; target 2 (score 0.5): users 1 (0.9) and 3 (0.5, tie) are not below it.
    expect(targetRank([0.1, 0.9, 0.5, 0.5, -Infinity], 2)).toBe(3);
    expect(targetRank([0.1, 0.9, 0.5, 0.5, -Infinity], 1)).toBe(1);
    // constant scores: the worst rank, not the best
    expect(targetRank([1, 1, 1, 1], 0)).toBe(4);
    // masked target
    expect(targetRank([0, -Infinity, 2], 1)).toBe(3);
    expect(() => targetRank([NaN, 1], 0)).toThrow(/NaN/);
    expect(() => targetRank([1, 2], 2)).toThrow(/outside/);
  });
  it('computes hits@k and MAP@k by hand', () => {
    const ranks = [1, 3, 12, 2];
    // hits@1 = 1/4, hits@3 = 3/4, hits@10 = 3/4, hits@20 = 1
    expect(hitsAtK(ranks, 1)).toBe(0.25);
    expect(hitsAtK(ranks, 3)).toBe(0.75);
    expect(hitsAtK(ranks, 20)).toBe(1);
    // MAP@10 = (1 + 1/3 + 0 + 1/2)/4 = 11/24; MAP@20 adds 1/12: (11/6 + 1/12)/4 = 23/48
    expect(mapAtK(ranks, 10)).toBeCloseTo(11 / 24, 15);
    expect(mapAtK(ranks, 20)).toBeCloseTo(23 / 48, 15);
    expect(rankingMetrics(ranks, [1, 10])).toEqual({ 'hits@1': 0.25, 'map@1': 0.25, 'hits@10': 0.75, 'map@10': mapAtK(ranks, 10) });
  });
  it('rejects bad input', () => {
    expect(() => hitsAtK([], 1)).toThrow(/no ranks/);
    expect(() => hitsAtK([0], 1)).toThrow(/positive integer/);
    expect(() => mapAtK([1], 0)).toThrow(/k must be/);
  });
});
