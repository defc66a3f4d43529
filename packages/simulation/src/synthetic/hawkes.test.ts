import { Rng } from '@cascade-lab/core';
import { generateHawkesCascade, generateHawkesCascades, hawkesBranchingFactor } from './hawkes.js';

describe('Hawkes retweet cascades with follower marks', () => {
  const options = { K: 0.5, beta: 0.2, thetaPerSecond: 1 / 600 };

  it('branching factor n* = K E[m^beta] for the integer Pareto marks', () => {
    // K * E[floor(X)^0.2] = 0.5 * 1.19807835044968718852 (mpmath, see distributions.test.ts)
    expect(hawkesBranchingFactor(options)).toBeCloseTo(0.5990391752248436, 13);
    // unmarked: n* = K
    expect(hawkesBranchingFactor({ K: 0.7, beta: 0 })).toBe(0.7);
  });

  it('has mean final size 1 / (1 - n*) when subcritical (root marks from the same law)', () => {
    const n = 10000;
    const cascades = generateHawkesCascades(n, options, Rng.fromSeed('hawkes-size'));
    const sizes = cascades.map((c) => c.events.length + 1);
    const mean = sizes.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    const expected = 1 / (1 - hawkesBranchingFactor(options)); // 2.4940...
    // within 4 standard errors (fixed seed: deterministic)
    expect(Math.abs(mean - expected)).toBeLessThan((4 * sd) / Math.sqrt(n));
    // the check has power: the continuous-mark n* = K (alpha-1)/(alpha-1-beta) = 0.6225 gives 2.649
    expect(Math.abs(mean - 1 / (1 - 0.6225490196078431))).toBeGreaterThan((4 * sd) / Math.sqrt(n));
  });

  it('with a fixed root mark m0 the mean size is 1 + K m0^beta / (1 - n*)', () => {
    const n = 10000;
    const rng = Rng.fromSeed('hawkes-root');
    let total = 0, total2 = 0;
    for (let i = 0; i < n; i++) {
      const s = generateHawkesCascade({ ...options, rootFollowers: 10000 }, rng.derive(i)).events.length + 1;
      total += s; total2 += s * s;
    }
    const mean = total / n;
    const sd = Math.sqrt(total2 / n - mean * mean);
    const expected = 1 + (0.5 * 10000 ** 0.2) / (1 - hawkesBranchingFactor(options));
    expect(Math.abs(mean - expected)).toBeLessThan((4 * sd) / Math.sqrt(n));
  });

  it('emits retweets in time order, with integer follower counts >= 1, within the horizon', () => {
    const c = generateHawkesCascade({ ...options, K: 0.9, horizonSeconds: 3600, rootFollowers: 5e6 }, Rng.fromSeed(3), 'x');
    expect(c.id).toBe('x');
    expect(c.rootFollowers).toBe(5e6);
    expect(c.observedUntil).toBe(3600);
    expect(c.events.length).toBeGreaterThan(5);
    for (let i = 0; i < c.events.length; i++) {
      const e = c.events[i];
      expect(Number.isInteger(e.followers) && e.followers >= 1).toBe(true);
      expect(e.time).toBeGreaterThan(0);
      expect(e.time).toBeLessThanOrEqual(3600);
      if (i > 0) expect(e.time).toBeGreaterThanOrEqual(c.events[i - 1].time);
    }
  });

  it('refuses to run away when supercritical', () => {
    expect(() => generateHawkesCascade({ K: 2, beta: 0, thetaPerSecond: 1, maxEvents: 1000, rootFollowers: 1 }, Rng.fromSeed(1))).toThrow(/exceeded maxEvents/);
  });
});
