import { Rng } from '@cascade-lab/core';
import { transmissionGraph } from './graph.js';
import { ContinuousTimeSimulator } from './simulators.js';
import { DELAY_DISTRIBUTIONS, unitCumulativeHazard, unitHazard } from './continuous-time.js';

const N = 10000;
const tol = (p: number): number => 4.5 * Math.sqrt((p * (1 - p)) / N);

function infectedFraction(seq: Int32Array, budget: number, u: number): number {
  let n = 0;
  for (let s = 0; s < N; s++) for (let k = 0; k < budget; k++) if (seq[s * budget + k] === u) n++;
  return n / N;
}

describe('continuous-time cascade against closed forms (NetRate delay models)', () => {
  const edge = transmissionGraph(4, [2], [3], [0.5]);

  it('exponential: P(infected by T) = 1 - e^(-alpha T)', async () => {
    const [r] = await new ContinuousTimeSimulator({ graph: edge, delay: 'exponential' }, { horizon: 2 }).simulate([{ seeds: [2], budget: 1, simulations: N }], Rng.fromSeed('exp'));
    // 1 - e^(-0.5 * 2) = 1 - e^-1 = 0.6321205588285577
    expect(Math.abs(infectedFraction(r.sequences, 1, 3) - 0.6321205588285577)).toBeLessThan(tol(0.632));
  });

  it('Rayleigh: P(infected by T) = 1 - e^(-alpha T^2 / 2)', async () => {
    const [r] = await new ContinuousTimeSimulator({ graph: edge, delay: 'rayleigh' }, { horizon: 2 }).simulate([{ seeds: [2], budget: 1, simulations: N }], Rng.fromSeed('ray'));
    // 1 - e^(-0.5 * 4 / 2) = 1 - e^-1
    expect(Math.abs(infectedFraction(r.sequences, 1, 3) - 0.6321205588285577)).toBeLessThan(tol(0.632));
  });

  it('power-law: P(infected by T) = 1 - (T / delta)^-alpha, and no delay below delta', async () => {
    const g = transmissionGraph(4, [2], [3], [1.5]);
    const sim = new ContinuousTimeSimulator({ graph: g, delay: 'power-law', powerLawMinDelay: 1 }, { horizon: 3 });
    const [r] = await sim.simulateWithTimes([{ seeds: [2], budget: 1, simulations: N }], Rng.fromSeed('pl'));
    // 1 - 3^-1.5 = 0.8075499102701247
    expect(Math.abs(infectedFraction(r.sequences, 1, 3) - 0.8075499102701247)).toBeLessThan(tol(0.8075));
    for (let s = 0; s < N; s++) if (r.sequences[s] === 3) expect(r.times[s]).toBeGreaterThanOrEqual(1);
  });

  it('path 2 -> 3 -> 4 with rates 1 and 2: the hypoexponential CDF', async () => {
    const g = transmissionGraph(5, [2, 3], [3, 4], [1, 2]);
    const [r] = await new ContinuousTimeSimulator({ graph: g, delay: 'exponential' }, { horizon: 1.5 }).simulate([{ seeds: [2], budget: 2, simulations: N }], Rng.fromSeed('hypo'));
    // P(D1 + D2 <= T) = 1 - (b e^(-aT) - a e^(-bT)) / (b - a), a = 1, b = 2, T = 1.5 -> 0.6035267480710043
    expect(Math.abs(infectedFraction(r.sequences, 2, 4) - 0.6035267480710043)).toBeLessThan(tol(0.6035));
  });

  it('star with rates 1, 2, 3: the first infected leaf is leaf i with probability a_i / 6; rows in time order', async () => {
    const g = transmissionGraph(6, [2, 2, 2], [3, 4, 5], [1, 2, 3]);
    const sim = new ContinuousTimeSimulator({ graph: g, delay: 'exponential' });
    const [r] = await sim.simulateWithTimes([{ seeds: [2], budget: 3, simulations: N }], Rng.fromSeed('race'));
    for (const [leaf, p] of [[3, 1 / 6], [4, 2 / 6], [5, 3 / 6]] as const) {
      let first = 0;
      for (let s = 0; s < N; s++) if (r.sequences[s * 3] === leaf) first++;
      expect(Math.abs(first / N - p)).toBeLessThan(tol(p));
    }
    for (let s = 0; s < N; s++) {
      expect(r.times[s * 3]).toBeLessThanOrEqual(r.times[s * 3 + 1]);
      expect(r.times[s * 3 + 1]).toBeLessThanOrEqual(r.times[s * 3 + 2]);
    }
  });

  it('takes the earliest of several arrivals (min over infectors)', async () => {
    // 4 is reached directly (2 -> 4, rate 1) or through 3 (2 -> 3 rate 1000, 3 -> 4 rate 1), horizon 1:
    // P = 1 - P(direct > 1) P(path > 1) = 1 - e^-1 (1000 e^-1 - e^-1000) / 999 -> 0.8645292460093967 (numpy)
    const g = transmissionGraph(5, [2, 2, 3], [3, 4, 4], [1000, 1, 1]);
    const [r] = await new ContinuousTimeSimulator({ graph: g, delay: 'exponential' }, { horizon: 1 }).simulate([{ seeds: [2], budget: 2, simulations: N }], Rng.fromSeed('min'));
    expect(Math.abs(infectedFraction(r.sequences, 2, 4) - 0.8645292460093967)).toBeLessThan(tol(0.8645));
  });

  it('uses per-edge delay kinds; rate 0 never transmits', async () => {
    const g = transmissionGraph(5, [2, 2, 3], [3, 4, 4], [1, 1, 0]);
    const kinds = Uint8Array.from([0, 2, 1]); // exponential, rayleigh, power-law
    const [r] = await new ContinuousTimeSimulator({ graph: g, delay: kinds }, { horizon: 1 }).simulate([{ seeds: [2], budget: 2, simulations: N }], Rng.fromSeed('kinds'));
    // 4 only via the Rayleigh edge: 1 - e^(-1/2) = 0.3934693402873666
    expect(Math.abs(infectedFraction(r.sequences, 2, 4) - 0.3934693402873666)).toBeLessThan(tol(0.3935));
    expect(() => new ContinuousTimeSimulator({ graph: g, delay: Uint8Array.from([0]) })).toThrow(/1 delay kinds for 3 edges/);
    expect(() => new ContinuousTimeSimulator({ graph: g, delay: 'weibull' as never })).toThrow(/unknown delay distribution/);
  });
});

