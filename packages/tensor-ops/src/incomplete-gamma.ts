/**
 * The regularized lower incomplete gamma function P(a, x) and the GammaCas size integral
 * I(a, lambda, P) = integral_0^P t^(a-1) e^(-lambda t) dt, both differentiable in every argument.
 *
 * tfjs has no lgamma/digamma kernels and float32 is too coarse for the series and continued
 * fraction, so values and exact partial derivatives are computed on the host in float64 (Numerical
 * Recipes §6.2: the series for x < a + 1, the modified-Lentz continued fraction otherwise; the
 * a-derivative is carried through both by forward-mode differentiation) and wrapped in
 * `tf.customGrad`. Each call reads its inputs once (one device sync), which is negligible next to
 * a model step for the sizes GammaCas uses (batch x horizons).
 */
import { CascadeError } from '@cascade-lab/core';
import { tf } from './tf.js';

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
export function lgamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - lgamma(1 - z); // reflection
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
function gammaSeries(a: number, x: number): { s: number; ds: number } {
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
function gammaContinuedFraction(a: number, x: number): { f: number; df: number } {
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
  const lgA = lgamma(a);
  const logPrefix = a * Math.log(x) - x - lgA; // ln(x^a e^-x / Gamma(a))
  const dx = Math.exp((a - 1) * Math.log(x) - x - lgA);
  if (x < a + 1) {
    const { s, ds } = gammaSeries(a, x);
    const value = Math.exp(logPrefix + Math.log(s));
    return { value, da: value * (Math.log(x) - digamma(a) + ds / s), dx };
  }
  const { f, df } = gammaContinuedFraction(a, x);
  const q = Math.exp(logPrefix + Math.log(f));
  const dq = q * (Math.log(x) - digamma(a) + df / f);
  return { value: 1 - q, da: -dq, dx };
}

export interface GammaIntegralResult {
  /** I(a, lambda, P) = integral_0^P t^(a-1) e^(-lambda t) dt */
  value: number;
  da: number;
  dLambda: number;
  dP: number;
}

function gammaIntegralValue(a: number, lambda: number, p: number): { value: number; da: number } {
  if (p === 0) return { value: 0, da: 0 };
  const x = lambda * p;
  if (x < a + 1) {
    // I = P^a e^-x S(a, x): stable down to lambda = 0, where it is P^a / a.
    const { s, ds } = gammaSeries(a, x);
    const value = Math.exp(a * Math.log(p) - x + Math.log(s));
    return { value, da: Math.log(p) * value + value * (ds / s) };
  }
  // I = lambda^-a Gamma(a) (1 - Q(a, x)); here lambda >= (a + 1) / P, away from 0.
  const { f, df } = gammaContinuedFraction(a, x);
  const scale = Math.exp(lgamma(a) - a * Math.log(lambda));
  const q = Math.exp(a * Math.log(x) - x - lgamma(a) + Math.log(f));
  const dq = q * (Math.log(x) - digamma(a) + df / f);
  const value = scale * (1 - q);
  return { value, da: value * (digamma(a) - Math.log(lambda)) - scale * dq };
}

/**
 * I(a, lambda, P) = integral_0^P t^(a-1) e^(-lambda t) dt = lambda^-a Gamma(a) P(a, lambda P)
 * (= P^a / a at lambda = 0) and its partial derivatives: dI/dP = P^(a-1) e^(-lambda P),
 * dI/dlambda = -I(a + 1, lambda, P). Float64; a > 0, lambda >= 0, P >= 0.
 */
export function gammaIntegralF64(a: number, lambda: number, p: number): GammaIntegralResult {
  if (Number.isNaN(a) || Number.isNaN(lambda) || Number.isNaN(p)) return { value: NaN, da: NaN, dLambda: NaN, dP: NaN };
  if (!(a > 0) || !(lambda >= 0) || !(p >= 0) || !Number.isFinite(lambda)) {
    throw new CascadeError('MODEL', `gammaRateIntegral: needs gamma > -1, lambda >= 0 (finite) and horizon >= 0, got gamma=${a - 1}, lambda=${lambda}, horizon=${p}`);
  }
  const { value, da } = gammaIntegralValue(a, lambda, p);
  const dLambda = -gammaIntegralValue(a + 1, lambda, p).value;
  const dP = p === 0 ? (a < 1 ? Infinity : a === 1 ? 1 : 0) : Math.exp((a - 1) * Math.log(p) - lambda * p);
  return { value, da, dLambda, dP };
}

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

function broadcastAll(tensors: tf.Tensor[]): tf.Tensor[] {
  let shape: number[] = [];
  for (const t of tensors) shape = tf.broadcast_util.assertAndGetBroadcastShape(shape, t.shape);
  return tensors.map((t) => tf.broadcastTo(t, shape));
}

const lowerGammaKernel = tf.customGrad(((a: tf.Tensor, x: tf.Tensor, save: tf.GradSaveFunc) => {
  const av = a.dataSync();
  const xv = x.dataSync();
  const value = new Float32Array(av.length);
  const da = new Float32Array(av.length);
  const dx = new Float32Array(av.length);
  for (let i = 0; i < av.length; i++) {
    const r = regularizedLowerGammaF64(av[i], xv[i]);
    value[i] = r.value;
    da[i] = r.da;
    dx[i] = r.dx;
  }
  const daT = tf.tensor(da, a.shape);
  const dxT = tf.tensor(dx, a.shape);
  save([daT, dxT]);
  return {
    value: tf.tensor(value, a.shape),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0]), tf.mul(dy, saved[1])],
  };
}) as unknown as CustomGradientFunc);

