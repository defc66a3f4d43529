/**
 * Uncertainty for the comparison tables (issue 19): bootstrap confidence intervals over test
 * cascades, the spread of a metric over seeds, and a paired test between two models evaluated on
 * the same cascades.
 *
 * Definitions follow scipy.stats so that the numbers can be checked against it:
 * - `bootstrapInterval` resamples the items (test cascades) with replacement, recomputes the
 *   statistic and reads the interval from the bootstrap distribution. Two intervals:
 *   `percentile` (Efron & Tibshirani 1993, §13.3: the alpha/2 and 1 - alpha/2 quantiles, linear
 *   interpolation as numpy's default) and `bca` (bias-corrected and accelerated, §14.3 and
 *   Eq. 14.15 with the jackknife acceleration of Eq. 14.15/15.36), both exactly
 *   `scipy.stats.bootstrap(..., method='percentile'|'BCa')` given the same bootstrap distribution.
 *   The tables use the percentile interval (the default): it needs no jackknife, which for a
 *   statistic over n cascades costs n extra evaluations (n^2 work for the macro-F1 of 10^4
 *   cascades), and BCa is offered where that cost is acceptable.
 * - `pairedPermutationTest` is the paired (sign-flip) permutation test: under the null hypothesis
 *   that the two models are exchangeable on each cascade, swapping model A's and model B's result on
 *   any subset of cascades leaves the distribution of the statistic unchanged. The statistic is any
 *   function of the two paired samples (difference of macro-F1s is the difference of means of the
 *   per-cascade F1s; the difference of micro-F1s is a ratio of sums and is swapped per cascade as
 *   well). Exact (all 2^n swaps) when 2^n <= resamples, else Monte Carlo with the (count + 1) /
 *   (resamples + 1) correction; two-sided p = min(1, 2 min(p_less, p_greater)). This is
 *   `scipy.stats.permutation_test(..., permutation_type='samples')`. We chose it over a paired
 *   bootstrap test because its p-value is exact under the null for any statistic, with no
 *   centring assumption.
 */
import { Rng, regularizedLowerGamma } from '@cascade-lab/core';

/** Standard normal CDF, Phi(z) = (1 + erf(z / sqrt 2)) / 2 with erf(x) = P(1/2, x^2) (scipy.special.ndtr). */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  const p = regularizedLowerGamma(0.5, (z * z) / 2); // = erf(|z| / sqrt 2)
  return z >= 0 ? 0.5 + 0.5 * p : 0.5 - 0.5 * p;
}

/**
 * Inverse of the standard normal CDF (scipy.special.ndtri): Acklam's rational approximation
 * (relative error 1.15e-9), refined with one Halley step on `normalCdf` to double precision.
 */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pLow = 0.02425;
  let x: number;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - pLow) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // Halley's method on f(x) = Phi(x) - p, f' = phi(x), f''/f' = -x.
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** The q-quantile (0 <= q <= 1) of values, linear interpolation between order statistics (numpy's default, Hyndman-Fan type 7). */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return quantileSorted(sorted, q);
}

function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile: no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export type BootstrapMethod = 'percentile' | 'bca';

export interface BootstrapOptions {
  /** Seeded generator; the resamples depend on it only. */
  rng: Rng;
  /** Number of bootstrap resamples (issue 19: 1000). */
  resamples?: number;
  /** Two-sided confidence level (0.95). */
  level?: number;
  method?: BootstrapMethod;
}

export interface BootstrapInterval {
  /** The statistic on the original sample. */
  estimate: number;
  low: number;
  high: number;
  level: number;
  method: BootstrapMethod;
  resamples: number;
  /** Standard deviation of the bootstrap distribution (ddof 1, as scipy's standard_error). */
  standardError: number;
}

/**
 * The interval's ends from a bootstrap distribution already computed: the percentile interval, or
 * BCa given the estimate on the full sample and the n jackknife (leave-one-out) estimates.
 * Separate from the resampling so that it can be checked exactly against scipy on a given
 * distribution.
 */
export function intervalFromDistribution(
  distribution: ArrayLike<number>,
  level: number,
  bca?: { estimate: number; jackknife: ArrayLike<number> },
): { low: number; high: number } {
  const alpha = (1 - level) / 2;
  const sorted = Float64Array.from(distribution).sort();
  if (!bca) return { low: quantileSorted(sorted, alpha), high: quantileSorted(sorted, 1 - alpha) };
  // Bias correction z0: the normal quantile of the share of the distribution below the estimate,
  // ties counted half (scipy's _percentile_of_score, kind 'mean').
  let below = 0;
  let atOrBelow = 0;
  for (const v of sorted) {
    if (v < bca.estimate) below++;
    if (v <= bca.estimate) atOrBelow++;
  }
  const z0 = normalQuantile((below + atOrBelow) / (2 * sorted.length));
  // Acceleration from the jackknife (Efron & Tibshirani Eq. 14.15).
  const jack = Array.from(bca.jackknife);
  const n = jack.length;
  const mean = jack.reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let den = 0;
  for (const t of jack) {
    const u = (n - 1) * (mean - t);
    num += u ** 3;
    den += u ** 2;
  }
  const a = (num / n ** 3 / (den / n ** 2) ** 1.5) / 6;
  const zAlpha = normalQuantile(alpha);
  const adjusted = (z: number): number => normalCdf(z0 + (z0 + z) / (1 - a * (z0 + z)));
  return { low: quantileSorted(sorted, adjusted(zAlpha)), high: quantileSorted(sorted, adjusted(-zAlpha)) };
}

