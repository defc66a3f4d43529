import fc from 'fast-check';
import { averageRanks, geometricBoundaries, kendallTau, pearsonR, sizeBuckets, spearmanRho, stepwiseKendallTau } from './correlation.js';

// Expected values computed once with scipy 1.17.1 (python3); the exact call is in each comment.
const A = [7, 5, 5, 7, 5, 6, 6, 2, 1, 3, 2, 7, 7, 1, 4, 6, 1, 6, 1, 4, 6, 3, 3, 2, 6, 2, 7, 4, 4, 4, 5, 4, 4, 7, 6, 6, 5, 5, 3, 7];
const B = [7, 3, 7, 5, 8, 7, 3, -1, 1, 0, -1, 7, 10, 1, 6, 9, 3, 7, 1, 4, 4, 3, 2, 0, 9, -1, 4, 2, 7, 5, 8, 2, 6, 6, 6, 3, 6, 7, 4, 5];
const C = [18.0, 22.4, 21.4, 5.9, 21.7, 78.2, 4.3, 47.4, 22.6, 10.6, 148.5, 43.0, 6.1, 21.6, 35.8, 16.6, 39.8, 18.8, 39.1, 84.6, 10.2, 24.6, 12.6, 22.8, 6.1];
const D = [13.5, 20.3, 33.5, 10.5, 11.2, 52.6, 5.9, 17.5, 17.9, 10.1, 278.4, 60.7, 5.2, 18.0, 31.6, 35.6, 32.1, 16.2, 46.6, 79.6, 9.2, 14.1, 12.5, 18.3, 10.9];

/** O(n^2) tau-b straight from the definition, to cross-check the O(n log n) version. */
function naiveTauB(x: number[], y: number[]): number {
  let s = 0, tx = 0, ty = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const dx = Math.sign(x[i] - x[j]), dy = Math.sign(y[i] - y[j]);
    s += dx * dy;
    if (dx !== 0) tx++;
    if (dy !== 0) ty++;
  }
  return s / Math.sqrt(tx * ty);
}

