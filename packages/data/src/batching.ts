/**
 * Batches for sequence models, laid out so a tfjs model turns them into tensors without copying
 * element by element: `tf.tensor2d(batch.users, [batch.batchSize, batch.maxLength], 'int32')`.
 *
 * Bucketing: cascades are (optionally) shuffled, then sorted by length inside pools of
 * `poolBatches * batchSize` cascades, cut into batches, and the batch order shuffled. Rows of a batch
 * thus have similar lengths and padding stays low (see {@link BatchPlan.paddingWaste}), while the
 * batches still differ from epoch to epoch. Derive a fresh Rng per epoch (`rng.derive(epoch)`).
 */
import { END_USER, type Cascade, type Rng, type WindowedCascade } from '@cascade-lab/core';
import { PAD_WORD } from './vocabulary.js';

export interface SequenceBatch {
  /** Number of rows. */
  batchSize: number;
  /** Number of columns: the longest row of this batch. */
  maxLength: number;
  /** User indices, [batchSize, maxLength] row-major; `PAD_USER` (0) after each row's length. */
  users: Int32Array;
  /**
   * Infection times relative to each cascade's first infection, same layout, 0 in padding (and at
   * the appended `</s>`, which has no time). Present with `times: true`.
   */
  times?: Float32Array;
  /** 1 at real positions (the appended `</s>` included), 0 in padding; [batchSize, maxLength]. */
  mask: Float32Array;
  /** Row lengths (real positions per row). */
  lengths: Int32Array;
  /** Position of each row's cascade in the input array. */
  indices: Int32Array;
}

export interface BatchPlan {
  batches: SequenceBatch[];
  /** Real positions over all batches. */
  realTokens: number;
  /** All cells over all batches (real + padding). */
  totalCells: number;
  /** Fraction of cells that are padding: 1 - realTokens / totalCells (0 when empty). */
  paddingWaste: number;
}

export interface SequenceBatchOptions {
  batchSize: number;
  /**
   * Append the end user `</s>` (index 1) to every cascade, as NDM training does. Default true. A
   * cascade cut by `maxLength` gets no `</s>` (it did not end there).
   */
  appendEnd?: boolean;
  /** Keep at most this many infections of each cascade (the first ones). Default: no limit. */
  maxLength?: number;
  /** `sorted` (default): bucket by length; `none`: keep the (shuffled) order. */
  bucketing?: 'sorted' | 'none';
  /** Pool size for bucketing, in batches. Default 64. Larger pools pad less but vary less between epochs. */
  poolBatches?: number;
  /** Shuffles cascades before bucketing and the batch order after. Omitted: deterministic input order. */
  rng?: Rng;
  /** Drop a last, smaller batch. Default false. */
  dropLast?: boolean;
  /** Fill {@link SequenceBatch.times}. Default false. */
  times?: boolean;
}

function rowLength(c: Cascade, appendEnd: boolean, maxLength: number): number {
  const n = c.events.length;
  if (n > maxLength) return maxLength;
  return appendEnd ? n + 1 : n;
}

/** Pads the given cascades into one batch, in the given order (no bucketing, no shuffling). */
export function padCascades(cascades: readonly Cascade[], options: Omit<SequenceBatchOptions, 'batchSize' | 'bucketing' | 'rng' | 'poolBatches' | 'dropLast'> = {}, indices?: ArrayLike<number>): SequenceBatch {
  const appendEnd = options.appendEnd ?? true;
  const maxLength = options.maxLength ?? Number.MAX_SAFE_INTEGER;
  const b = cascades.length;
  const lengths = new Int32Array(b);
  let width = 0;
  for (let r = 0; r < b; r++) {
    lengths[r] = rowLength(cascades[r], appendEnd, maxLength);
    if (lengths[r] > width) width = lengths[r];
  }
  const users = new Int32Array(b * width); // zero-filled = PAD_USER
  const mask = new Float32Array(b * width);
  const times = options.times ? new Float32Array(b * width) : undefined;
  for (let r = 0; r < b; r++) {
    const ev = cascades[r].events;
    const row = r * width;
    const n = Math.min(ev.length, maxLength);
    const t0 = ev.length > 0 ? ev[0].time : 0;
    for (let j = 0; j < n; j++) {
      users[row + j] = ev[j].user;
      if (times) times[row + j] = ev[j].time - t0;
    }
    if (lengths[r] > n) users[row + n] = END_USER;
    mask.fill(1, row, row + lengths[r]);
  }
  const idx = new Int32Array(b);
  for (let r = 0; r < b; r++) idx[r] = indices ? indices[r] : r;
  const batch: SequenceBatch = { batchSize: b, maxLength: width, users, mask, lengths, indices: idx };
  if (times) batch.times = times;
  return batch;
}

