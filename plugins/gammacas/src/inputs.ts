import { CascadeError, type WindowedCascade } from '@cascade-lab/core';

/**
 * The model's inputs for a set of cascades, packed row-major into typed arrays once, so that a
 * mini-batch is a slice. GammaCas §3.2-3.4.
 *
 * The observation sequence has `steps = bins + 1` entries: step 0 is the root post itself (count 1,
 * the root's followers) and step k >= 1 is bin k (retweets C_r^k and their followers' sum C_f^k).
 * Putting the root first is what the authors' code does (its first "bin" is the root and its
 * follower count), and it lets the autoregressive head at step k predict bin k + 1.
 */
export interface PackedCascades {
  size: number;
  bins: number;
  steps: number;
  /** [size, steps, 2]: raw count and follower sum per step. */
  sequence: Float32Array;
  /** [size, maxTextTokens] root text token indices, 0 = padding (absent without text). */
  text?: Int32Array;
  maxTextTokens: number;
  /** [size, maxNewsItems, maxNewsTokens] news token indices, 0 = padding (absent without news). */
  news?: Int32Array;
  maxNewsItems: number;
  maxNewsTokens: number;
  /** [size, horizons] target sizes, 0 where unknown; with `targetMask` 1 where known. */
  targets?: Float32Array;
  targetMask?: Float32Array;
  horizons: number;
}

export interface PackOptions {
  bins: number;
  withText: boolean;
  withNews: boolean;
  maxTextTokens: number;
  maxNewsItems: number;
  maxNewsTokens: number;
  /** The model's vocabulary size; token indices must be below it. */
  vocabularySize: number;
  /** Number of horizons in `targets` to pack (0: none, e.g. at prediction time). */
  horizons: number;
}

function copyTokens(src: Int32Array | undefined, dst: Int32Array, offset: number, max: number, vocabularySize: number, what: string): void {
  if (!src) return;
  const n = Math.min(src.length, max);
  for (let j = 0; j < n; j++) {
    const tok = src[j];
    if (!(tok >= 0 && tok < vocabularySize)) {
      throw new CascadeError('DATA_FORMAT', `${what}: token index ${tok} at position ${j} is outside the vocabulary (size ${vocabularySize})`);
    }
    dst[offset + j] = tok;
  }
}

/** Packs cascades; texts and news longer than the limits are truncated, shorter ones padded with 0. */
export function packCascades(cascades: WindowedCascade[], o: PackOptions): PackedCascades {
  const size = cascades.length;
  const steps = o.bins + 1;
  const sequence = new Float32Array(size * steps * 2);
  const text = o.withText ? new Int32Array(size * o.maxTextTokens) : undefined;
  const news = o.withNews ? new Int32Array(size * o.maxNewsItems * o.maxNewsTokens) : undefined;
  const targets = o.horizons > 0 ? new Float32Array(size * o.horizons) : undefined;
  const targetMask = o.horizons > 0 ? new Float32Array(size * o.horizons) : undefined;
  for (let c = 0; c < size; c++) {
    const w = cascades[c];
    if (w.counts.length !== o.bins || w.followerSums.length !== o.bins) {
      throw new CascadeError(
        'DATA_FORMAT',
        `cascade ${w.id}: has ${w.counts.length} count bins and ${w.followerSums.length} follower bins, the model expects ${o.bins}`,
        { hint: 'a GammaCas model predicts only with the observation window and bin width it was trained on' },
      );
    }
    const base = c * steps * 2;
    sequence[base] = 1;
    sequence[base + 1] = Math.max(0, w.rootFollowers);
    for (let k = 0; k < o.bins; k++) {
      const cr = w.counts[k];
      const cf = w.followerSums[k];
      if (!(cr >= 0) || !(cf >= 0)) throw new CascadeError('DATA_FORMAT', `cascade ${w.id}: bin ${k} has count ${cr} and follower sum ${cf}; both must be finite and >= 0`);
      sequence[base + 2 * (k + 1)] = cr;
      sequence[base + 2 * (k + 1) + 1] = cf;
    }
    if (text) copyTokens(w.textTokens, text, c * o.maxTextTokens, o.maxTextTokens, o.vocabularySize, `cascade ${w.id} text`);
    if (news && w.newsTokens) {
      const items = Math.min(w.newsTokens.length, o.maxNewsItems);
      for (let n = 0; n < items; n++) {
        copyTokens(w.newsTokens[n], news, (c * o.maxNewsItems + n) * o.maxNewsTokens, o.maxNewsTokens, o.vocabularySize, `cascade ${w.id} news item ${n}`);
      }
    }
    if (targets && targetMask) {
      if (w.targets.length < o.horizons) throw new CascadeError('DATA_FORMAT', `cascade ${w.id}: ${w.targets.length} targets, expected ${o.horizons}`);
      for (let h = 0; h < o.horizons; h++) {
        const y = w.targets[h];
        if (Number.isFinite(y) && y > 0) {
          targets[c * o.horizons + h] = y;
          targetMask[c * o.horizons + h] = 1;
        }
      }
    }
  }
  return { size, bins: o.bins, steps, sequence, text, maxTextTokens: o.maxTextTokens, news, maxNewsItems: o.maxNewsItems, maxNewsTokens: o.maxNewsTokens, targets, targetMask, horizons: o.horizons };
}

/** Rows `indices` of a packed set, as a new packed set (a mini-batch). */
export function selectRows(p: PackedCascades, indices: ArrayLike<number>): PackedCascades {
  const n = indices.length;
  const pick = <T extends Float32Array | Int32Array>(src: T | undefined, width: number, make: (len: number) => T): T | undefined => {
    if (!src) return undefined;
    const out = make(n * width);
    for (let i = 0; i < n; i++) out.set(src.subarray(indices[i] * width, (indices[i] + 1) * width), i * width);
    return out;
  };
  const f32 = (len: number) => new Float32Array(len);
  const i32 = (len: number) => new Int32Array(len);
  return {
    ...p,
    size: n,
    sequence: pick(p.sequence, p.steps * 2, f32)!,
    text: pick(p.text, p.maxTextTokens, i32),
    news: pick(p.news, p.maxNewsItems * p.maxNewsTokens, i32),
    targets: pick(p.targets, p.horizons, f32),
    targetMask: pick(p.targetMask, p.horizons, f32),
  };
}

/**
 * Mean and standard deviation of log(1 + x) of counts and follower sums over every step of every
 * cascade: the starting point of the trainable input normalisation.
 */
export function logFeatureStatistics(p: PackedCascades): { mean: [number, number]; std: [number, number] } {
  const sum = [0, 0];
  const sumSq = [0, 0];
  const n = p.size * p.steps;
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < 2; f++) {
      const v = Math.log1p(p.sequence[2 * i + f]);
      sum[f] += v;
      sumSq[f] += v * v;
    }
  }
  const mean: [number, number] = [sum[0] / n, sum[1] / n];
  const std: [number, number] = [0, 1].map((f) => {
    const variance = sumSq[f] / n - mean[f] * mean[f];
    return variance > 1e-12 ? Math.sqrt(variance) : 1;
  }) as [number, number];
  return { mean, std };
}