describe('delay models per unit rate: the pieces of the NetRate likelihood', () => {
  // Survival S(dt) = exp(-alpha * unitCumulativeHazard) must be the closed forms of the module
  // comment, and alpha * unitHazard the density over the survival (checked by a central difference
  // of ln S).
  const alpha = 0.7;
  const delta = 0.5;
  const closed: Record<string, (t: number) => number> = {
    exponential: (t) => Math.exp(-alpha * t),
    'power-law': (t) => Math.pow(t / delta, -alpha),
    rayleigh: (t) => Math.exp((-alpha * t * t) / 2),
  };
  it.each(DELAY_DISTRIBUTIONS.map((d, k) => [d, k] as const))('%s', (name, kind) => {
    for (const t of [0.6, 1, 2.5, 7]) {
      expect(Math.exp(-alpha * unitCumulativeHazard(kind, t, delta))).toBeCloseTo(closed[name](t), 12);
      const h = 1e-6;
      const hazard = -(Math.log(closed[name](t + h)) - Math.log(closed[name](t - h))) / (2 * h);
      expect(alpha * unitHazard(kind, t, delta)).toBeCloseTo(hazard, 6);
    }
    expect(unitCumulativeHazard(kind, 0, delta)).toBe(0);
    expect(unitHazard(kind, -1, delta)).toBe(0);
  });
  it('power-law: no hazard and no survival loss below delta', () => {
    expect(unitHazard(1, 0.4, delta)).toBe(0);
    expect(unitCumulativeHazard(1, 0.4, delta)).toBe(0);
  });
});
