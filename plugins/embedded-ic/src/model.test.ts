import { Rng } from '@cascade-lab/core';
import {
  cascadeLogLikelihood,
  cascadeLogLikelihoodReference,
  cascadeUsers,
  initialParameters,
  sampleNegatives,
  transmissionProbability,
  zeroGradient,
  type EmbeddedIcParameters,
  type ParentRule,
} from './model.js';

/**
 * Three users 2, 3, 4 (vocabulary of 5: 0 and 1 reserved), d = 1, chosen so that the
 * probabilities are round numbers:
 *   w_2 = 0, w_3 = 1;  z_3 = 0, z_3_0 = ln 3   ->  s(2,3) = ln 3,            p(2 -> 3) = 1/4
 *   z_4 = x = (1 + ln 4) / 2, z_4_0 = -(x - 1)^2 ->  s(2,4) = x^2 - (x-1)^2 = 2x - 1 = ln 4, p(2 -> 4) = 1/5
 *                                                    s(3,4) = 0,               p(3 -> 4) = 1/2
 */
function handParameters(): EmbeddedIcParameters {
  const x = (1 + Math.log(4)) / 2;
  return {
    numUsers: 5,
    dimension: 1,
    senders: Float64Array.from([0, 0, 0, 1, 0]),
    receivers: Float64Array.from([0, 0, 0, 0, x]),
    receiverBias: Float64Array.from([0, 0, 0, Math.log(3), -((x - 1) ** 2)]),
  };
}

describe('embedded-ic likelihood: the hand-worked 3-user example', () => {
  const p = handParameters();

  it('gives the chosen transmission probabilities', () => {
    expect(transmissionProbability(p, 2, 3)).toBeCloseTo(1 / 4, 14);
    expect(transmissionProbability(p, 2, 4)).toBeCloseTo(1 / 5, 14);
    expect(transmissionProbability(p, 3, 4)).toBeCloseTo(1 / 2, 14);
  });

  it('cascade (2, 3, 4): ln P_3 + ln P_4 = ln(1/4) + ln(1 - (4/5)(1/2)) = ln(1/4) + ln(3/5)', () => {
    for (const f of [cascadeLogLikelihood, cascadeLogLikelihoodReference]) {
      const r = f(p, [2, 3, 4], [], 1);
      expect(r.infected).toBeCloseTo(Math.log(1 / 4) + Math.log(3 / 5), 12);
      expect(r.escaped).toBe(0);
    }
  });

  it('EM posteriors in the bias gradient: dLL/dz_4_0 = (p24 - q24) + (p34 - q34) = (1/5 - 1/3) + (1/2 - 5/6) = -7/15; dLL/dz_3_0 = 1/4 - 1 = -3/4', () => {
    // q24 = (1/5) / (3/5) = 1/3, q34 = (1/2) / (3/5) = 5/6: who infected 4, given 2 and 3 were infected before.
    const grad = zeroGradient(p);
    cascadeLogLikelihood(p, [2, 3, 4], [], 1, grad);
    expect(grad.receiverBias[4]).toBeCloseTo(-7 / 15, 12);
    expect(grad.receiverBias[3]).toBeCloseTo(-3 / 4, 12);
  });

  it('cascade (2, 3) with 4 never infected: escaped term ln(4/5) + ln(1/2), and its weight', () => {
    const r = cascadeLogLikelihood(p, [2, 3], [4], 3);
    expect(r.infected).toBeCloseTo(Math.log(1 / 4), 12);
    expect(r.escaped).toBeCloseTo(3 * (Math.log(4 / 5) + Math.log(1 / 2)), 12);
    // d ln(1 - p)/ds = p: dLL/dz_4_0 = 3 (1/5 + 1/2) = 2.1.
    const grad = zeroGradient(p);
    cascadeLogLikelihood(p, [2, 3], [4], 3, grad);
    expect(grad.receiverBias[4]).toBeCloseTo(2.1, 12);
  });
});

describe('embedded-ic likelihood with a parent window: the same 3-user example', () => {
  const p = handParameters();
  it('window 1: each user infected by the one just before it: ln p(2->3) + ln p(3->4) = ln(1/4) + ln(1/2)', () => {
    const rule: ParentRule = { window: 1, earlierFailed: false };
    expect(cascadeLogLikelihood(p, [2, 3, 4], [], 1, undefined, undefined, rule).infected).toBeCloseTo(Math.log(1 / 4) + Math.log(1 / 2), 12);
    expect(cascadeLogLikelihoodReference(p, [2, 3, 4], [], 1, undefined, rule).infected).toBeCloseTo(Math.log(1 / 4) + Math.log(1 / 2), 12);
  });
  it('window 1, earlier users failed: adds ln(1 - p(2->4)) = ln(4/5); dLL/dz_4_0 = (p34 - 1) + p24 = -1/2 + 1/5 = -3/10', () => {
    const rule: ParentRule = { window: 1, earlierFailed: true };
    const r = cascadeLogLikelihood(p, [2, 3, 4], [], 1, undefined, undefined, rule);
    expect(r.infected).toBeCloseTo(Math.log(1 / 4) + Math.log(1 / 2) + Math.log(4 / 5), 12);
    expect(cascadeLogLikelihoodReference(p, [2, 3, 4], [], 1, undefined, rule).infected).toBeCloseTo(r.infected, 12);
    // q34 = 1 (sole parent): d ln P_4 / ds34 = p34 - 1; d ln(1 - p24) / ds24 = p24.
    const grad = zeroGradient(p);
    cascadeLogLikelihood(p, [2, 3, 4], [], 1, grad, undefined, rule);
    expect(grad.receiverBias[4]).toBeCloseTo(-3 / 10, 12);
  });
  it('a window at least the cascade length is every earlier user', () => {
    const a = cascadeLogLikelihood(p, [2, 3, 4], [], 1, undefined, undefined, { window: 5, earlierFailed: true });
    expect(a.infected).toBeCloseTo(Math.log(1 / 4) + Math.log(3 / 5), 12);
  });
});