describe('Kendall tau-b', () => {
  it('matches scipy on the scipy documentation example', () => {
    // scipy.stats.kendalltau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]).statistic -> -0.4714045207910316
    expect(kendallTau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])).toBeCloseTo(-0.4714045207910316, 14);
  });
  it('matches scipy on tie-heavy integer data', () => {
    // scipy.stats.kendalltau(A, B).statistic -> 0.5278265870648392
    expect(kendallTau(A, B)).toBeCloseTo(0.5278265870648392, 14);
  });
  it('matches scipy on sizes with a few ties', () => {
    // scipy.stats.kendalltau(C, D).statistic -> 0.6711194661106487
    expect(kendallTau(C, D)).toBeCloseTo(0.6711194661106487, 14);
  });
  it('ranks Infinity above finite values, tied with other infinities, as scipy', () => {
    // scipy.stats.kendalltau([1,2,3,4,5,6], [10,np.inf,30,np.inf,20,5]).statistic -> -0.27602622373694163
    expect(kendallTau([1, 2, 3, 4, 5, 6], [10, Infinity, 30, Infinity, 20, 5])).toBeCloseTo(-0.27602622373694163, 14);
  });
  it('is 1/3 for one swapped pair out of three (hand count: 2 concordant, 1 discordant)', () => {
    expect(kendallTau([1, 2, 3], [1, 3, 2])).toBeCloseTo(1 / 3, 15);
  });
  it('gives NaN like scipy for NaN, constant input and n < 2', () => {
    expect(kendallTau([1, 2, 3], [1, NaN, 2])).toBeNaN();
    expect(kendallTau([1, 2, 3], [4, 4, 4])).toBeNaN();
    expect(kendallTau([1], [2])).toBeNaN();
    expect(kendallTau([1, 2], [2, 1])).toBe(-1);
    expect(() => kendallTau([1], [1, 2])).toThrow(/differ in length/);
  });
  it('agrees with the O(n^2) definition on random tied data (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })), { minLength: 2, maxLength: 40 }), (pairs) => {
        const x = pairs.map((p) => p[0]);
        const y = pairs.map((p) => p[1]);
        const expected = naiveTauB(x, y);
        const got = kendallTau(x, y);
        if (Number.isNaN(expected)) return Number.isNaN(got);
        return Math.abs(got - expected) < 1e-12;
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe('Pearson r', () => {
  it('matches scipy, and is NaN for constant or NaN input', () => {
    // scipy.stats.pearsonr([1, 2, 3, 4, 5, 6.5], [2, 4, 5, 4, 5, 9]).statistic -> 0.8839203772962249
    expect(pearsonR([1, 2, 3, 4, 5, 6.5], [2, 4, 5, 4, 5, 9])).toBeCloseTo(0.8839203772962249, 14);
    expect(pearsonR([1, 2, 3], [-2, -4, -6])).toBeCloseTo(-1, 15);
    expect(pearsonR([1, 2, 3], [3, 3, 3])).toBeNaN();
    expect(pearsonR([1, NaN, 3], [1, 2, 3])).toBeNaN();
  });
});

describe('Spearman rho', () => {
  it('matches scipy', () => {
    // scipy.stats.spearmanr([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]).statistic -> -0.5407380704358752
    expect(spearmanRho([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])).toBeCloseTo(-0.5407380704358752, 14);
    // scipy.stats.spearmanr(A, B).statistic -> 0.6791965248584688
    expect(spearmanRho(A, B)).toBeCloseTo(0.6791965248584688, 14);
    // scipy.stats.spearmanr(C, D).statistic -> 0.8259280783672701
    expect(spearmanRho(C, D)).toBeCloseTo(0.8259280783672701, 14);
    // scipy.stats.spearmanr([1,2,3,4,5,6], [10,np.inf,30,np.inf,20,5]).statistic -> -0.3188740696088466
    expect(spearmanRho([1, 2, 3, 4, 5, 6], [10, Infinity, 30, Infinity, 20, 5])).toBeCloseTo(-0.3188740696088466, 14);
  });
  it('is 0.5 for one adjacent swap of three (hand: 1 - 6*2/(3*8))', () => {
    expect(spearmanRho([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 15);
  });
  it('gives NaN for NaN and constant input', () => {
    expect(spearmanRho([1, 2, 3], [3, 3, 3])).toBeNaN();
    expect(spearmanRho([1, NaN, 3], [1, 2, 3])).toBeNaN();
  });
  it('averages tied ranks as scipy.stats.rankdata', () => {
    // scipy.stats.rankdata([3,1,4,1,5,9,2,6,5,3,5]).tolist()
    expect(Array.from(averageRanks([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]))).toEqual([4.5, 1.5, 6.0, 1.5, 8.0, 11.0, 3.0, 10.0, 8.0, 4.5, 8.0]);
  });
});

describe('step-wise (bucketed) Kendall tau', () => {
  it('buckets sizes by boundaries', () => {
    expect(Array.from(sizeBuckets([3, 10, 50, 200, 1000, Infinity, NaN], [10, 100, 1000]))).toEqual([0, 1, 1, 2, 3, 3, NaN]);
    expect(geometricBoundaries(10, 2, 3)).toEqual([10, 20, 40]);
    expect(() => sizeBuckets([1], [5, 5])).toThrow(/strictly increasing/);
    expect(() => geometricBoundaries(0, 2, 3)).toThrow();
  });
  it('is tau-b of the size ranges', () => {
    // buckets [0,1,1,2,3] and [0,0,2,2,3]; scipy.stats.kendalltau([0,1,1,2,3],[0,0,2,2,3]).statistic -> 0.8249579113843054
    expect(stepwiseKendallTau([3, 10, 50, 200, 1000], [5, 8, 300, 150, 2000], [10, 100, 1000])).toBeCloseTo(0.8249579113843054, 14);
  });
});