/**
 * The regularized lower incomplete gamma function P(a, x) = (1/Gamma(a)) integral_0^x t^(a-1) e^-t dt
 * (scipy.special.gammainc), elementwise with broadcasting; a > 0, x >= 0. Gradients in a and x are
 * exact (computed in float64).
 */
export function regularizedLowerGamma(a: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [ab, xb] = broadcastAll([a, x]);
    return lowerGammaKernel(ab, xb);
  });
}

const gammaIntegralKernel = tf.customGrad(((a: tf.Tensor, lambda: tf.Tensor, p: tf.Tensor, save: tf.GradSaveFunc) => {
  const av = a.dataSync();
  const lv = lambda.dataSync();
  const pv = p.dataSync();
  const n = av.length;
  const value = new Float32Array(n);
  const da = new Float32Array(n);
  const dl = new Float32Array(n);
  const dp = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = gammaIntegralF64(av[i], lv[i], pv[i]);
    value[i] = r.value;
    da[i] = r.da;
    dl[i] = r.dLambda;
    dp[i] = r.dP;
  }
  save([tf.tensor(da, a.shape), tf.tensor(dl, a.shape), tf.tensor(dp, a.shape)]);
  return {
    value: tf.tensor(value, a.shape),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => saved.map((s) => tf.mul(dy, s)),
  };
}) as unknown as CustomGradientFunc);

/**
 * Closed-form cascade size at each horizon for the rate r(t) = A t^gamma e^(-lambda t) (GammaCas
 * paper Eq. 5): N(P) = A lambda^-(gamma+1) Gamma(gamma+1) P(gamma+1, lambda P), which is
 * A P^(gamma+1) / (gamma+1) at lambda = 0.
 *
 * `amplitude`, `gamma` and `lambda` share a shape S (or broadcast to one); `horizons` is a list of
 * P values (same time unit as 1/lambda). Returns shape [...S, horizons.length]. Differentiable in
 * amplitude, gamma and lambda (and in horizons when given as a tensor).
 */
export function gammaRateIntegral(amplitude: tf.Tensor, gamma: tf.Tensor, lambda: tf.Tensor, horizons: number[] | tf.Tensor1D): tf.Tensor {
  return tf.tidy(() => {
    const p = Array.isArray(horizons) ? tf.tensor1d(horizons) : horizons;
    const [amp, g, l] = broadcastAll([amplitude, gamma, lambda]).map((t) => tf.expandDims(t, -1));
    const [ab, lb, pb] = broadcastAll([tf.add(g, 1), l, p]);
    return tf.mul(amp, gammaIntegralKernel(ab, lb, pb));
  });
}
