import { rowSharpness } from './diagnostics.js';

describe('sharpness of a next-user row', () => {
  it('matches a hand calculation', () => {
    // Open logits 0, 0, ln 2 (users 2, 3, 4): probabilities 1/4, 1/4, 1/2.
    const row = Float32Array.from([-Infinity, -Infinity, 0, 0, Math.LN2]);
    const s = rowSharpness(row, 2);
    // entropy -(2 * 1/4 ln 1/4 + 1/2 ln 1/2) = 1.5 ln 2
    expect(s.entropy).toBeCloseTo(1.5 * Math.LN2, 6);
    expect(s.nll).toBeCloseTo(Math.log(4), 6);
    expect(s.pTrue).toBeCloseTo(0.25, 6);
    expect(s.top).toBeCloseTo(0.5, 6);
    // one open logit above the target's: rank 2
    expect(s.rank).toBe(2);
    // std of (0, 0, ln 2): sqrt((ln 2)^2 / 3 - (ln 2 / 3)^2) = ln 2 sqrt(2) / 3
    expect(s.std).toBeCloseTo((Math.LN2 * Math.SQRT2) / 3, 6);
  });
});
