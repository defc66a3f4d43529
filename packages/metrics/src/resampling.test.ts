import { Rng } from '@cascade-lab/core';
import {
  bootstrapInterval,
  intervalFromDistribution,
  normalCdf,
  normalQuantile,
  pairedPermutationTest,
  quantile,
  seedSpread,
} from './resampling.js';

const mean = (xs: readonly number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;

describe('normal distribution', () => {
  it('matches scipy.special.ndtr and ndtri', () => {
    // scipy.special.ndtr([-1.96, 0.3, 2.5]) -> [0.0249979, 0.61791142, 0.99379033]
    expect(normalCdf(-1.96)).toBeCloseTo(0.0249979, 7);
    expect(normalCdf(0.3)).toBeCloseTo(0.61791142, 8);
    expect(normalCdf(2.5)).toBeCloseTo(0.99379033, 8);
    // scipy.special.ndtri([0.025, 0.3, 0.975, 1e-5]) -> [-1.95996398, -0.52440051, 1.95996398, -4.26489079]
    expect(normalQuantile(0.025)).toBeCloseTo(-1.95996398, 8);
    expect(normalQuantile(0.3)).toBeCloseTo(-0.52440051, 8);
    expect(normalQuantile(0.975)).toBeCloseTo(1.95996398, 8);
    expect(normalQuantile(1e-5)).toBeCloseTo(-4.26489079, 7);
    for (const p of [0.001, 0.2, 0.5, 0.77, 0.999]) expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 12);
  });
});

describe('intervals from a given bootstrap distribution (exact against scipy)', () => {
  const data = [0.1, 0.4, 0.35, 0.8, 0.05, 0.6, 0.9, 0.2];
  const dist = [0.31, 0.42, 0.38, 0.5, 0.45, 0.29, 0.55, 0.41, 0.36, 0.47, 0.44, 0.39];

  it('percentile: numpy.quantile(dist, [0.025, 0.975]) = [0.2955, 0.53625]', () => {
    const { low, high } = intervalFromDistribution(dist, 0.95);
    expect(low).toBeCloseTo(0.2955, 12);
    expect(high).toBeCloseTo(0.53625, 12);
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
  });

  it('BCa: scipy.stats._resampling._bca_interval with the same distribution', () => {
    // from scipy.stats._resampling import _bca_interval
    // a1, a2, a_hat = _bca_interval((data,), lambda x, axis: np.mean(x, axis=axis), axis=-1, alpha=0.025,
    //                               theta_hat_b=dist, batch=None, xp=np)
    //   -> 0.06901857933061623, 0.9933120785582763, a_hat 0.018888880701088292
    // np.quantile(dist, [a1, a2]) -> [0.30518409, 0.54632164]
    const jackknife = data.map((_, i) => mean(data.filter((__, j) => j !== i)));
    const { low, high } = intervalFromDistribution(dist, 0.95, { estimate: mean(data), jackknife });
    expect(low).toBeCloseTo(0.30518409, 7);
    expect(high).toBeCloseTo(0.54632164, 7);
  });
});

describe('bootstrapInterval', () => {
  // x_i = (((7 i) mod 13) / 13 + i / 40)^2, i = 0..39
  const x = Array.from({ length: 40 }, (_, i) => (((i * 7) % 13) / 13 + i / 40) ** 2);

  it('is reproducible from the seed and differs between seeds', () => {
    const one = bootstrapInterval(x, mean, { rng: Rng.fromSeed(1) });
    expect(bootstrapInterval(x, mean, { rng: Rng.fromSeed(1) })).toEqual(one);
    expect(bootstrapInterval(x, mean, { rng: Rng.fromSeed(2) }).low).not.toBe(one.low);
    expect(one).toMatchObject({ resamples: 1000, level: 0.95, method: 'percentile' });
    expect(one.estimate).toBeCloseTo(1.0631490384615385, 12); // numpy.mean(x)
  });

  it('agrees with scipy.stats.bootstrap up to Monte Carlo error', () => {
    // scipy.stats.bootstrap((x,), np.mean, n_resamples=200000, method=M, rng=0):
    //   percentile [0.8170811945266273, 1.3268171828772188], BCa [0.833329996941822, 1.3477845862910893],
    //   standard error 0.13025688543083797
    // With 20000 resamples the ends' Monte Carlo error is about 0.004 (the ends differ between
    // methods by about 0.02, so the tolerance below separates percentile from BCa).
    const p = bootstrapInterval(x, mean, { rng: Rng.fromSeed(7), resamples: 20_000 });
    expect(Math.abs(p.low - 0.8170811945266273)).toBeLessThan(0.008);
    expect(Math.abs(p.high - 1.3268171828772188)).toBeLessThan(0.008);
    expect(p.standardError).toBeCloseTo(0.1303, 2);
    const b = bootstrapInterval(x, mean, { rng: Rng.fromSeed(7), resamples: 20_000, method: 'bca' });
    expect(Math.abs(b.low - 0.833329996941822)).toBeLessThan(0.008);
    expect(Math.abs(b.high - 1.3477845862910893)).toBeLessThan(0.008);
  });
});