describe.each<[string, ParentRule]>([
  ['every earlier user', { window: 0, earlierFailed: false }],
  ['window 2', { window: 2, earlierFailed: false }],
  ['window 2, earlier users failed', { window: 2, earlierFailed: true }],
])('embedded-ic gradient (%s)', (_name, rule) => {
  const numUsers = 9;
  const d = 3;
  const p = initialParameters(numUsers, d, Rng.fromSeed(11), 0.8, 0.2);
  for (let i = 0; i < p.receiverBias.length; i++) p.receiverBias[i] += Rng.fromSeed(100 + i).uniform(-1, 1);
  const users = [5, 2, 7, 3, 8];
  const negatives = [4, 6];
  const weight = 2.5;
  const total = (q: EmbeddedIcParameters) => {
    const r = cascadeLogLikelihoodReference(q, users, negatives, weight, undefined, rule);
    return r.infected + r.escaped;
  };

  it('the fast form equals the per-pair reference (value and gradient)', () => {
    const g1 = zeroGradient(p);
    const g2 = zeroGradient(p);
    const a = cascadeLogLikelihood(p, users, negatives, weight, g1, undefined, rule);
    const b = cascadeLogLikelihoodReference(p, users, negatives, weight, g2, rule);
    expect(a.infected).toBeCloseTo(b.infected, 12);
    expect(a.escaped).toBeCloseTo(b.escaped, 12);
    for (const key of ['senders', 'receivers', 'receiverBias'] as const) {
      for (let i = 0; i < g1[key].length; i++) expect(g1[key][i]).toBeCloseTo(g2[key][i], 11);
    }
  });

  it('matches central finite differences of the log-likelihood in every parameter', () => {
    const grad = zeroGradient(p);
    cascadeLogLikelihood(p, users, negatives, weight, grad, undefined, rule);
    const h = 1e-6;
    let checked = 0;
    for (const key of ['senders', 'receivers', 'receiverBias'] as const) {
      const theta = p[key];
      for (let i = 0; i < theta.length; i++) {
        const keep = theta[i];
        theta[i] = keep + h;
        const up = total(p);
        theta[i] = keep - h;
        const down = total(p);
        theta[i] = keep;
        const fd = (up - down) / (2 * h);
        // Central differences: truncation O(h^2), rounding ~ 1e-16 |LL| / h ~ 1e-9.
        expect(Math.abs(grad[key][i] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
        if (grad[key][i] !== 0) checked++;
      }
    }
    // Reserved users 0 and 1 and unused rows have no gradient; the used ones all do.
    expect(checked).toBeGreaterThan(20);
  });
});

describe('embedded-ic data helpers', () => {
  it('cascadeUsers keeps first infections of real users, in order', () => {
    expect(Array.from(cascadeUsers([{ user: 4 }, { user: 2 }, { user: 4 }, { user: 1 }, { user: 3 }]))).toEqual([4, 2, 3]);
  });

  it('negatives: every never-infected user with weight 1, or k distinct ones outside the cascade with weight N / k', () => {
    const stamp = new Int32Array(12);
    const users = Int32Array.from([3, 5, 9]);
    const all = sampleNegatives(12, users, 0, Rng.fromSeed(1), stamp, 1);
    expect(Array.from(all.negatives)).toEqual([2, 4, 6, 7, 8, 10, 11]);
    expect(all.weight).toBe(1);
    const some = sampleNegatives(12, users, 3, Rng.fromSeed(1), stamp, 2);
    expect(new Set(some.negatives).size).toBe(3);
    for (const v of some.negatives) expect([2, 4, 6, 7, 8, 10, 11]).toContain(v);
    expect(some.weight).toBeCloseTo(7 / 3, 14);
  });

  it('sampled negatives estimate the exact never-infected term without bias (mean of 4000 draws within 5 standard errors)', () => {
    const p = initialParameters(12, 2, Rng.fromSeed(3), 1, 0.3);
    const users = Int32Array.from([3, 5, 9]);
    const stamp = new Int32Array(12);
    const exact = cascadeLogLikelihood(p, users, sampleNegatives(12, users, 0, Rng.fromSeed(0), stamp, 1).negatives, 1).escaped;
    const rng = Rng.fromSeed(4);
    const draws: number[] = [];
    for (let t = 0; t < 4000; t++) {
      const s = sampleNegatives(12, users, 2, rng, stamp, t + 2);
      draws.push(cascadeLogLikelihood(p, users, s.negatives, s.weight).escaped);
    }
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    const sd = Math.sqrt(draws.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws.length - 1));
    expect(Math.abs(mean - exact)).toBeLessThan((5 * sd) / Math.sqrt(draws.length));
  });
});
