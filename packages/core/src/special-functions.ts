/**
 * Special functions in float64 on plain numbers, one copy for every package: log Gamma (Lanczos),
 * digamma, and the regularized lower incomplete gamma function P(a, x) with its exact partial
 * derivatives (Numerical Recipes 3rd ed. §6.1-6.2: the series for x < a + 1, the modified-Lentz
 * continued fraction otherwise; the a-derivative carried through both by forward-mode
 * differentiation). tensor-ops wraps them as differentiable tensor ops (GammaCas' size integral);
 * the synthetic generators and closed-form baselines call them directly.
 */
import { CascadeError } from './errors.js';

const EPS = 1e-15;
const FPMIN = 1e-300;
const MAX_ITERATIONS = 100_000;

// Lanczos approximation, g = 7, n = 9 (Godfrey's coefficients); relative error below 1e-15.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln |Gamma(z)| for real z (not a non-positive integer), float64. */
export function logGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - logGamma(1 - z); // reflection
  const x = z - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (x + i);
  const t = x + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The digamma function psi(z) = d/dz ln Gamma(z) for z > 0, float64 (recurrence, then the asymptotic series). */
export function digamma(z: number): number {
  let result = 0;
  let x = z;
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  const inv2 = 1 / (x * x);
  // ln x - 1/(2x) - sum B_2k / (2k x^2k), Bernoulli numbers B2..B12.
  const tail = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - inv2 * (691 / 32760))))));
  return result + Math.log(x) - 0.5 / x - tail;
}

function notConverged(what: string, a: number, x: number): never {
  throw new CascadeError('MODEL', `${what} did not converge in ${MAX_ITERATIONS} iterations for a=${a}, x=${x}`);
}

/**
 * Series sum S(a, x) = sum_n x^n / (a (a+1) ... (a+n)) and its a-derivative; converges for every
 * x >= 0, quickly when x < a + 1. Then gamma(a, x) = x^a e^-x S(a, x).
 */
export function incompleteGammaSeries(a: number, x: number): { s: number; ds: number } {
  let term = 1 / a;
  let dlogTerm = -1 / a; // d/da ln(term_n) = -sum_{k=0..n} 1/(a+k)
  let s = term;
  let ds = term * dlogTerm;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    dlogTerm -= 1 / (a + n);
    s += term;
    ds += term * dlogTerm;
    if (term < s * EPS && Math.abs(term * dlogTerm) <= Math.abs(ds) * EPS) return { s, ds };
  }
  return notConverged('incomplete gamma series', a, x);
}

/**
 * Continued fraction F(a, x) with Gamma(a, x) = x^a e^-x F(a, x) (upper incomplete gamma), for
 * x >= a + 1, by the modified Lentz method, together with dF/da (dual numbers through the recursion).
 */
export function incompleteGammaContinuedFraction(a: number, x: number): { f: number; df: number } {
  let b = x + 1 - a;
  const db = -1;
  let c = 1 / FPMIN;
  let dc = 0;
  let d = 1 / b;
  let dd = -db / (b * b);
  let h = d;
  let dh = dd;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    const dan = i;
    b += 2;
    let dNew = an * d + b;
    let ddNew = dan * d + an * dd + db;
    if (Math.abs(dNew) < FPMIN) {
      dNew = FPMIN;
      ddNew = 0;
    }
    let cNew = b + an / c;
    let dcNew = db + (dan * c - an * dc) / (c * c);
    if (Math.abs(cNew) < FPMIN) {
      cNew = FPMIN;
      dcNew = 0;
    }
    d = 1 / dNew;
    dd = -ddNew / (dNew * dNew);
    c = cNew;
    dc = dcNew;
    const del = d * c;
    const ddel = dd * c + d * dc;
    const hOld = h;
    h *= del;
    dh = dh * del + hOld * ddel;
    if (Math.abs(del - 1) < EPS && Math.abs(ddel) < EPS * Math.max(1, Math.abs(dh / h))) return { f: h, df: dh };
  }
  return notConverged('incomplete gamma continued fraction', a, x);
}

export interface GammaPResult {
  /** P(a, x) */
  value: number;
  /** dP/da */
  da: number;
  /** dP/dx */
  dx: number;
}

/** P(a, x) = gamma(a, x) / Gamma(a) with its partial derivatives, float64; a > 0, x >= 0. */
export function regularizedLowerGammaF64(a: number, x: number): GammaPResult {
  if (Number.isNaN(a) || Number.isNaN(x)) return { value: NaN, da: NaN, dx: NaN };
  if (!(a > 0) || !(x >= 0)) throw new CascadeError('MODEL', `regularizedLowerGamma: needs a > 0 and x >= 0, got a=${a}, x=${x}`);
  if (x === Infinity) return { value: 1, da: 0, dx: 0 };
  if (x === 0) return { value: 0, da: 0, dx: a < 1 ? Infinity : a === 1 ? 1 : 0 };
  const lgA = logGamma(a);
  const logPrefix = a * Math.log(x) - x - lgA; // ln(x^a e^-x / Gamma(a))
  const dx = Math.exp((a - 1) * Math.log(x) - x - lgA);
  if (x < a + 1) {
    const { s, ds } = incompleteGammaSeries(a, x);
    const value = Math.exp(logPrefix + Math.log(s));
    return { value, da: value * (Math.log(x) - digamma(a) + ds / s), dx };
  }
  const { f, df } = incompleteGammaContinuedFraction(a, x);
  const q = Math.exp(logPrefix + Math.log(f));
  const dq = q * (Math.log(x) - digamma(a) + df / f);
  return { value: 1 - q, da: -dq, dx };
}

/** P(a, x), the regularized lower incomplete gamma function (a > 0, x >= 0), float64. */
export function regularizedLowerGamma(a: number, x: number): number {
  return regularizedLowerGammaF64(a, x).value;
}
