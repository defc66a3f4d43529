/**
 * Rank correlations between predicted and actual cascade sizes (GammaCas paper §5, "Evaluation
 * metrics": Kendall's tau and Spearman's rho; the authors compute them with scipy). Both follow
 * scipy 1.17 exactly, ties included:
 * - {@link kendallTau} = `scipy.stats.kendalltau(x, y)` (default `variant='b'`),
 * - {@link spearmanRho} = `scipy.stats.spearmanr(x, y).statistic`.
 * As in scipy's default `nan_policy='propagate'`, a NaN anywhere gives NaN; a constant input (the
 * coefficient is undefined) gives NaN, as does fewer than two pairs. +-Infinity are ordinary values
 * for ranking (larger / smaller than every finite number, tied with each other), as in scipy.
 */
import { checkSameLength } from './check.js';

function hasNaN(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) return true;
  return false;
}

/** Indices 0..n-1 sorted by value (stable). */
function argsort(values: ArrayLike<number>): Int32Array {
  const idx = new Int32Array(values.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => (values[a] < values[b] ? -1 : values[a] > values[b] ? 1 : a - b));
}

/**
 * Ranks 1..n with ties given their average rank (`scipy.stats.rankdata(x, method='average')`).
 * NaN values are not allowed here (RangeError).
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  if (hasNaN(values)) throw new RangeError('averageRanks: NaN cannot be ranked');
  const order = argsort(values);
  const ranks = new Float64Array(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i + 1;
    while (j < order.length && values[order[j]] === values[order[i]]) j++;
    const rank = (i + 1 + j) / 2; // average of ranks i+1..j
    for (let k = i; k < j; k++) ranks[order[k]] = rank;
    i = j;
  }
  return ranks;
}

/** Sum over groups of equal consecutive values (in `order`) of t(t-1)/2. */
function tiedPairs(order: Int32Array, equal: (a: number, b: number) => boolean): number {
  let pairs = 0;
  let run = 1;
  for (let i = 1; i <= order.length; i++) {
    if (i < order.length && equal(order[i - 1], order[i])) run++;
    else {
      pairs += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  return pairs;
}

/** Number of inversions (i < j with a[i] > a[j]) of `a`, by merge sort; `a` is sorted in place. */
function countInversions(a: Float64Array): number {
  const buf = new Float64Array(a.length);
  let inversions = 0;
  for (let width = 1; width < a.length; width *= 2) {
    for (let lo = 0; lo < a.length; lo += 2 * width) {
      const mid = Math.min(lo + width, a.length);
      const hi = Math.min(lo + 2 * width, a.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (a[j] < a[i]) {
          inversions += mid - i;
          buf[k++] = a[j++];
        } else buf[k++] = a[i++];
      }
      while (i < mid) buf[k++] = a[i++];
      while (j < hi) buf[k++] = a[j++];
    }
    a.set(buf);
  }
  return inversions;
}

/**
 * Kendall's tau-b, as `scipy.stats.kendalltau(x, y)` computes it (O(n log n)):
 * tau_b = (n_c - n_d) / sqrt((n_0 - n_x)(n_0 - n_y)), with n_0 = n(n-1)/2, n_x / n_y the pairs tied
 * in x / y, n_c and n_d the concordant and discordant pairs (pairs tied in x or y are neither).
 * Clipped to [-1, 1] like scipy. NaN for NaN input, a constant input or n < 2.
 */
export function kendallTau(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkSameLength('kendallTau', x, y, 'x', 'y');
  const n = x.length;
  if (n < 2 || hasNaN(x) || hasNaN(y)) return NaN;
  // Order by x, then y: pairs tied in x are then never inversions of y.
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (x[a] < x[b] ? -1 : x[a] > x[b] ? 1 : y[a] < y[b] ? -1 : y[a] > y[b] ? 1 : 0));
  const xTies = tiedPairs(order, (a, b) => x[a] === x[b]);
  const bothTies = tiedPairs(order, (a, b) => x[a] === x[b] && y[a] === y[b]);
  const yOrder = argsort(y);
  const yTies = tiedPairs(yOrder, (a, b) => y[a] === y[b]);
  const ySortedByX = new Float64Array(n);
  for (let i = 0; i < n; i++) ySortedByX[i] = y[order[i]];
  const discordant = countInversions(ySortedByX);
  const total = (n * (n - 1)) / 2;
  if (xTies === total || yTies === total) return NaN;
  const concordantMinusDiscordant = total - xTies - yTies + bothTies - 2 * discordant;
  const tau = concordantMinusDiscordant / Math.sqrt(total - xTies) / Math.sqrt(total - yTies);
  return Math.min(1, Math.max(-1, tau));
}

/** Pearson correlation of two equally long samples; NaN when either has zero variance. */
function pearson(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  return Math.min(1, Math.max(-1, sab / Math.sqrt(saa * sbb)));
}

/**
 * Pearson's r, as `scipy.stats.pearsonr(x, y).statistic`. NaN for NaN input, a constant input or
 * n < 2.
 */
export function pearsonR(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkSameLength('pearsonR', x, y, 'x', 'y');
  if (x.length < 2 || hasNaN(x) || hasNaN(y)) return NaN;
  return pearson(Float64Array.from(x), Float64Array.from(y));
}

/**
 * Spearman's rho, as `scipy.stats.spearmanr(x, y).statistic`: the Pearson correlation of the
 * average ranks (ties get the mean of their ranks). NaN for NaN input, a constant input or n < 2.
 */
export function spearmanRho(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkSameLength('spearmanRho', x, y, 'x', 'y');
  if (x.length < 2 || hasNaN(x) || hasNaN(y)) return NaN;
  return pearson(averageRanks(x), averageRanks(y));
}

/**
 * The size range (bucket) of each value: bucket b holds values in [boundaries[b-1], boundaries[b]),
 * bucket 0 everything below boundaries[0] and the last bucket everything from the last boundary up
 * (Infinity included). NaN stays NaN. Boundaries must be strictly increasing.
 */
export function sizeBuckets(values: ArrayLike<number>, boundaries: readonly number[]): Float64Array {
  if (boundaries.length === 0) throw new RangeError('sizeBuckets: give at least one boundary');
  for (let i = 0; i < boundaries.length; i++) {
    if (Number.isNaN(boundaries[i]) || (i > 0 && !(boundaries[i] > boundaries[i - 1]))) throw new RangeError(`sizeBuckets: boundaries must be strictly increasing numbers, got [${boundaries.join(', ')}]`);
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      out[i] = NaN;
      continue;
    }
    // Binary search: number of boundaries <= v.
    let lo = 0;
    let hi = boundaries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (boundaries[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

/** Boundaries start, start*ratio, start*ratio^2, ... (count of them), e.g. doubling size ranges. */
export function geometricBoundaries(start: number, ratio: number, count: number): number[] {
  if (!(start > 0) || !(ratio > 1) || !Number.isInteger(count) || count < 1) throw new RangeError(`geometricBoundaries: need start > 0, ratio > 1, count >= 1 (got ${start}, ${ratio}, ${count})`);
  return Array.from({ length: count }, (_, i) => start * ratio ** i);
}

/**
 * Step-wise Kendall's tau (GammaCas paper §5, after Dutta et al.'s ChatterNet, used to compare with
 * CasPred, which predicts a size range rather than a size): tau-b between the size range of the
 * prediction and that of the actual size, ranges given by `boundaries` (see {@link sizeBuckets}).
 * Ties inside a range are handled by tau-b. A model that outputs ranges directly can pass its range
 * indices with boundaries matching them.
 */
export function stepwiseKendallTau(actual: ArrayLike<number>, predicted: ArrayLike<number>, boundaries: readonly number[]): number {
  checkSameLength('stepwiseKendallTau', actual, predicted, 'actual', 'predicted');
  return kendallTau(sizeBuckets(actual, boundaries), sizeBuckets(predicted, boundaries));
}
