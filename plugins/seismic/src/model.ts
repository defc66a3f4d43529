/**
 * SEISMIC (Zhao, Erdogdu, He, Rajaraman, Leskovec, KDD 2015): a cascade is a self-exciting point
 * process whose intensity at time t is
 *
 *     lambda(t) = p_t * sum_{t_i <= t} n_i phi(t - t_i)                         (paper, Eq. 3)
 *
 * with n_i the follower count of the i-th post (the root included), phi the human reaction-time
 * density (the "memory kernel", Sec. 3.1) and p_t the post's infectiousness. Nothing is fitted across
 * cascades: p_t is estimated from one cascade's own history (Sec. 4.1, Eq. 6 with the triangular
 * time weighting of Sec. 4.2) and the final size follows from the branching formula (Sec. 4.3,
 * Eq. 9). Facts (kernel constants, window rules, fall-back to the last reshares, the chi-square
 * interval, the Inf rule) follow the CRAN package `seismic` 1.1 (get.infectiousness and
 * pred.cascade), so that this code agrees with it to rounding; the code here is our own
 * (closed-form integrals derived below).
 *
 * Float64 pure functions; times in seconds since the root post, which is share 0 at time 0.
 */
import { regularizedLowerGammaF64 } from '@cascade-lab/core';

/** Memory kernel phi (Sec. 3.1): constant c up to s0, then a power law with exponent -(1 + theta). */
export interface MemoryKernel {
  /** theta: power-law exponent of the tail. */
  theta: number;
  /** s0 (seconds): where the constant part ends. */
  cutoffSeconds: number;
  /** c: the constant density before s0 (per second). */
  c: number;
}

/** The values the paper measured on Twitter (the R package's defaults). */
export const TWITTER_MEMORY_KERNEL: MemoryKernel = { theta: 0.2314843, cutoffSeconds: 300, c: 0.0006265725 };

export interface SeismicOptions {
  kernel: MemoryKernel;
  /** Widest triangular window (seconds); the R package's max.window (2 h). */
  maxWindowSeconds: number;
  /** Narrowest triangular window (seconds); min.window (5 min). */
  minWindowSeconds: number;
  /** Fewest reshares the window must hold before it is widened to the last ones; min.count (5). */
  minCount: number;
  /** n*: mean number of followers of a future resharer (Sec. 4.3; the paper uses 100). */
  nStar: number;
}

export const DEFAULT_SEISMIC_OPTIONS: SeismicOptions = { kernel: TWITTER_MEMORY_KERNEL, maxWindowSeconds: 7200, minWindowSeconds: 300, minCount: 5, nStar: 100 };

/** A cascade as SEISMIC sees it: post times (seconds, sorted, shares[0] the root at 0) and follower counts. */
export interface Shares {
  times: ArrayLike<number>;
  followers: ArrayLike<number>;
}

/** phi(s) (Sec. 3.1). */
export function memoryPdf(s: number, k: MemoryKernel = TWITTER_MEMORY_KERNEL): number {
  if (s < 0) return 0;
  return s < k.cutoffSeconds ? k.c : k.c * Math.pow(s / k.cutoffSeconds, -(1 + k.theta));
}

/**
 * The kernel's complementary CDF, as the R package's memory.ccdf writes it: 1 - c s up to s0, and the
 * tail integral (c s0 / theta) (s0 / s)^theta after. (With the published constants the two pieces
 * meet to within 1.8e-7: c normalises phi to 1 only to that precision.)
 */
export function memoryCcdf(s: number, k: MemoryKernel = TWITTER_MEMORY_KERNEL): number {
  const t = Math.max(0, s);
  if (t <= k.cutoffSeconds) return 1 - k.c * t;
  return ((k.c * k.cutoffSeconds) / k.theta) * Math.pow(k.cutoffSeconds / t, k.theta);
}

/**
 * Antiderivatives of phi(u) and u phi(u) from 0 (u = time since the post):
 *   F0(u) = c u,                                  F1(u) = c u^2 / 2                          (u <= s0)
 *   F0(u) = c s0 + (c s0 / theta)(1 - (s0/u)^theta),
 *   F1(u) = c s0^2 / 2 + (c s0^2 / (1 - theta)) ((u/s0)^(1-theta) - 1)                       (u > s0)
 */
function kernelMoments(u: number, k: MemoryKernel): [number, number] {
  const { c, cutoffSeconds: s0, theta } = k;
  if (u <= s0) return [c * u, (c * u * u) / 2];
  const r = u / s0;
  return [c * s0 + ((c * s0) / theta) * (1 - Math.pow(r, -theta)), (c * s0 * s0) / 2 + ((c * s0 * s0) / (1 - theta)) * (Math.pow(r, 1 - theta) - 1)];
}

/**
 * integral of phi(t - s) K(t) dt with the triangular weight K(t) = 1 - (p - t) / w on [p - w, p]
 * (Sec. 4.2): the expected exposure-weighted reaction mass of a post made at s that falls in the
 * window ending at p. With u = t - s and L0 = p - w - s it is
 *     (1 / w) int_{max(0, L0)}^{p - s} phi(u) (u - L0) du = ([F1] - L0 [F0]) / w.
 */