describe('seedSpread', () => {
  it('is numpy mean / std(ddof=1) / min / max', () => {
    // np.std([0.31, 0.35, 0.33], ddof=1) = 0.02 (hand: deviations -0.02, 0.02, 0 -> sqrt(0.0008 / 2))
    const s = seedSpread([0.31, 0.35, 0.33]);
    expect(s.mean).toBeCloseTo(0.33, 12);
    expect(s.std).toBeCloseTo(0.02, 12);
    expect([s.min, s.max, s.n]).toEqual([0.31, 0.35, 3]);
    expect(seedSpread([0.4]).std).toBeNaN();
  });
});

describe('pairedPermutationTest', () => {
  const diffOfMeans = (a: readonly number[], b: readonly number[]): number => mean(a) - mean(b);

  it('exact test: scipy.stats.permutation_test on the difference of means', () => {
    const a = [0.5, 0.7, 0.2, 0.9, 0.4, 0.6, 0.3, 0.8, 0.55, 0.65];
    const b = [0.45, 0.5, 0.25, 0.6, 0.35, 0.5, 0.3, 0.7, 0.5, 0.4];
    // scipy.stats.permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y), permutation_type='samples',
    //                              n_resamples=10000, vectorized=False) -> statistic 0.105, pvalue 0.01953125 (exact, 2^10)
    const r = pairedPermutationTest(a, b, diffOfMeans, { rng: Rng.fromSeed(1) });
    expect(r.exact).toBe(true);
    expect(r.permutations).toBe(1024);
    expect(r.observed).toBeCloseTo(0.105, 12);
    expect(r.pValue).toBeCloseTo(0.01953125, 12);
    // symmetric in the two models
    expect(pairedPermutationTest(b, a, diffOfMeans, { rng: Rng.fromSeed(1) }).pValue).toBeCloseTo(0.01953125, 12);
  });

  it('exact test of a ratio statistic (difference of micro-F1-like sums), swapped per cascade', () => {
    const A: Array<[number, number]> = [[3, 5], [1, 3], [4, 5], [1, 4], [5, 8], [9, 10], [2, 4], [6, 7]];
    const B: Array<[number, number]> = [[2, 5], [1, 4], [3, 6], [1, 4], [4, 8], [7, 9], [2, 5], [5, 7]];
    const ratio = (xs: readonly [number, number][]): number => xs.reduce((s, v) => s + v[0], 0) / xs.reduce((s, v) => s + v[1], 0);
    // scipy.stats.permutation_test((idx_a, idx_b), stat, permutation_type='samples', vectorized=False,
    //   n_resamples=10000) with stat(x, y) = ratio(rows of x) - ratio(rows of y), rows looked up by index
    //   -> statistic 0.1530797101449275, pvalue 0.015625
    const r = pairedPermutationTest(A, B, (x, y) => ratio(x) - ratio(y), { rng: Rng.fromSeed(1) });
    expect(r.observed).toBeCloseTo(0.1530797101449275, 12);
    expect(r.pValue).toBeCloseTo(0.015625, 12);
  });

  it('Monte Carlo test agrees with scipy up to Monte Carlo error', () => {
    const a = Array.from({ length: 40 }, (_, i) => ((i * 5) % 11) / 11);
    const b = a.map((v, i) => v - 0.01 + (((i * 3) % 7) - 3) / 40);
    // scipy.stats.permutation_test((a, b), diff of means, permutation_type='samples', n_resamples=200000,
    //   vectorized=False, rng=0) -> statistic 0.009374999999999911, pvalue 0.2578087109564452
    const r = pairedPermutationTest(a, b, diffOfMeans, { rng: Rng.fromSeed(3), resamples: 20_000 });
    expect(r.exact).toBe(false);
    expect(r.observed).toBeCloseTo(0.009375, 12);
    // binomial standard error at p ~ 0.26 with 20000 draws: 0.0031
    expect(Math.abs(r.pValue - 0.2578087109564452)).toBeLessThan(0.01);
  });

  it('refuses unpaired samples', () => {
    expect(() => pairedPermutationTest([1, 2], [1], diffOfMeans, { rng: Rng.fromSeed(1) })).toThrow(/same cascades/);
  });
});
