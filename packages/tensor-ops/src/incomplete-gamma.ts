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
import { CascadeError, digamma, incompleteGammaContinuedFraction, incompleteGammaSeries, logGamma, regularizedLowerGammaF64, type GammaPResult } from '@cascade-lab/core';

// The float64 special functions live in core (one copy for every package); re-exported here as before.
export { digamma, regularizedLowerGammaF64, type GammaPResult };
/** ln |Gamma(z)| (core's `logGamma`). */
export const lgamma = logGamma;
import { tf } from './tf.js';

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
    const { s, ds } = incompleteGammaSeries(a, x);
    const value = Math.exp(a * Math.log(p) - x + Math.log(s));
    return { value, da: Math.log(p) * value + value * (ds / s) };
  }
  // I = lambda^-a Gamma(a) (1 - Q(a, x)); here lambda >= (a + 1) / P, away from 0.
  const { f, df } = incompleteGammaContinuedFraction(a, x);
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