/** Orders cascade positions into batches: shuffle, sort by length within pools, chunk, shuffle batches. */
export function planBatches(lengths: ArrayLike<number>, options: Pick<SequenceBatchOptions, 'batchSize' | 'bucketing' | 'poolBatches' | 'rng' | 'dropLast'>): number[][] {
  const { batchSize } = options;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const order = Array.from({ length: lengths.length }, (_, i) => i);
  if (options.rng) options.rng.shuffle(order);
  if ((options.bucketing ?? 'sorted') === 'sorted') {
    const pool = Math.max(1, options.poolBatches ?? 64) * batchSize;
    for (let start = 0; start < order.length; start += pool) {
      const part = order.slice(start, start + pool).sort((a, b) => lengths[a] - lengths[b]);
      for (let k = 0; k < part.length; k++) order[start + k] = part[k];
    }
  }
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const chunk = order.slice(start, start + batchSize);
    if (chunk.length < batchSize && options.dropLast) break;
    batches.push(chunk);
  }
  if (options.rng) options.rng.shuffle(batches);
  return batches;
}

/** Batches of padded cascades for one epoch, with the padding waste of the whole plan. */
export function makeSequenceBatches(cascades: readonly Cascade[], options: SequenceBatchOptions): BatchPlan {
  const appendEnd = options.appendEnd ?? true;
  const maxLength = options.maxLength ?? Number.MAX_SAFE_INTEGER;
  const lengths = Int32Array.from(cascades, (c) => rowLength(c, appendEnd, maxLength));
  const plan = planBatches(lengths, options);
  let realTokens = 0;
  let totalCells = 0;
  const batches = plan.map((rows) => {
    const batch = padCascades(
      rows.map((i) => cascades[i]),
      options,
      rows,
    );
    for (let r = 0; r < batch.batchSize; r++) realTokens += batch.lengths[r];
    totalCells += batch.batchSize * batch.maxLength;
    return batch;
  });
  return { batches, realTokens, totalCells, paddingWaste: totalCells === 0 ? 0 : 1 - realTokens / totalCells };
}

/** Windowed cascades stacked for a macroscopic model; every array row-major. */
export interface WindowedBatch {
  batchSize: number;
  numBins: number;
  numHorizons: number;
  /** Retweets per bin, [batchSize, numBins]. */
  counts: Float32Array;
  /** Followers of the retweeters per bin, [batchSize, numBins]. */
  followerSums: Float32Array;
  rootFollowers: Float32Array;
  /** Size at the end of the observation window (root included), [batchSize]. */
  observedSize: Float32Array;
  /** Sizes at the horizons, [batchSize, numHorizons]; 0 where unknown (see targetMask). */
  targets: Float32Array;
  /** 1 where the target is known, 0 where the data does not reach the horizon. */
  targetMask: Float32Array;
  /** Root text tokens, [batchSize, textLength], {@link PAD_WORD} padded; when the cascades have text. */
  text?: Int32Array;
  textLength: number;
  /** News tokens, [batchSize, newsItems, newsLength], padded; when the cascades have news. */
  news?: Int32Array;
  /** 1 for a real news item, [batchSize, newsItems]. */
  newsMask?: Float32Array;
  newsItems: number;
  newsLength: number;
  indices: Int32Array;
}

