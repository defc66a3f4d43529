import { describe, expect, it } from '@jest/globals';
import { applyRule, planDopri5, rateAt, rk4Rule } from './quadrature.js';

// Exact sizes A * Gamma(g+1) * P(g+1, l*P) / l^(g+1) at P = 12, 24, 360 h, from
// python3: from scipy.special import gamma, gammainc; A*gamma(g+1)*gammainc(g+1, l*P)/l**(g+1)
const CASES = [
  { A: 2.0, gamma: 0.7, lambda: 0.1, exact: [39.58169569471247, 69.82850017904644, 91.07962657706587] },
  { A: 0.5, gamma: 1.5, lambda: 0.02, exact: [84.1602290283668, 402.7004271129727, 11594.033903369635] },
  { A: 3.0, gamma: 0.3, lambda: 1.2, exact: [2.1242483992488954, 2.1242513944126156, 2.1242513944146513] },
];
const HORIZONS = [12, 24, 360];

describe('rk4Rule', () => {
  it('converges to the closed form as the step shrinks (error falls by more than 2^(1+gamma) per halving)', () => {
    const c = CASES[0]; // gamma 0.7: the error is O(h^1.7) near t = 0, where t^gamma is not smooth
    const rate = (t: number) => rateAt(c.A, c.gamma, c.lambda, t);
    const errors = [0.4, 0.2, 0.1].map((h) => Math.abs(applyRule(rk4Rule(HORIZONS, h), rate)[1] - c.exact[1]) / c.exact[1]);
    expect(errors[2]).toBeLessThan(1e-3);
    expect(errors[0] / errors[1]).toBeGreaterThan(3);
    expect(errors[1] / errors[2]).toBeGreaterThan(3);
  });

  it('integrates each horizon on its own: a size does not depend on the other horizons asked for', () => {
    const c = CASES[1];
    const rate = (t: number) => rateAt(c.A, c.gamma, c.lambda, t);
    const together = applyRule(rk4Rule([360, 13.3, 24], 0.36), rate);
    expect(applyRule(rk4Rule([13.3], 0.36), rate)[0]).toBe(together[1]);
    expect(applyRule(rk4Rule([24], 0.36), rate)[0]).toBe(together[2]);
    expect(Math.abs(together[0] - c.exact[2]) / c.exact[2]).toBeLessThan(1e-4);
  });
});

describe('planDopri5', () => {
  it('integrates A t^gamma e^(-lambda t) to the closed form within the tolerance', () => {
    const options = { relativeTolerance: 1e-6, absoluteTolerance: 1e-6, maxSteps: 5000 };
    const rule = planDopri5({ A: CASES.map((c) => c.A), gamma: CASES.map((c) => c.gamma), lambda: CASES.map((c) => c.lambda) }, HORIZONS, options);
    for (const c of CASES) {
      const sizes = applyRule(rule, (t) => rateAt(c.A, c.gamma, c.lambda, t));
      for (let j = 0; j < HORIZONS.length; j++) expect(Math.abs(sizes[j] - c.exact[j]) / c.exact[j]).toBeLessThan(1e-4);
    }
  });

  it('puts horizons in any order and shares one step sequence across the batch', () => {
    const options = { relativeTolerance: 1e-5, absoluteTolerance: 1e-5, maxSteps: 5000 };
    const c = CASES[0];
    const rule = planDopri5({ A: [c.A], gamma: [c.gamma], lambda: [c.lambda] }, [360, 12, 24], options);
    const sizes = applyRule(rule, (t) => rateAt(c.A, c.gamma, c.lambda, t));
    expect(sizes[0]).toBeCloseTo(c.exact[2], 2);
    expect(sizes[1]).toBeCloseTo(c.exact[0], 2);
    expect(sizes[2]).toBeCloseTo(c.exact[1], 2);
  });

  it('takes fewer steps at a looser tolerance, and fails with a clear error past the step budget', () => {
    const p = { A: [CASES[1].A], gamma: [CASES[1].gamma], lambda: [CASES[1].lambda] };
    const tight = planDopri5(p, HORIZONS, { relativeTolerance: 1e-8, absoluteTolerance: 1e-8, maxSteps: 5000 });
    const loose = planDopri5(p, HORIZONS, { relativeTolerance: 1e-3, absoluteTolerance: 1e-3, maxSteps: 5000 });
    expect(loose.acceptedSteps).toBeLessThan(tight.acceptedSteps);
    expect(() => planDopri5(p, HORIZONS, { relativeTolerance: 1e-8, absoluteTolerance: 1e-8, maxSteps: 5 })).toThrow(/more than 5 steps/);
  });

  it('rejects horizons that are not positive', () => {
    expect(() => planDopri5({ A: [1], gamma: [1], lambda: [1] }, [0], { relativeTolerance: 1e-3, absoluteTolerance: 1e-3, maxSteps: 10 })).toThrow(/> 0 hours/);
  });
});
