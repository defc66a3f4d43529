/** Special functions and random variates for the synthetic generators (plain numbers, no tensors). */
import { logGamma as coreLogGamma, regularizedLowerGamma as coreRegularizedLowerGamma, type Rng } from '@cascade-lab/core';

/** log Gamma(x) for x > 0 (core's special functions, one copy for every package). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma: x must be > 0, got ${x}`);
  return coreLogGamma(x);
}

/** Regularized lower incomplete gamma P(a, x) = gamma(a, x) / Gamma(a) (a > 0, x >= 0), core's. */
export function regularizedLowerGamma(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`regularizedLowerGamma: a must be > 0, got ${a}`);
  if (!(x >= 0)) throw new RangeError(`regularizedLowerGamma: x must be >= 0, got ${x}`);
  return coreRegularizedLowerGamma(a, x);
}

/**
 * integral_0^P A t^gamma e^(-lambda t) dt = A lambda^-(gamma+1) Gamma(gamma+1) P(gamma+1, lambda P),
 * and A P^(gamma+1) / (gamma+1) when lambda = 0 (GammaCas paper, Eq. for the cascade size; gamma > -1).
 */
export function gammaGrowthIntegral(A: number, gamma: number, lambda: number, P: number): number {
  if (!(gamma > -1)) throw new RangeError(`gammaGrowthIntegral: gamma must be > -1, got ${gamma}`);
  if (!(lambda >= 0) || !(P >= 0)) throw new RangeError(`gammaGrowthIntegral: need lambda >= 0 and P >= 0 (got ${lambda}, ${P})`);
  const a = gamma + 1;
  if (lambda === 0) return (A * Math.pow(P, a)) / a;
  return A * Math.exp(logGamma(a) - a * Math.log(lambda)) * regularizedLowerGamma(a, lambda * P);
}

/** Poisson(mean) draw: arrivals of a unit-rate Poisson process in [0, mean] (O(mean) work, exact). */
export function poisson(rng: Rng, mean: number): number {
  if (!(mean >= 0) || !Number.isFinite(mean)) throw new RangeError(`poisson: mean must be finite and >= 0, got ${mean}`);
  let n = 0;
  let t = rng.exponential(1);
  while (t < mean) {
    n++;
    t += rng.exponential(1);
  }
  return n;
}

/** Gamma(shape, rate) draw (Marsaglia & Tsang 2000; shape < 1 by the U^(1/shape) boost). */
export function gammaVariate(rng: Rng, shape: number, rate = 1): number {
  if (!(shape > 0) || !(rate > 0)) throw new RangeError(`gammaVariate: shape and rate must be > 0 (got ${shape}, ${rate})`);
  if (shape < 1) return gammaVariate(rng, shape + 1, rate) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return (d * v) / rate;
  }
}

/**
 * A follower count: floor of a Pareto(alpha) draw with minimum mMin, i.e. P(count >= k) =
 * (k / mMin)^-(alpha - 1) for k >= mMin (alpha = 2.016 is the Twitter fit used by SEISMIC and the
 * marked Hawkes baseline).
 */
export function followerCount(rng: Rng, alpha: number, mMin: number): number {
  return Math.floor(mMin * Math.pow(1 - rng.next(), -1 / (alpha - 1)));
}

/**
 * E[floor(X)^beta] for X ~ Pareto(alpha) with minimum 1, i.e. the sum over k >= 1 of
 * k^beta (k^(1-alpha) - (k+1)^(1-alpha)): exact terms up to k = 10^4, then the tail from the
 * asymptotic expansion in 1/k summed with Euler-Maclaurin (relative error far below 1e-12 for
 * alpha - beta > 1.1).
 */
export function expectedFollowerPower(alpha: number, beta: number): number {
  const s = alpha - beta; // terms ~ k^-s
  if (!(s > 1)) throw new RangeError(`expectedFollowerPower: needs alpha - beta > 1 (got alpha ${alpha}, beta ${beta}); the mean is infinite`);
  const N = 10000;
  let sum = 0;
  for (let k = N - 1; k >= 1; k--) sum += Math.pow(k, beta) * (Math.pow(k, 1 - alpha) - Math.pow(k + 1, 1 - alpha));
  // Hurwitz zeta(q, N) by Euler-Maclaurin: N^(1-q)/(q-1) + N^-q/2 + q N^(-q-1)/12 - q(q+1)(q+2) N^(-q-3)/720.
  const zeta = (q: number): number => Math.pow(N, 1 - q) / (q - 1) + Math.pow(N, -q) / 2 + (q * Math.pow(N, -q - 1)) / 12 - (q * (q + 1) * (q + 2) * Math.pow(N, -q - 3)) / 720;
  // k^(1-alpha) - (k+1)^(1-alpha) = k^(1-alpha) [ (alpha-1)/k - (alpha-1)alpha/(2k^2) + (alpha-1)alpha(alpha+1)/(6k^3) - ... ]
  const a1 = alpha - 1;
  const tail = a1 * zeta(s) - ((a1 * alpha) / 2) * zeta(s + 1) + ((a1 * alpha * (alpha + 1)) / 6) * zeta(s + 2) - ((a1 * alpha * (alpha + 1) * (alpha + 2)) / 24) * zeta(s + 3);
  return sum + tail;
}
