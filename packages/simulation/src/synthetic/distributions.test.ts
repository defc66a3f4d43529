import { Rng } from '@cascade-lab/core';
import { expectedFollowerPower, gammaGrowthIntegral, gammaVariate, logGamma, poisson, regularizedLowerGamma } from './distributions.js';

describe('special functions against scipy', () => {
  it('regularized lower incomplete gamma = scipy.special.gammainc', () => {
    // scipy.special.gammainc(a, x) for each pair
    const cases: [number, number, number][] = [
      [0.5, 0.2, 0.47291074313446196],
      [1.5, 2.4, 0.8129582510950923],
      [3, 10, 0.9972306042844884],
      [10, 3, 0.0011024881301154815],
      [2.5, 30, 0.9999999999878454],
      [0.1, 5, 0.9998560610341533],
    ];
    for (const [a, x, p] of cases) expect(regularizedLowerGamma(a, x)).toBeCloseTo(p, 13);
    expect(regularizedLowerGamma(2, 0)).toBe(0);
    expect(regularizedLowerGamma(2, Infinity)).toBe(1);
  });
  it('log Gamma = scipy.special.gammaln', () => {
    // scipy.special.gammaln(x)
    for (const [x, v] of [[0.3, 1.0957979948180756], [1.5, -0.12078223763524526], [7.2, 6.95684807988834], [50.5, 146.51925549072064]]) expect(logGamma(x)).toBeCloseTo(v, 12);
  });
  it('integrates the GammaCas growth curve', () => {
    // 3 * scipy.special.gamma(1.5) * scipy.special.gammainc(1.5, 2.4) / 0.1**1.5 -> 68.3493578502932
    expect(gammaGrowthIntegral(3, 0.5, 0.1, 24)).toBeCloseTo(68.3493578502932, 10);
    // lambda = 0: A P^(g+1)/(g+1) = 2 * 8^1.5 / 1.5 (hand)
    expect(gammaGrowthIntegral(2, 0.5, 0, 8)).toBeCloseTo((2 * 8 ** 1.5) / 1.5, 12);
  });
  it('computes E[floor(X)^beta] of the integer Pareto marks', () => {
    // mpmath (dps 30): nsum(lambda k: k**b*(k**(1-a)-(k+1)**(1-a)), [1, inf], method='euler-maclaurin')
    // a = 2.016: b = 0.2 -> 1.19807835044968718852, b = 0.4 -> 1.54394642182024068814
    expect(expectedFollowerPower(2.016, 0.2)).toBeCloseTo(1.1980783504496872, 13);
    expect(expectedFollowerPower(2.016, 0.4)).toBeCloseTo(1.5439464218202407, 13);
    expect(() => expectedFollowerPower(2.016, 1.1)).toThrow(/infinite/);
  });
});

describe('random variates', () => {
  const N = 20000;
  it('Poisson has the right mean and variance', () => {
    const rng = Rng.fromSeed('poisson');
    for (const mean of [0.3, 4, 40]) {
      let s = 0, s2 = 0;
      for (let i = 0; i < N; i++) { const x = poisson(rng, mean); s += x; s2 += x * x; }
      const m = s / N;
      // mean within 4.5 standard errors sqrt(mean/N); variance within 5%
      expect(Math.abs(m - mean)).toBeLessThan(4.5 * Math.sqrt(mean / N));
      expect(Math.abs(s2 / N - m * m - mean) / mean).toBeLessThan(0.05);
    }
  });
  it('Gamma(shape, rate) has mean shape/rate and variance shape/rate^2', () => {
    const rng = Rng.fromSeed('gamma');
    for (const [shape, rate] of [[0.5, 2], [1.5, 0.1], [7, 3]]) {
      let s = 0, s2 = 0;
      for (let i = 0; i < N; i++) { const x = gammaVariate(rng, shape, rate); s += x; s2 += x * x; }
      const m = s / N;
      const sd = Math.sqrt(shape) / rate;
      expect(Math.abs(m - shape / rate)).toBeLessThan((4.5 * sd) / Math.sqrt(N));
      expect(Math.abs((s2 / N - m * m) / (sd * sd) - 1)).toBeLessThan(0.06);
    }
  });
});