export function triangularKernelIntegral(p: number, s: number, windowSeconds: number, k: MemoryKernel = TWITTER_MEMORY_KERNEL): number {
  const upper = p - s;
  if (!(upper > 0)) return 0;
  const l0 = upper - windowSeconds;
  const lower = Math.max(0, l0);
  const [f0u, f1u] = kernelMoments(upper, k);
  const [f0l, f1l] = kernelMoments(lower, k);
  return (f1u - f1l - l0 * (f0u - f0l)) / windowSeconds;
}

/** Chi-square quantile: 2x with P(k/2, x) = q, by Newton's method on the regularised lower gamma P. */
export function chiSquareQuantile(q: number, k: number): number {
  const a = k / 2;
  // Wilson-Hilferty start (normal approximation of the cube root), then Newton on P(a, x) = q.
  const z = normalQuantile(q);
  const h = 2 / (9 * k);
  let x = Math.max(1e-8, (k * Math.pow(1 - h + z * Math.sqrt(h), 3)) / 2);
  for (let i = 0; i < 100; i++) {
    const { value, dx } = regularizedLowerGammaF64(a, x);
    let next = x - (value - q) / dx;
    if (!(next > 0)) next = x / 2;
    if (Math.abs(next - x) <= 1e-15 * x) return 2 * next;
    x = next;
  }
  return 2 * x;
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9: a start value only). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lowTail = 0.02425;
  if (p < lowTail) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lowTail) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

export interface Infectiousness {
  /** p_t (Eq. 6 with triangular weights); 0 when no reshare carries weight in the window. */
  infectiousness: number;
  /** 95% interval of p_t: p_t chi2_{0.05}(2 n) / (2 n) and p_t chi2_{0.95}(2 n) / (2 n), n reshares in the window. */
  low: number;
  up: number;
  /** Window length w (seconds) actually used. */
  windowSeconds: number;
  /** Reshares (root excluded) in [p - w, p). */
  sharesInWindow: number;
}

/**
 * Infectiousness at time p (Sec. 4.1-4.2): the maximum-likelihood estimate of a constant p over a
 * window, each reshare and each unit of exposure weighted by the triangular kernel
 * K(t) = 1 - (p - t) / w that puts most weight on the recent past:
 *
 *     p_t = sum_{reshares i in [p - w, p)} K(t_i)  /  sum_{posts i < p} n_i int phi(t - t_i) K(t) dt.
 *
 * w = clamp(p / 2, minWindow, maxWindow); when fewer than minCount posts fall in [p - w, p), the window
 * is widened back to the (minCount + 1)-th last post before p (the R package's rule; the root counts
 * as a post there). Shares at or after p do not enter.
 */
export function infectiousnessAt(shares: Shares, p: number, options: SeismicOptions = DEFAULT_SEISMIC_OPTIONS): Infectiousness {
  const { times, followers } = shares;
  const n = times.length;
  let w = Math.min(options.maxWindowSeconds, Math.max(options.minWindowSeconds, p / 2));
  // Posts (root included) strictly before p, and those inside [p - w, p).
  let before = 0;
  let inWindow = 0;
  for (let i = 0; i < n && times[i] < p; i++) {
    before++;
    if (times[i] >= p - w) inWindow++;
  }
  if (inWindow < options.minCount && before > 0) w = p - times[Math.max(0, before - options.minCount - 1)];
  let weighted = 0;
  let count = 0;
  let exposure = 0;
  for (let i = 0; i < before; i++) {
    const t = times[i];
    exposure += followers[i] * triangularKernelIntegral(p, t, w, options.kernel);
    if (i > 0 && t >= p - w) {
      weighted += 1 - (p - t) / w;
      count++;
    }
  }
  if (weighted === 0) return { infectiousness: 0, low: 0, up: 0, windowSeconds: w, sharesInWindow: count };
  const infectiousness = weighted / exposure;
  return {
    infectiousness,
    low: (infectiousness * chiSquareQuantile(0.05, 2 * count)) / (2 * count),
    up: (infectiousness * chiSquareQuantile(0.95, 2 * count)) / (2 * count),
    windowSeconds: w,
    sharesInWindow: count,
  };
}

export interface SeismicPrediction extends Infectiousness {
  /** R_t: reshares (root excluded) at or before p. */
  observedReshares: number;
  /** Predicted final number of reshares (root excluded); Infinity when p_t n* >= 1 (supercritical). */
  finalReshares: number;
}

/**
 * Final number of reshares predicted at time p (Sec. 4.3, Eq. 9):
 *
 *     R_inf = R_p + p_p sum_{posts i <= p} n_i (1 - Phi(p - t_i)) / (1 - p_p n*),
 *
 * the first-generation reshares still to come from the posts so far (each post's exposure times the
 * unspent part of its memory kernel), amplified by the later generations' branching factor p n*,
 * n* the mean follower count of a future resharer. Infinite when p_p n* >= 1 (the process explodes).
 */
export function predictFinalReshares(shares: Shares, p: number, options: SeismicOptions = DEFAULT_SEISMIC_OPTIONS): SeismicPrediction {
  const inf = infectiousnessAt(shares, p, options);
  const { times, followers } = shares;
  let upToP = 0;
  let pending = 0;
  for (let i = 0; i < times.length && times[i] <= p; i++) {
    upToP++;
    pending += followers[i] * memoryCcdf(p - times[i], options.kernel);
  }
  const observedReshares = Math.max(0, upToP - 1);
  const branching = inf.infectiousness * options.nStar;
  const finalReshares = branching >= 1 ? Infinity : observedReshares + (inf.infectiousness * pending) / (1 - branching);
  return { ...inf, observedReshares, finalReshares };
}