export interface WindowedBatchOptions {
  batchSize: number;
  rng?: Rng;
  dropLast?: boolean;
  /** Text tokens per cascade (cut or padded). Default 30 (GammaCas). */
  textLength?: number;
  /** Tokens per news item. Default 36 (GammaCas). */
  newsLength?: number;
  /** News items per cascade. Default: the most any cascade of the batch has. */
  newsItems?: number;
}

/** Stacks windowed cascades into one batch, in the given order. */
export function stackWindowed(cascades: readonly WindowedCascade[], options: Omit<WindowedBatchOptions, 'batchSize' | 'rng' | 'dropLast'> = {}, indices?: ArrayLike<number>): WindowedBatch {
  const b = cascades.length;
  const m = b > 0 ? cascades[0].counts.length : 0;
  const h = b > 0 ? cascades[0].targets.length : 0;
  const textLength = options.textLength ?? 30;
  const newsLength = options.newsLength ?? 36;
  const hasText = cascades.some((c) => c.textTokens !== undefined);
  const hasNews = cascades.some((c) => c.newsTokens !== undefined);
  const newsItems = hasNews ? (options.newsItems ?? Math.max(0, ...cascades.map((c) => c.newsTokens?.length ?? 0))) : 0;
  const out: WindowedBatch = {
    batchSize: b,
    numBins: m,
    numHorizons: h,
    counts: new Float32Array(b * m),
    followerSums: new Float32Array(b * m),
    rootFollowers: new Float32Array(b),
    observedSize: new Float32Array(b),
    targets: new Float32Array(b * h),
    targetMask: new Float32Array(b * h),
    textLength,
    newsItems,
    newsLength,
    indices: new Int32Array(b),
  };
  if (hasText) out.text = new Int32Array(b * textLength).fill(PAD_WORD);
  if (hasNews) {
    out.news = new Int32Array(b * newsItems * newsLength).fill(PAD_WORD);
    out.newsMask = new Float32Array(b * newsItems);
  }
  for (let r = 0; r < b; r++) {
    const c = cascades[r];
    if (c.counts.length !== m || c.targets.length !== h) throw new RangeError(`cascade ${c.id} has ${c.counts.length} bins / ${c.targets.length} horizons, the batch ${m} / ${h}`);
    out.counts.set(c.counts, r * m);
    out.followerSums.set(c.followerSums, r * m);
    out.rootFollowers[r] = c.rootFollowers;
    out.observedSize[r] = c.observedSize;
    for (let k = 0; k < h; k++) {
      const y = c.targets[k];
      if (!Number.isNaN(y)) {
        out.targets[r * h + k] = y;
        out.targetMask[r * h + k] = 1;
      }
    }
    if (out.text && c.textTokens) out.text.set(c.textTokens.subarray(0, textLength), r * textLength);
    if (out.news && out.newsMask && c.newsTokens) {
      const items = Math.min(newsItems, c.newsTokens.length);
      for (let k = 0; k < items; k++) {
        out.news.set(c.newsTokens[k].subarray(0, newsLength), (r * newsItems + k) * newsLength);
        out.newsMask[r * newsItems + k] = 1;
      }
    }
    out.indices[r] = indices ? indices[r] : r;
  }
  return out;
}

/** Batches of windowed cascades for one epoch (shuffled with `rng`, else in input order). */
export function makeWindowedBatches(cascades: readonly WindowedCascade[], options: WindowedBatchOptions): WindowedBatch[] {
  const plan = planBatches(new Int32Array(cascades.length), { ...options, bucketing: 'none' });
  return plan.map((rows) =>
    stackWindowed(
      rows.map((i) => cascades[i]),
      options,
      rows,
    ),
  );
}

