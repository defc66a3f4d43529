import { describe, expect, it } from '@jest/globals';
import { digamma, logGamma, regularizedLowerGamma, regularizedLowerGammaF64 } from './special-functions.js';

// Expected values: scipy 1.x, computed once here with
// scipy.special.gammaln(0.3), gammaln(50.5), gammaln(-2.5); psi(0.7), psi(12.0);
// gammainc(2.5, 1.0), gammainc(2.5, 10.0), gammainc(0.4, 30.0).
const close = (actual: number, expected: number, rel = 1e-13) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));

describe('special functions (one copy for every package)', () => {
  it('log Gamma, with the reflection for arguments below 1/2 (|Gamma| for negative non-integers)', () => {
    close(logGamma(0.3), 1.0957979948180756);
    close(logGamma(50.5), 146.51925549072064);
    close(logGamma(-2.5), -0.05624371649767401);
    // Gamma(5) = 24 (hand).
    close(logGamma(5), Math.log(24));
  });

  it('digamma', () => {
    close(digamma(0.7), -1.2200235536979347, 1e-12);
    close(digamma(12), 2.4426616799758123, 1e-12);
  });

  it('regularized lower incomplete gamma on both sides of x = a + 1, and its derivatives', () => {
    close(regularizedLowerGamma(2.5, 1), 0.15085496391539038);
    close(regularizedLowerGamma(2.5, 10), 0.9987502694369687);
    close(regularizedLowerGamma(0.4, 30), 0.9999999999999947);
    // P(1, x) = 1 - e^-x, dP/dx = e^-x (closed forms).
    const r = regularizedLowerGammaF64(1, 0.7);
    close(r.value, 1 - Math.exp(-0.7));
    close(r.dx, Math.exp(-0.7));
    // dP/da by a central difference.
    const h = 1e-6;
    close(regularizedLowerGammaF64(2.5, 1).da, (regularizedLowerGamma(2.5 + h, 1) - regularizedLowerGamma(2.5 - h, 1)) / (2 * h), 1e-8);
    expect(() => regularizedLowerGamma(0, 1)).toThrow(/needs a > 0/);
  });
});