/**
 * 95% (by default) bootstrap interval of `statistic` over `items` (e.g. per-cascade results),
 * `resamples` resamples of n items drawn with replacement from `rng`.
 */
export function bootstrapInterval<T>(items: readonly T[], statistic: (sample: readonly T[]) => number, options: BootstrapOptions): BootstrapInterval {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const method = options.method ?? 'percentile';
  const n = items.length;
  if (n === 0) throw new RangeError('bootstrapInterval: no items');
  const estimate = statistic(items);
  const distribution = bootstrapDistribution(items, statistic, options.rng, resamples);
  let ends: { low: number; high: number };
  if (method === 'bca') {
    const jackknife = new Float64Array(n);
    const rest: T[] = items.slice(1);
    for (let i = 0; i < n; i++) {
      // rest = items without item i
      if (i > 0) rest[i - 1] = items[i - 1];
      jackknife[i] = statistic(rest);
    }
    ends = intervalFromDistribution(distribution, level, { estimate, jackknife });
  } else {
    ends = intervalFromDistribution(distribution, level);
  }
  return { estimate, ...ends, level, method, resamples, standardError: sampleStd(distribution) };
}

/** The statistic on `resamples` bootstrap resamples (n draws with replacement each). */
export function bootstrapDistribution<T>(items: readonly T[], statistic: (sample: readonly T[]) => number, rng: Rng, resamples: number): Float64Array {
  const n = items.length;
  const out = new Float64Array(resamples);
  const sample: T[] = new Array<T>(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) sample[i] = items[rng.int(n)];
    out[b] = statistic(sample);
  }
  return out;
}

export interface SeedSpread {
  n: number;
  mean: number;
  /** Sample standard deviation (ddof 1; NaN for one seed), numpy.std(x, ddof=1). */
  std: number;
  min: number;
  max: number;
}

/** Mean, sample standard deviation, min and max of one metric over seeds. */
export function seedSpread(values: readonly number[]): SeedSpread {
  const n = values.length;
  if (n === 0) throw new RangeError('seedSpread: no values');
  const mean = values.reduce((s, v) => s + v, 0) / n;
  return { n, mean, std: sampleStd(values), min: Math.min(...values), max: Math.max(...values) };
}

function sampleStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return Math.sqrt(ss / (n - 1));
}

export interface PairedTestOptions {
  /** Used for the Monte Carlo test (2^n > resamples); the exact test draws nothing. */
  rng: Rng;
  /** Random sign patterns when the exact test is too large (scipy's n_resamples; default 10^4). */
  resamples?: number;
}

export interface PairedTestResult {
  /** statistic(a, b) on the observed pairing. */
  observed: number;
  /** Two-sided p-value. */
  pValue: number;
  exact: boolean;
  /** Sign patterns evaluated (2^n for the exact test). */
  permutations: number;
}

/**
 * Paired permutation (sign-flip) test of statistic(a, b) with a[i], b[i] the two models' results on
 * cascade i (see the module comment). `statistic` gets the two (possibly swapped) samples.
 */
export function pairedPermutationTest<T>(a: readonly T[], b: readonly T[], statistic: (a: readonly T[], b: readonly T[]) => number, options: PairedTestOptions): PairedTestResult {
  const n = a.length;
  if (n !== b.length) throw new RangeError(`pairedPermutationTest: samples differ in length (${n} and ${b.length}); the test needs the same cascades`);
  if (n === 0) throw new RangeError('pairedPermutationTest: no pairs');
  const resamples = options.resamples ?? 10_000;
  const observed = statistic(a, b);
  // scipy's tolerance for null values that equal the observed one up to rounding.
  const gamma = Math.abs(observed * Number.EPSILON * 100);
  const x: T[] = a.slice();
  const y: T[] = b.slice();
  let greater = 0;
  let less = 0;
  const count = (value: number): void => {
    if (value >= observed - gamma) greater++;
    if (value <= observed + gamma) less++;
  };
  const exact = n < 31 && 2 ** n <= resamples;
  let permutations: number;
  if (exact) {
    permutations = 2 ** n;
    for (let mask = 0; mask < permutations; mask++) {
      for (let i = 0; i < n; i++) {
        const swap = (mask >>> i) & 1;
        x[i] = swap ? b[i] : a[i];
        y[i] = swap ? a[i] : b[i];
      }
      count(statistic(x, y));
    }
  } else {
    permutations = resamples;
    for (let r = 0; r < resamples; r++) {
      for (let i = 0; i < n; i++) {
        const swap = options.rng.next() < 0.5;
        x[i] = swap ? b[i] : a[i];
        y[i] = swap ? a[i] : b[i];
      }
      count(statistic(x, y));
    }
  }
  // Monte Carlo p-values count the observed pairing among the null draws (Phipson & Smyth 2010), as scipy does.
  const adjust = exact ? 0 : 1;
  const pGreater = (greater + adjust) / (permutations + adjust);
  const pLess = (less + adjust) / (permutations + adjust);
  return { observed, pValue: Math.min(1, 2 * Math.min(pGreater, pLess)), exact, permutations };
}
