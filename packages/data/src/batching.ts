/**
 * Batches for sequence models, laid out so a tfjs model turns them into tensors without copying
 * element by element: `tf.tensor2d(batch.users, [batch.batchSize, batch.maxLength], 'int32')`.
 *
 * Bucketing: cascades are (optionally) shuffled, then sorted by length inside pools of
 * `poolBatches * batchSize` cascades, cut into batches, and the batch order shuffled. Rows of a batch
 * thus have similar lengths and padding stays low (see {@link BatchPlan.paddingWaste}), while the
 * batches still differ from epoch to epoch. Derive a fresh Rng per epoch (`rng.derive(epoch)`).
 */
import { END_USER, type Cascade, type Rng } from '@cascade-lab/core';
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

