import { CascadeError, PAD_USER, type Rng } from '@cascade-lab/core';
import { MASKED_LOGIT, crossEntropyWithGradientOfIds, type NdmNetwork, type SequenceBatch, type Targets } from './model.js';
import { GraphFunction, graphFunctionsEnabled, layerNormBackward, layerNormForward, shapeGrid, type DynamicDim, type GraphFunctionStats, type LayerNormOptions } from '@cascade-lab/tensor-ops';
import { tf, type Tensor, type Tensor2D } from './tf.js';
import { blockOffsets, keepFlags, type KeepFlagJob } from './dropout-flags.js';
import type { NdmArchitecture, WeightName } from './weights.js';

/**
 * NDM's training loss and its gradient with the backward pass written out by hand.
 *
 * Why: run eagerly at NDM's sizes, a training step is bound by kernel dispatch, not arithmetic (a
 * median Memetracker batch is ~270 positions; each TensorFlow kernel call costs 20-40 us however
 * small). Compiled into graphs (`ManualGradients`), it is bound by arithmetic, hence the packed
 * position-wise pass (issue 22, session 13).
 * With TensorFlow.js' tape the loss and its gradient take ~300 kernel calls on such a batch (every
 * matMul's gradient reshapes and transposes its operands, every broadcast gets a reduction, every op
 * an Identity); the hand-written pass needs about 130 and lays the attention out so that it needs
 * no transposes at all:
 *
 * - scores as [B, L*h, L] with row (j, i) = x_j M_i for M_i = W^Q_i (W^K_i)^T (the product of
 *   x with all h score matrices at once, reshaped for free), times x^T;
 * - the attention output as (sum_k w^i_jk x_k) stacked over heads, [N, h*d], times the stacked
 *   W^V_i W^O_i, [h*d, d];
 * - the window of the last `win` active embeddings as `win` shifted copies side by side, the
 *   concatenated window [N, win*d] directly (on packed rows: shifted and masked by position).
 *
 * It computes exactly what `NdmNetwork.maskedLogits` + `weightedCrossEntropySum` compute, with the
 * same dropout masks drawn from the same seeds in the same order (tests compare both gradients),
 * and the same cross-entropy (`crossEntropyWithGradient`, shared with the tape's custom gradient),
 * for every architecture except the Finit term, which falls back to the tape
 * (`manualGradientsSupported`).
 */
export function manualGradientsSupported(architecture: NdmArchitecture): boolean {
  return !architecture.initialUser;
}

/** tf.dropout's multiplier (0 or 1/(1-rate)), drawn exactly as `tf.dropout(x, rate, undefined, seed)` draws it. */
export function dropoutMultiplier(shape: number[], rate: number, seed: number): Tensor {
  return tf.tidy(() => multiplierFromUniform(tf.randomUniform(shape, 0, 1, 'float32', seed), rate));
}

/** The dropout multiplier for uniform draws u: floor(u + keep) / keep. */
function multiplierFromUniform(uniform: Tensor, rate: number): Tensor {
  const keep = 1 - rate;
  return tf.div(tf.floor(tf.add(uniform, keep)), keep);
}

/**
 * The additive causal + padding mask of the scores, made in the graph from the sequence lengths
 * ([B] int32): MASKED_LOGIT where k > j (a later position) or k >= n_b (padding), 0 elsewhere, as
 * [B, L, 1, L], added to the scores laid out [B, L, h, L] (broadcast over the heads). It used to be
 * made on the host at the scores' full size [B, L*h, L] and fed in: for the longest Twitter-sized
 * row (2,466 positions, 8 heads) 194 MB on the host and again as a tensor (issue 22). The values are
 * the same entry for entry (0 * MASKED_LOGIT is -0, and x + -0 = x), so the scores are too.
 */
function scoreMask(lengths: Tensor, L: number): Tensor {
  const positions = tf.range(0, L, 1, 'int32');
  const k = tf.reshape(positions, [1, 1, 1, L]);
  const later = tf.greater(k, tf.reshape(positions, [1, L, 1, 1])); // [1, L, 1, L]
  const padding = tf.greaterEqual(k, tf.reshape(lengths, [-1, 1, 1, 1])); // [B, 1, 1, L] (B from lengths: the row count stays dynamic)
  return tf.mul(tf.cast(tf.logicalOr(later, padding), 'float32'), MASKED_LOGIT);
}

/**
 * `scoreMask` for the query rows j0..j1-1 against the keys 0..K-1 only, [B, j1-j0, 1, K]: entry for
 * entry the rows j0..j1-1 and columns 0..K-1 of `scoreMask(lengths, L)`.
 */
function scoreMaskRows(lengths: Tensor, B: number, j0: number, j1: number, K: number): Tensor {
  const k = tf.reshape(tf.range(0, K, 1, 'int32'), [1, 1, 1, K]);
  const later = tf.greater(k, tf.reshape(tf.range(j0, j1, 1, 'int32'), [1, j1 - j0, 1, 1])); // [1, Q, 1, K]
  const padding = tf.greaterEqual(k, tf.reshape(lengths, [B, 1, 1, 1])); // [B, 1, 1, K]
  return tf.mul(tf.cast(tf.logicalOr(later, padding), 'float32'), MASKED_LOGIT);
}

/**
 * Default cap on the attention cells (rows x heads x query positions x key positions) of one block
 * of a chunk's attention: the trainer's per-chunk cap (`memoryChunks`), which a chunk of one row
 * longer than sqrt(cap / heads) (724 positions with 8 heads) cannot meet by splitting rows.
 */
export const MAX_ATTENTION_BLOCK_CELLS = 1 << 22;

/**
 * The query blocks of a chunk's attention: [j0, j1) ranges of query positions, each attending to
 * the keys 0..j1-1 (causal: later keys are masked anyway), with at most `maxCells` score cells
 * (B h (j1 - j0) j1 <= maxCells where one query row allows it). A chunk within the cap is one block
 * [0, L) and takes the unblocked path (so every Memetracker and Irvine chunk does; issue 22).
 */
export function attentionBlocks(B: number, L: number, h: number, maxCells = MAX_ATTENTION_BLOCK_CELLS): [number, number][] {
  if (B * h * L * L <= maxCells) return [[0, L]];
  const blocks: [number, number][] = [];
  for (let j0 = 0; j0 < L; ) {
    // The largest Q with B h Q (j0 + Q) <= maxCells, at least 1.
    let q = Math.max(1, Math.floor(maxCells / (B * h * L)));
    while (j0 + q < L && B * h * (q + 1) * (j0 + q + 1) <= maxCells) q++;
    const j1 = Math.min(L, j0 + q);
    blocks.push([j0, j1]);
    j0 = j1;
  }
  return blocks;
}

/**
 * The window input of the packed rows (`packChunks`): row r, at position t of its sequence, is
 * [act_r, act_(r-1), ..., act_(r-W+1)] with act_(r-n) replaced by zeros where t < n (before the
 * sequence's start), [N, W*d], as W shifted copies side by side. A sequence's positions are
 * consecutive rows from its start, so row r - n is position t - n of the same sequence whenever
 * t >= n: the padded layout's window ([act_j, ..., act_(j-W+1)] of row b) value for value.
 */
function packedWindowInput(act: Tensor, valid: Tensor[], N: number, W: number): Tensor {
  const parts = [act];
  for (let n = 1; n < W; n++) {
    if (n >= N) {
      parts.push(tf.zerosLike(act));
      continue;
    }
    // Rows 0..N-n-1 (an end counted from the last row, so that N stays out of the graph).
    const shifted = tf.pad(tf.stridedSlice(act, [0, 0], [-n, 0], [1, 1], 0, 2), [[n, 0], [0, 0]]);
    parts.push(tf.mul(shifted, valid[n]));
  }
  return tf.concat(parts, 1);
}

/**
 * For n = 1..W-1 (below N): 1 where a packed row's position is at least n (its window reaches n
 * rows back), else 0, [N, 1] each (index n; index 0 unused). Made once for both directions.
 */
function windowValid(positions: Tensor, N: number, W: number): Tensor[] {
  const valid: Tensor[] = [];
  for (let n = 1; n < Math.min(W, N); n++) valid[n] = tf.reshape(tf.cast(tf.greaterEqual(positions, n), 'float32'), [-1, 1]);
  return valid;
}

/** The gradient of `packedWindowInput` in act: each column block masked, shifted back and summed, [N, d] (no slice size along N). */
function packedWindowBackward(dWindowed: Tensor, valid: Tensor[], N: number, d: number, W: number): Tensor {
  const columns = (n: number) => tf.stridedSlice(dWindowed, [0, n * d], [0, (n + 1) * d], [1, 1], 1, 1);
  const parts = [columns(0)];
  for (let n = 1; n < Math.min(W, N); n++) {
    const block = tf.mul(columns(n), valid[n]);
    parts.push(tf.pad(tf.stridedSlice(block, [n, 0], [0, 0], [1, 1], 0, 3), [[0, n], [0, 0]]));
  }
  return parts.length === 1 ? parts[0] : tf.addN(parts);
}

/**
 * The attention of a chunk in query blocks (`attentionBlocks`): block [j0, j1) computes the scores
 * of its queries against the keys 0..j1-1 only, [B, (j1-j0) h, j1] instead of [B, L h, L], so no
 * tensor of a long row's full attention is made (issue 22: 8 x 2,496^2 floats, 199 MB, for the
 * longest Twitter-sized row, and a dozen such tensors in the pass). Every dropped key is a later
 * position, masked in the unblocked scores (MASKED_LOGIT: its softmax weight is exactly 0 there), so
 * the weights and the attention output are the unblocked ones up to the order in which the
 * softmax sums its terms (float rounding). The dropout multiplier of a block is made from the keep
 * flags of its slice of the chunk's [B, h, L, L] draws (`flags`, `blockedKeepFlags`), so the
 * random stream and the multipliers are the same. Each block's temporaries are freed when it is
 * done (its own scope); only its softmax weights [B, Q h, j1] are kept for the backward pass. Returns those weights and the attention output
 * [B*L, h*d] (row j: [sum_k w^i_jk x_k]_i, as the unblocked path lays it out).
 */
function blockedAttentionForward(
  x3: Tensor,
  y3: Tensor,
  lengths: Tensor,
  flags: Tensor | null,
  blocks: [number, number][],
  B: number,
  h: number,
  d: number,
  rate: number,
): { weights: Tensor[]; mixed: Tensor } {
  const L = x3.shape[1]!;
  const yRows = tf.reshape(y3, [B, L, h * d]); // row j: [x_j M_i]_i
  const weights: Tensor[] = [];
  const parts: Tensor[] = [];
  const offsets = blockOffsets(blocks, B, h);
  for (const [b, [j0, j1]] of blocks.entries()) {
    const Q = j1 - j0;
    const [p, mixed] = tf.tidy(() => {
      const yb = tf.reshape(tf.slice(yRows, [0, j0, 0], [B, Q, h * d]), [B, Q * h, d]);
      const keys = tf.slice(x3, [0, 0, 0], [B, j1, d]);
      const scores = tf.reshape(tf.add(tf.reshape(tf.matMul(yb, keys, false, true), [B, Q, h, j1]), scoreMaskRows(lengths, B, j0, j1, j1)), [B, Q * h, j1]);
      const pb = tf.softmax(scores);
      const mult = flags ? blockMultiplier(flags, offsets[b], j0, j1, B, h, rate) : null;
      const pm = mult ? tf.mul(pb, mult) : pb;
      return [pb, tf.reshape(tf.matMul(pm, keys), [B, Q, h * d])];
    });
    weights.push(p);
    parts.push(mixed);
  }
  const mixed = tf.reshape(tf.concat(parts, 1), [B * L, h * d]);
  for (const t of parts) t.dispose();
  return { weights, mixed };
}

/**
 * Block `b`'s dropout multiplier, [B, (j1-j0) h, j1], in the scores' layout, from the blocked keep
 * flags (`blockedKeepFlags`: block b's [B, h, j1-j0, j1] slice at `offset`): flag / keep, which
 * is floor(u + keep) / keep (`multiplierFromUniform`) value for value, as the flag is that floor.
 */
function blockMultiplier(flags: Tensor, offset: number, j0: number, j1: number, B: number, h: number, rate: number): Tensor {
  const slice = tf.reshape(tf.slice(flags, [offset], [B * h * (j1 - j0) * j1]), [B, h, j1 - j0, j1]);
  return tf.reshape(tf.transpose(tf.div(tf.cast(slice, 'float32'), 1 - rate), [0, 2, 1, 3]), [B, (j1 - j0) * h, j1]);
}

/**
 * The backward pass of `blockedAttentionForward`, block by block, given dMixed [B, L h, d]: the
 * gradient in y (x_j M_i), [B*L, h*d], and in x through the weights and the keys, [B, L, d] (the sum
 * over blocks of each block's [B, j1, d] contribution: the unblocked products summed in another
 * order, so equal to rounding). The dropout multiplier and the dropped weights are made again from
 * the keep flags (the same ops, the same values) rather than kept from the forward pass. The
 * blocks' weights are the caller's (the forward pass's outputs).
 */
function blockedAttentionBackward(
  dMixed: Tensor,
  x3: Tensor,
  y3: Tensor,
  flags: Tensor | null,
  weights: Tensor[],
  blocks: [number, number][],
  B: number,
  h: number,
  d: number,
  rate: number,
): { dy: Tensor; dx: Tensor } {
  const L = x3.shape[1]!;
  const yRows = tf.reshape(y3, [B, L, h * d]);
  const dRows = tf.reshape(dMixed, [B, L, h * d]);
  const dys: Tensor[] = [];
  let dx: Tensor | null = null;
  const offsets = blockOffsets(blocks, B, h);
  blocks.forEach(([j0, j1], b) => {
    const Q = j1 - j0;
    const p = weights[b];
    const [dyb, dxb] = tf.tidy(() => {
      const yb = tf.reshape(tf.slice(yRows, [0, j0, 0], [B, Q, h * d]), [B, Q * h, d]);
      const dMixedB = tf.reshape(tf.slice(dRows, [0, j0, 0], [B, Q, h * d]), [B, Q * h, d]);
      const keys = tf.slice(x3, [0, 0, 0], [B, j1, d]);
      const mult = flags ? blockMultiplier(flags, offsets[b], j0, j1, B, h, rate) : null;
      const pm = mult ? tf.mul(p, mult) : p;
      const dPm = tf.matMul(dMixedB, keys, false, true); // [B, Q h, j1]
      const dxMix = tf.matMul(pm, dMixedB, true, false); // [B, j1, d]
      const dP = mult ? tf.mul(dPm, mult) : dPm;
      const dScores = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true)));
      const dyBlock = tf.reshape(tf.matMul(dScores, keys), [B, Q, h * d]);
      const dxKey = tf.matMul(dScores, yb, true, false); // [B, j1, d]
      const sum = tf.add(dxMix, dxKey);
      return [dyBlock, j1 < L ? tf.pad(sum, [[0, 0], [0, L - j1], [0, 0]]) : sum];
    });
    dys.push(dyb);
    if (dx === null) dx = dxb;
    else {
      const next = tf.add(dx, dxb);
      dx.dispose();
      dxb.dispose();
      dx = next;
    }
  });
  const dy = tf.reshape(tf.concat(dys, 1), [B * L, h * d]);
  for (const t of dys) t.dispose();
  return { dy, dx: dx! };
}


export interface LossAndGradients {
  /** Summed cross-entropy of the trained targets (not divided by `total`). */
  lossSum: number;
  /** Gradient of (summed loss / total) for every trainable variable, by variable name. */
  grads: Record<string, Tensor>;
}

/** The trained weights in the order the step returns their gradients. */
const TRAINED: WeightName[] = ['embedding', 'query', 'key', 'value', 'output', 'outputBias', 'normGain', 'normBias', 'windowProjection', 'windowBias'];

/**
 * Positions of each row of a chunk that the position-wise pass needs: through the row's last
 * weighted target (0 when it has none). A later position has no target and feeds no earlier one
 * (the window looks back), so dropping it changes no number; with `</s>` weighted out (the
 * configs' default) this drops each sequence's last position.
 */
export function keptPositions(batch: SequenceBatch, targets: Targets): Int32Array {
  const { batchSize: B, maxLength: L } = batch;
  const kept = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    for (let t = batch.lengths[b] - 1; t >= 0; t--) {
      if (targets.weights[b * L + t] !== 0) {
        kept[b] = t + 1;
        break;
      }
    }
  }
  return kept;
}

/** A chunk as the step lays it out: attention in [rows, length], its kept positions packed. */
export interface ChunkLayout {
  batch: SequenceBatch;
  targets: Targets;
  /** The attention's shape (the shape grid's when compiled; the chunk's own otherwise). */
  rows: number;
  length: number;
  /** Kept positions per real row (`keptPositions`). */
  kept: Int32Array;
}

/** The packed rows of a group of chunks: what the position-wise pass reads, and where each row lives in the chunks' [rows, length] layouts. */
export interface PackedRows {
  /** Packed rows with data (the rest, up to the arrays' length, are padding: user 0, weight 0). */
  count: number;
  ids: Int32Array;
  /** Position of each row in its sequence (the window's reach). */
  positions: Int32Array;
  targetUsers: Int32Array;
  /** Target weight times `scale`. */
  rowWeights: Float32Array;
  /**
   * The infected-user mask (`infectedUserMask`: MASKED_LOGIT at the padding user and at every user
   * at positions 0..t of row t's sequence) of the packed rows, as (row, user) pairs, each once,
   * for `tf.scatterND`: the dense mask's rows, entry for entry, without a [rows, U] host array.
   */
  infectedIndices: Int32Array;
  /** For each packed row (padding too): its row in the chunks' attention outputs stacked ([rows * length] each, in order) with one zero row after them all. */
  gather: Int32Array;
  /** Per chunk, for each of its rows * length positions: its packed row, or the array length (the zero row the position-wise pass appends) when it is not packed. */
  unpack: Int32Array[];
}

/**
 * Lays out the kept positions of `chunks` as consecutive packed rows (chunk by chunk, row by row,
 * each sequence's positions in order), padded to `size` rows (>= the kept total).
 */
export function packChunks(chunks: readonly ChunkLayout[], size: number, scale: number): PackedRows {
  const count = chunks.reduce((s, c) => s + c.kept.reduce((a, n) => a + n, 0), 0);
  if (size < count) throw new CascadeError('INTERNAL', `ndm: ${count} packed rows do not fit in ${size}`);
  const ids = new Int32Array(size);
  const positions = new Int32Array(size);
  const targetUsers = new Int32Array(size);
  const rowWeights = new Float32Array(size);
  const stacked = chunks.reduce((s, c) => s + c.rows * c.length, 0);
  const gather = new Int32Array(size).fill(stacked);
  const unpack: Int32Array[] = [];
  const pairs: number[] = [];
  let k = 0;
  let offset = 0;
  for (const { batch, targets, rows, length, kept } of chunks) {
    const L = batch.maxLength;
    const back = new Int32Array(rows * length).fill(size);
    const seen = new Set<number>();
    for (let b = 0; b < batch.batchSize; b++) {
      seen.clear();
      for (let t = 0; t < kept[b]; t++, k++) {
        const u = batch.users[b * L + t];
        ids[k] = u;
        positions[k] = t;
        targetUsers[k] = targets.users[b * L + t];
        rowWeights[k] = targets.weights[b * L + t] * scale;
        gather[k] = offset + b * length + t;
        back[b * length + t] = k;
        if (u !== PAD_USER) seen.add(u);
        pairs.push(k, PAD_USER);
        for (const v of seen) pairs.push(k, v);
      }
    }
    unpack.push(back);
    offset += rows * length;
  }
  return { count, ids, positions, targetUsers, rowWeights, infectedIndices: Int32Array.from(pairs), gather, unpack };
}

/** What a step's three kinds of pass are built for. */
interface PassLayout {
  architecture: NdmArchitecture;
  frozen: boolean;
  dropout: boolean;
  useGather: boolean;
}

/** (k, user k) for each packed row k, [N, 2] flattened. */
function targetPairs(targetUsers: Int32Array): Int32Array {
  const pairs = new Int32Array(2 * targetUsers.length);
  for (let k = 0; k < targetUsers.length; k++) {
    pairs[2 * k] = k;
    pairs[2 * k + 1] = targetUsers[k];
  }
  return pairs;
}

/** Embedding rows of `ids` (a gather, or a one-hot product where the backend lacks the segment sum). */
function lookup(embedding: Tensor2D, ids: Tensor, U: number, useGather: boolean): Tensor2D {
  return (useGather ? tf.gather(embedding, ids) : tf.matMul(tf.oneHot(ids as tf.Tensor1D, U), embedding)) as Tensor2D;
}

/** The gradient of `lookup` in the embedding, [U, d]. */
function lookupBackward(dx: Tensor, ids: Tensor, U: number, useGather: boolean): Tensor {
  return useGather ? tf.unsortedSegmentSum(dx, ids as tf.Tensor1D, U) : tf.matMul(tf.oneHot(ids as tf.Tensor1D, U), dx, true, false);
}

/** The whole embedding (the frozen columns first, NDM+SN) and a function that keeps a gradient's trained columns. */
function embeddingOf(inputs: Tensor[], next: number, layout: PassLayout): { embedding: Tensor2D; next: number; trained: (g: Tensor) => Tensor } {
  const { numUsers: U, dimension: d, frozenDimensions: f } = layout.architecture;
  const trainedPart = inputs[next++];
  const embedding = (layout.frozen ? tf.concat([inputs[next++], trainedPart], 1) : trainedPart) as Tensor2D;
  return { embedding, next, trained: (g) => (f > 0 ? tf.slice(g, [0, f], [U, d - f]) : g) };
}

/** The inputs both attention passes start with, [scoreT, embedding, frozen embedding?, ids], and where the rest start. */
function attentionInputs(inputs: Tensor[], layout: PassLayout): { scoreT: Tensor2D; e: ReturnType<typeof embeddingOf>; ids: Tensor; next: number } {
  const e = embeddingOf(inputs, 1, layout);
  return { scoreT: inputs[0] as Tensor2D, e, ids: inputs[e.next], next: e.next + 1 };
}

/** W^Q_i and W^K_i as [h, d, d], and the scores' scale. */
function headFactors(query: Tensor, key: Tensor, a: NdmArchitecture): { q3: Tensor; k3: Tensor; scale: number } {
  const { dimension: d, heads: h } = a;
  const q3 = tf.transpose(tf.reshape(query, [d, h, d]), [1, 0, 2]); // [h, d, d]: W^Q_i
  const k3 = tf.transpose(tf.reshape(key, [d, h, d]), [1, 0, 2]);
  return { q3, k3, scale: a.scaleScores ? 1 / Math.sqrt(d) : 1 };
}

/**
 * The score matrices' product M_i^T = W^K_i (W^Q_i)^T (scaled) stacked, [h*d, d]: inputs [query,
 * key]. One pass a step, whose output every chunk's attention passes take (it is about 0.2 ms of
 * small products, once rather than twice a chunk).
 */
function scoreProductsBody(a: NdmArchitecture): (inputs: Tensor[]) => Tensor[] {
  const { dimension: d, heads: h } = a;
  return ([query, key]) =>
    tf.tidy(() => {
      const { q3, k3, scale } = headFactors(query, key, a);
      let m3t = tf.matMul(k3, q3, false, true);
      if (scale !== 1) m3t = tf.mul(m3t, scale);
      return [tf.reshape(m3t, [h * d, d])];
    });
}

/**
 * The gradients of query and key from the step's x^T dy summed over its chunks (G, [d, h*d]:
 * block i = x^T dy_i, the gradient in M_i = scale W^Q_i (W^K_i)^T; see the attention backward):
 * inputs [query, key, G]; outputs [dQuery, dKey]. One pass a step, after the last chunk's
 * attention backward.
 */
function scoreGradientsBody(a: NdmArchitecture): (inputs: Tensor[]) => Tensor[] {
  const { dimension: d, heads: h } = a;
  const hd = h * d;
  return ([query, key, dScore]) =>
    tf.tidy(() => {
      const { q3, k3, scale } = headFactors(query, key, a);
      let g3 = tf.transpose(tf.reshape(dScore, [d, h, d]), [1, 0, 2]); // [h, d, d]: the gradient in M_i
      if (scale !== 1) g3 = tf.mul(g3, scale);
      const heads = (t: Tensor) => tf.reshape(tf.transpose(t, [1, 0, 2]), [d, hd]);
      return [heads(tf.matMul(g3, k3)), heads(tf.matMul(g3, q3, true, false))];
    });
}

/** A chunk's attention multiplier from its keep flags in the scores' layout, [R, L*h, L]. */
function attentionMultiplier(flags: Tensor, L: number, h: number, rate: number): Tensor {
  return tf.reshape(tf.div(tf.cast(flags, 'float32'), 1 - rate), [-1, L * h, L]);
}

/**
 * The attention of one chunk, forward, as a pure function: inputs [the stacked M_i^T
 * (`scoreProductsBody`), embedding, frozen embedding?, ids [R*L], lengths [R], keep flags?]; outputs [mixed [R*L, h*d] (row j:
 * [sum_k w^i_jk x_k]_i), y [R, L*h, d] (row (j, i): x_j M_i), the softmax weights (one tensor, or one
 * per query block)]. The laid-out attention of the former single pass:
 *
 * - scores as [R, L*h, L] with row (j, i) = x_j M_i for M_i = W^Q_i (W^K_i)^T (the product of
 *   x with all h score matrices at once, reshaped for free), times x^T;
 * - the attention output as (sum_k w^i_jk x_k) stacked over heads, [N, h*d], which the
 *   position-wise pass multiplies by the stacked W^V_i W^O_i, [h*d, d].
 */
function attentionForwardBody(layout: PassLayout, R: number, L: number, blocks: [number, number][]): (inputs: Tensor[]) => Tensor[] {
  const a = layout.architecture;
  const { numUsers: U, dimension: d, heads: h, dropout: rate } = a;
  return (inputs) =>
    tf.tidy(() => {
      const { scoreT, e, ids, next: at } = attentionInputs(inputs, layout);
      let next = at;
      const lengths = inputs[next++];
      const flags = layout.dropout ? inputs[next++] : null;
      const x = lookup(e.embedding, ids, U, layout.useGather);
      // Unblocked, the row count R appears only as -1 (the graph serves every R of this length).
      const x3 = tf.reshape(x, [-1, L, d]);
      const y3 = tf.reshape(tf.matMul(x, scoreT, false, true), [-1, L * h, d]);
      if (blocks.length > 1) {
        const forward = blockedAttentionForward(x3, y3, lengths, flags, blocks, R, h, d, rate);
        return [forward.mixed, y3, ...forward.weights];
      }
      const scores = tf.reshape(tf.add(tf.reshape(tf.matMul(y3, x3, false, true), [-1, L, h, L]), scoreMask(lengths, L)), [-1, L * h, L]);
      const p = tf.softmax(scores); // [R, L*h, L]: w^i_jk
      const pm = flags ? tf.mul(p, attentionMultiplier(flags, L, h, rate)) : p;
      return [tf.reshape(tf.matMul(pm, x3), [-1, h * d]), y3, p];
    });
}

/**
 * The attention of one chunk, backward: inputs [the stacked M_i^T, embedding, frozen embedding?,
 * ids, keep flags?, y, the softmax weights (as the forward returned them), the position-wise pass's
 * dMixed [N+1, h*d] (its last row zero), the packed row of each of the chunk's R*L positions (N
 * for one not packed), and the running sums of x^T dy (`scoreGradientsBody`) and of the
 * embedding's trained columns' gradient]; outputs those running sums plus this chunk's (through
 * the scores, the keys and the mixed values).
 */
function attentionBackwardBody(layout: PassLayout, R: number, L: number, blocks: [number, number][]): (inputs: Tensor[]) => Tensor[] {
  const a = layout.architecture;
  const { numUsers: U, dimension: d, heads: h, dropout: rate } = a;
  const hd = h * d;
  return (inputs) =>
    tf.tidy(() => {
      const { scoreT, e, ids, next: at } = attentionInputs(inputs, layout);
      let next = at;
      const flags = layout.dropout ? inputs[next++] : null;
      const y3 = inputs[next++];
      const weights = inputs.slice(next, next + blocks.length);
      next += blocks.length;
      const [dMixedPacked, unpack, runScore, runEmbedding] = inputs.slice(next);
      const dMixedRows = tf.gather(dMixedPacked, unpack); // [R*L, h*d]
      const x = lookup(e.embedding, ids, U, layout.useGather);
      const x3 = tf.reshape(x, [-1, L, d]);
      const dMixed = tf.reshape(dMixedRows, [-1, L * h, d]);
      let dy: Tensor;
      let dxAttention: Tensor; // [R, L, d]: through the attention weights and the keys
      if (blocks.length > 1) {
        ({ dy, dx: dxAttention } = blockedAttentionBackward(dMixed, x3, y3, flags, weights, blocks, R, h, d, rate));
      } else {
        const p = weights[0];
        const mult = flags ? attentionMultiplier(flags, L, h, rate) : null;
        const pm = mult ? tf.mul(p, mult) : p;
        const dPm = tf.matMul(dMixed, x3, false, true); // [R, L*h, L]
        const dxMix = tf.matMul(pm, dMixed, true, false); // [R, L, d]
        const dP = mult ? tf.mul(dPm, mult) : dPm;
        const dScores = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true)));
        dy = tf.reshape(tf.matMul(dScores, x3), [-1, hd]);
        dxAttention = tf.add(dxMix, tf.matMul(dScores, y3, true, false));
      }
      // x^T dy, [d, h*d], block i = x^T dy_i (the gradient in M_i): TensorFlow's CPU product with
      // the transposed operand first runs about twice as fast into [d, h*d] as dy^T x does into
      // [h*d, d] (the position count contracted either way; measured, issue 22). Summed over the
      // step's chunks; `scoreGradientsBody` turns the sum into the query and key gradients.
      const dScore = tf.matMul(x, dy, true, false);
      const dx = tf.add(tf.reshape(dxAttention, [-1, d]), tf.matMul(dy, scoreT));
      const dEmbedding = e.trained(lookupBackward(dx, ids, U, layout.useGather));
      return [tf.add(runScore, dScore), tf.add(runEmbedding, dEmbedding)];
    });
}

/**
 * Everything after the attention, forward and backward, on packed rows (`packChunks`): inputs
 * [embedding, frozen embedding?, value, output, outputBias, normGain, normBias, windowProjection,
 * windowBias?, ids [N], positions [N], the step's attention outputs stacked with a zero row after
 * them [S+1, h*d] and each packed row's row in them [N] (`PackedRows.gather`), the infected-user
 * mask's (row, user) pairs [P, 2] with MASKED_LOGIT for each [P], (row, target user) pairs [N, 2],
 * row weights [N, 1], attended keep flags [N*d]?]; outputs [loss / total, the
 * gradients of the embedding's trained columns (the residual path), value, output, outputBias,
 * normGain, normBias, windowProjection, windowBias?, and dMixed with one zero row after it,
 * [N+1, h*d]]. Padded rows have weight 0, so they add exactly zero. N appears in no op (-1 in
 * reshapes, slices counted from either end, no fused matMul, the target pairs an input): compiled
 * with N dynamic, one graph serves every packed size of at least the window (`run` pads to it).
 */
function positionWiseBody(layout: PassLayout & { layerNorm: LayerNormOptions }, N: number): (inputs: Tensor[]) => Tensor[] {
  const a = layout.architecture;
  const { numUsers: U, dimension: d, heads: h, window: W, dropout: rate } = a;
  const hd = h * d;
  return (inputs) =>
    tf.tidy(() => {
      const e = embeddingOf(inputs, 0, layout);
      let next = e.next;
      const [value, output, outputBias, normGain, normBias, windowProjection] = inputs.slice(next, next + 6) as Tensor2D[];
      next += 6;
      const windowBias = a.windowBias ? inputs[next++] : null;
      const [ids, positions, stacked, gather, infectedPairs, infectedValues, targetIndex, rowWeights] = inputs.slice(next, next + 8);
      next += 8;
      const mixed = tf.gather(stacked, gather); // [N, h*d]
      const dropAttended = layout.dropout ? tf.reshape(tf.div(tf.cast(inputs[next++], 'float32'), 1 - rate), [-1, d]) : null;
      // ---- forward ----
      const v3 = tf.transpose(tf.reshape(value, [d, h, d]), [1, 0, 2]); // W^V_i
      const o3 = tf.reshape(output, [h, d, d]); // W^O_i
      const valueOutput = tf.reshape(tf.matMul(v3, o3), [hd, d]) as Tensor2D; // row block i: W^V_i W^O_i
      const x = lookup(e.embedding, ids, U, layout.useGather);
      // matMul + bias as separate ops (what tfjs-node's fused kernel runs, without its reshapes to N).
      const attended = tf.add(tf.matMul(mixed, valueOutput), outputBias);
      const z = tf.add(x, dropAttended ? tf.mul(attended, dropAttended) : attended);
      const norm = layerNormForward(z, normGain, normBias, layout.layerNorm);
      const valid = windowValid(positions, N, W);
      const windowed = (W > 1 ? packedWindowInput(norm.y, valid, N, W) : norm.y) as Tensor2D;
      const product = tf.matMul(windowed, windowProjection);
      const logits = windowBias ? tf.add(product, windowBias) : product;
      if (windowBias) product.dispose();
      // The infected users' logits set to MASKED_LOGIT (the dense mask added them to it before:
      // either way exp underflows to exactly 0 there, so the loss and gradients are the same).
      const masked = tf.tensorScatterUpdate(logits, infectedPairs, infectedValues);
      // [N, U] tensors are freed as soon as they are used (eagerly, e.g. in a graph's tracing run,
      // they would otherwise live to the end of the scope).
      logits.dispose();
      // Loss (Eq. 8 negated, divided by total) and its gradient in the logits.
      const ce = crossEntropyWithGradientOfIds(masked as Tensor2D, rowWeights, targetIndex);
      masked.dispose();
      // ---- backward ----
      const dLogits = ce.dLogits; // [N, U]
      const dWindow = tf.matMul(windowed, dLogits, true, false);
      const dWindowBias = windowBias ? tf.sum(dLogits, 0) : null;
      const dWindowed = tf.matMul(dLogits, windowProjection, false, true); // [N, W*d]
      dLogits.dispose();
      const dAct = W > 1 ? packedWindowBackward(dWindowed, valid, N, d, W) : dWindowed;
      const normGrads = layerNormBackward(dAct, normGain, norm.trace);
      const dz = normGrads.dx;
      const dAttended = dropAttended ? tf.mul(dz, dropAttended) : dz;
      // dAttended^T mixed, [d, h*d] (block i: (d(W^V_i W^O_i))^T), rather than mixed^T dAttended: the
      // same products, about twice as fast in this orientation (see the attention backward).
      const dValueOutputT = tf.matMul(dAttended, mixed, true, false);
      const dMixed = tf.matMul(dAttended, valueOutput, false, true); // [N, h*d]
      const dVO3t = tf.transpose(tf.reshape(dValueOutputT, [d, h, d]), [1, 0, 2]); // [h, d, d]: (d(W^V_i W^O_i))^T
      return [
        ce.value,
        e.trained(lookupBackward(dz, ids, U, layout.useGather)),
        tf.reshape(tf.transpose(tf.matMul(dVO3t, o3, true, true), [1, 0, 2]), [d, hd]),
        tf.reshape(tf.matMul(v3, dVO3t, true, true), [hd, d]),
        tf.sum(dAttended, 0),
        normGrads.dGain,
        normGrads.dBias,
        dWindow,
        ...(dWindowBias ? [dWindowBias] : []),
        tf.concat([dMixed, tf.zeros([1, hd])], 0),
      ];
    });
}

export interface ManualGradientsOptions {
  /** Embedding lookup: gather (and a segment sum backward) where the backend has the kernel, else a one-hot product. */
  embeddingLookup?: 'gather' | 'one-hot';
  /**
   * Run each pass as one TensorFlow graph on the tensorflow backend (default true; see
   * tensor-ops' GraphFunction). Elsewhere, or false, the same ops run eagerly.
   */
  compile?: boolean;
  /**
   * Cap on the score cells of one attention block (default `MAX_ATTENTION_BLOCK_CELLS`): a chunk
   * whose attention exceeds it is computed in query blocks (`attentionBlocks`). Tests set it low to
   * compare blocked and unblocked chunks.
   */
  maxAttentionBlockCells?: number;
  /**
   * Cap on the logit cells (packed rows x users) of one position-wise pass (default
   * `MAX_LOGIT_CELLS`): a step's chunks are packed into as few passes as fit under it (at least
   * one chunk each). Tests set it low to have steps of several passes.
   */
  maxLogitCells?: number;
}

/** Default cap on one position-wise pass's logits (packed rows x users): 32 MB of floats. */
export const MAX_LOGIT_CELLS = 1 << 23;

/**
 * Sizes a compiled chunk's attention is padded to (tensor-ops' shape grid), so that a few dozen
 * graphs serve every batch: lengths up to 8 as they are, then four per doubling with steps of at
 * most 32 (2 to 16, 4 to 32, 8 to 64, 16 to 128, 32 beyond: attention costs L^2, so long chunks pad
 * little). Rows are padded (two per doubling with steps of at most 16: 1, 2, 3, 4, 6, 8, 12, 16,
 * 24, 32, then multiples of 16) only for a chunk whose attention runs in query blocks: the others
 * share their length's graph, which leaves the row count dynamic, as the position-wise pass's
 * graph leaves its packed row count (issue 22: 294 graphs over a 30-epoch Memetracker run
 * before, about 60 after).
 */
export const paddedLength = shapeGrid({ stepsPerDoubling: 4, maxStep: 32 });
export const paddedRows = shapeGrid({ stepsPerDoubling: 2, maxStep: 16 });

/** A trained chunk of a step. */
interface PlannedChunk extends ChunkLayout {
  blocks: [number, number][];
  packed: number;
  /** Index of its attention keep-flag job in the step's jobs (the attended-vector job follows); -1 without dropout. */
  flags: number;
}

/** A planned training step (`ManualGradients.plan`). */
export interface StepPlan {
  groups: PlannedChunk[][];
  /** The keep flags the step needs, in the order `run` takes them. */
  jobs: KeepFlagJob[];
  total: number;
}

/**
 * Loss and gradients of the mean next-user cross-entropy with the hand-written backward pass,
 * for one network.
 *
 * A step runs in three kinds of pass (issue 22), between two small ones (the score matrices'
 * products from query and key first, their gradients from the chunks' summed x^T dy last): per
 * chunk, its attention forward in the chunk's [rows, length] layout; then, for all the step's
 * chunks at once, everything after the attention (the value and output products, the residual,
 * the layer norm, the window, the logits over all users and the loss, forward and backward) on
 * the kept positions only, packed row after row (`packChunks`: no padding positions, no rows past
 * the last target); then per chunk the attention backward. The position-wise work is most of the arithmetic (the [positions, W*d] x
 * [W*d, U] window product three times), and on Memetracker the packed rows are 40% of the
 * padded chunks' positions. Steps whose logits would exceed `maxLogitCells` pack their chunks in
 * several groups.
 *
 * On the tensorflow backend each pass runs as one compiled TensorFlow graph (tensor-ops'
 * `GraphFunction`): a chunk's attention padded to its length on a grid (`paddedLength`), one graph
 * per padded length serving every row count (a dynamic dimension; a chunk in query blocks also
 * pads its rows, `paddedRows`, and has a graph per shape), and one graph for the position-wise
 * pass whatever its packed row count, so that a few dozen graphs serve a whole training run;
 * padding has no target, so the numbers are those of the eager pass up to float rounding.
 * Dropout keep flags are drawn on the host at each chunk's own shape from the tape path's seeds,
 * so compiled and eager runs use the same masks. Elsewhere (or with `compile: false`) the same
 * passes run eagerly, unpadded. `dispose()` unloads the graphs.
 */
export class ManualGradients {
  private readonly graph: GraphFunction | null;
  private readonly bodies = new Map<string, (inputs: Tensor[]) => Tensor[]>();
  private readonly useGather: boolean;
  private readonly maxBlockCells: number;
  private readonly maxPackedRows: number;
  private current: ((inputs: Tensor[]) => Tensor[]) | null = null;
  /** The zero running x^T dy for a step's first attention backward, and the zero row [1, h*d] packed padding rows gather. */
  private zeros: Tensor[] | null = null;

  constructor(
    readonly network: NdmNetwork,
    options: ManualGradientsOptions = {},
  ) {
    if (!manualGradientsSupported(network.architecture)) throw new CascadeError('INTERNAL', 'ndm: the hand-written gradient does not cover the Finit term; use the tape');
    this.maxBlockCells = options.maxAttentionBlockCells ?? MAX_ATTENTION_BLOCK_CELLS;
    this.maxPackedRows = Math.max(1, Math.floor((options.maxLogitCells ?? MAX_LOGIT_CELLS) / network.architecture.numUsers));
    // Gather and its gradient (a segment sum) where the backend has the kernel; else a one-hot product.
    this.useGather = (options.embeddingLookup ?? (tf.getKernel('UnsortedSegmentSum', tf.getBackend()) ? 'gather' : 'one-hot')) === 'gather';
    // One GraphFunction for every pass and shape: the body of a call is chosen by its key.
    this.graph = options.compile === false || !graphFunctionsEnabled() ? null : new GraphFunction((inputs) => this.current!(inputs), { name: 'ndm training pass' });
  }

  /** Compilation statistics (null when running eagerly). */
  get graphStats(): GraphFunctionStats | null {
    return this.graph?.stats ?? null;
  }

  private trainedWeights(): WeightName[] {
    return TRAINED.filter((name) => name !== 'windowBias' || this.network.architecture.windowBias);
  }

  private layout(): PassLayout {
    const network = this.network;
    return { architecture: network.architecture, frozen: network.frozenEmbeddingColumns() !== null, dropout: network.architecture.dropout > 0, useGather: this.useGather };
  }

  /**
   * Runs pass `key` (compiled when graphs are on, else eagerly), building its body once; the
   * inputs' `dynamic` dimensions (GraphFunction) may vary between the calls one key serves.
   */
  private pass(key: string, make: () => (inputs: Tensor[]) => Tensor[], inputs: Tensor[], dynamic: readonly DynamicDim[] = []): Tensor[] {
    let body = this.bodies.get(key);
    if (!body) {
      body = make();
      // Compiled bodies are one per shape; eager ones are cheap to rebuild, keep few.
      if (!this.graph && this.bodies.size > 64) this.bodies.clear();
      this.bodies.set(key, body);
    }
    if (!this.graph) return body(inputs);
    this.current = body;
    try {
      return this.graph.call(inputs, key, { dynamic });
    } finally {
      this.current = null;
    }
  }

  /**
   * Loss and gradients over `chunks` (Eq. 8; the mean is the summed loss over all chunks divided
   * by `total`), training mode (dropout on when the architecture has it). Chunks without a trained
   * target are skipped, as the tape path does. Draws two dropout seeds per trained chunk from
   * `rng`, in the tape path's order.
   */
  compute(chunks: readonly SequenceBatch[], targets: readonly Targets[], total: number, rng: Rng): LossAndGradients {
    const plan = this.plan(chunks, targets, total, rng);
    return this.run(plan, plan.jobs.map(keepFlags));
  }

  /**
   * A step's layout: its trained chunks (the attention's shape, the kept positions, the dropout
   * seeds, drawn from `rng` two per trained chunk in the tape path's order), their groups of one
   * position-wise pass each, and the keep-flag jobs of its dropout (`run` takes their flags in that
   * order; a `DropoutThread` may make them ahead). Chunks without a trained target are skipped, as
   * the tape path does.
   */
  plan(chunks: readonly SequenceBatch[], targets: readonly Targets[], total: number, rng: Rng): StepPlan {
    const a = this.network.architecture;
    const { heads: h, dimension: d, dropout: rate } = a;
    const compiled = this.graph !== null;
    const planned: PlannedChunk[] = [];
    const jobs: KeepFlagJob[] = [];
    for (let c = 0; c < chunks.length; c++) {
      const batch = chunks[c];
      if (targets[c].count === 0) continue;
      const { batchSize: B, maxLength: L } = batch;
      const length = compiled ? paddedLength(L) : L;
      const kept = keptPositions(batch, targets[c]);
      // Compiled, a chunk whose attention is one block runs in its length's graph, which leaves
      // the row count dynamic (no padded rows); one in query blocks keeps a graph of its own grid
      // shape (the blocks depend on the rows).
      const padded = compiled ? paddedRows(B) : B;
      const inBlocks = attentionBlocks(padded, length, h, this.maxBlockCells);
      const rows = inBlocks.length > 1 ? padded : B;
      // B <= the padded rows, so a chunk that fits one block padded fits it unpadded too.
      const blocks: [number, number][] = inBlocks.length > 1 ? inBlocks : [[0, length]];
      if (rate > 0) {
        const [attention, attended] = [rng.seedInt(), rng.seedInt()];
        jobs.push(blocks.length > 1 ? { kind: 'blocked', seed: attention, rate, B, h, L, rows, blocks } : { kind: 'attention', seed: attention, rate, B, h, L, rows, length });
        jobs.push({ kind: 'attended', seed: attended, rate, L, d, kept });
      }
      planned.push({ batch, targets: targets[c], rows, length, kept, packed: kept.reduce((s, n) => s + n, 0), blocks, flags: rate > 0 ? jobs.length - 2 : -1 });
    }
    if (planned.length === 0) throw new CascadeError('INTERNAL', 'ndm: no chunk has a trained target');
    // Groups of chunks whose packed rows fit one position-wise pass.
    const groups: PlannedChunk[][] = [];
    let rowsInGroup = 0;
    for (const chunk of planned) {
      if (groups.length === 0 || rowsInGroup + chunk.packed > this.maxPackedRows) {
        groups.push([]);
        rowsInGroup = 0;
      }
      groups[groups.length - 1].push(chunk);
      rowsInGroup += chunk.packed;
    }
    return { groups, jobs, total };
  }

  /** Loss and gradients of a planned step, given the flags of its jobs (in order). */
  run(plan: StepPlan, flags: readonly Uint8Array[]): LossAndGradients {
    if (flags.length !== plan.jobs.length) throw new CascadeError('INTERNAL', `ndm: ${flags.length} keep-flag arrays for ${plan.jobs.length} jobs`);
    const { groups, total } = plan;
    const network = this.network;
    const a = network.architecture;
    const { heads: h, dimension: d } = a;
    const compiled = this.graph !== null;
    const layout = this.layout();
    const w = (name: WeightName) => network.weightVariable(name) as Tensor;
    const frozen = network.frozenEmbeddingColumns();
    const embedding = frozen ? [w('embedding'), frozen] : [w('embedding')];
    const positionWeights: WeightName[] = ['value', 'output', 'outputBias', 'normGain', 'normBias', 'windowProjection', ...(a.windowBias ? (['windowBias'] as WeightName[]) : [])];
    this.zeros ??= [tf.zerosLike(w('query')), tf.zeros([1, h * d])];
    const zeroRow = this.zeros[1];
    let running: Tensor[] = this.zeros.slice(0, 1); // x^T dy (then the embedding, from the first position-wise pass)
    let positionSums: Tensor[] | null = null; // loss, then the gradients of positionWeights
    const owned = (t: Tensor) => !this.zeros!.includes(t);
    const scoreInputs = [w('query'), w('key')];
    const [scoreT] = this.pass('score products', () => scoreProductsBody(a), scoreInputs);
    try {
      for (const group of groups) {
        const made: Tensor[] = [];
        const track = <T extends Tensor>(t: T): T => (made.push(t), t);
        try {
          // Attention forward, chunk by chunk.
          const chunkInputs = group.map((chunk) => {
            const { batch, rows, length } = chunk;
            const { batchSize: B, maxLength: L } = batch;
            const ids = new Int32Array(rows * length);
            for (let b = 0; b < B; b++) ids.set(batch.users.subarray(b * L, (b + 1) * L), b * length);
            const lengths = new Int32Array(rows);
            lengths.set(batch.lengths);
            const inputs: Tensor[] = [track(tf.tensor1d(ids, 'int32')), track(tf.tensor1d(lengths, 'int32'))];
            if (chunk.flags >= 0) inputs.push(track(tf.tensor1d(flags[chunk.flags], 'bool')));
            return inputs;
          });
          const forward = group.map((chunk, c) => {
            const [ids, lengths, flags] = chunkInputs[c];
            const dynamic = chunk.blocks.length === 1;
            const out = this.pass(
              `attention forward ${dynamic ? '' : chunk.rows}x${chunk.length}`,
              () => attentionForwardBody(layout, chunk.rows, chunk.length, chunk.blocks),
              [scoreT, ...embedding, ids, lengths, ...(flags ? [flags] : [])],
              dynamic ? [null, ...embedding.map(() => null), 0, 0, 0] : [],
            );
            out.forEach(track);
            return out;
          });
          // Everything after the attention, on the group's packed rows.
          const count = group.reduce((s, c) => s + c.packed, 0);
          // Compiled, the packed pass's graph leaves N dynamic; it needs N >= the window (no
          // branch on N in the graph), so tiny groups get padding rows.
          const N = compiled ? Math.max(count, a.window) : count;
          const packed = packChunks(group, N, 1 / total);
          const stacked = track(tf.concat([...forward.map((f) => f[0]), zeroRow], 0));
          const pairs = packed.infectedIndices.length / 2;
          const positionInputs = [
            ...embedding,
            ...positionWeights.map(w),
            track(tf.tensor1d(packed.ids, 'int32')),
            track(tf.tensor1d(packed.positions, 'int32')),
            stacked,
            track(tf.tensor1d(packed.gather, 'int32')),
            track(tf.tensor2d(packed.infectedIndices, [pairs, 2], 'int32')),
            track(tf.tensor1d(new Float32Array(pairs).fill(MASKED_LOGIT))),
            // (row, target user) of every row: the targets as ids, no [N, U] one-hot.
            track(tf.tensor2d(targetPairs(packed.targetUsers), [N, 2], 'int32')),
            track(tf.tensor2d(packed.rowWeights, [N, 1])),
          ];
          if (layout.dropout) {
            const attended = new Uint8Array(N * d);
            let row = 0;
            for (const chunk of group) {
              attended.set(flags[chunk.flags + 1], row * d);
              row += chunk.packed;
            }
            positionInputs.push(track(tf.tensor1d(attended, 'bool')));
          }
          const out = this.pass(`position-wise${compiled ? '' : ` ${N}`}`, () => positionWiseBody({ ...layout, layerNorm: network.layerNormOptions() }, N), positionInputs, [
            ...positionInputs.slice(0, embedding.length + positionWeights.length).map(() => null),
            ...positionInputs.slice(embedding.length + positionWeights.length).map(() => 0),
          ]);
          const dMixed = track(out.pop()!);
          const [loss, dEmbedding, ...grads] = out;
          if (positionSums === null) positionSums = [loss, ...grads];
          else {
            const sums: Tensor[] = positionSums.map((s, i) => tf.add(s, i === 0 ? loss : grads[i - 1]));
            tf.dispose([...positionSums, loss, ...grads]);
            positionSums = sums;
          }
          if (running.length === 1) running = [...running, dEmbedding];
          else {
            const sum = tf.add(running[1], dEmbedding);
            tf.dispose([running[1], dEmbedding]);
            running[1] = sum;
          }
          // Attention backward, chunk by chunk, adding to the running gradients.
          group.forEach((chunk, c) => {
            const [ids, , flags] = chunkInputs[c];
            const [, y, ...weights] = forward[c];
            const unpack = track(tf.tensor1d(packed.unpack[c], 'int32'));
            const dynamic = chunk.blocks.length === 1;
            // dMixed's row count (the packed size) varies for every chunk; the chunk's own
            // dimensions too unless its attention is in query blocks.
            const next = this.pass(
              `attention backward ${dynamic ? '' : chunk.rows}x${chunk.length}`,
              () => attentionBackwardBody(layout, chunk.rows, chunk.length, chunk.blocks),
              [scoreT, ...embedding, ids, ...(flags ? [flags] : []), y, ...weights, dMixed, unpack, ...running],
              [null, ...embedding.map(() => null), ...(dynamic ? [0, ...(flags ? [0] : []), 0, 0, 0, 0] : [null, ...(flags ? [null] : []), null, ...weights.map(() => null), 0, null]), ...running.map(() => null)],
            );
            for (const t of running) if (owned(t)) t.dispose();
            running = next;
          });
        } finally {
          tf.dispose(made);
        }
      }
    } catch (error) {
      tf.dispose([scoreT, ...running.filter(owned), ...(positionSums ?? [])]);
      throw error;
    }
    scoreT.dispose();
    const [loss, ...grads] = positionSums!;
    const [dScore, dEmbedding] = running;
    const [dQuery, dKey] = this.pass('score gradients', () => scoreGradientsBody(a), [...scoreInputs, dScore]);
    if (owned(dScore)) dScore.dispose();
    const lossSum = (loss.dataSync()[0] as number) * total;
    loss.dispose();
    const byName: Record<string, Tensor> = {};
    const gradient: Partial<Record<WeightName, Tensor>> = { embedding: dEmbedding, query: dQuery, key: dKey };
    positionWeights.forEach((name, i) => (gradient[name] = grads[i]));
    for (const name of this.trainedWeights()) byName[network.weightVariable(name).name] = gradient[name]!;
    return { lossSum, grads: byName };
  }

  /** Unloads the compiled graphs. */
  dispose(): void {
    this.graph?.dispose();
    this.bodies.clear();
    for (const z of this.zeros ?? []) z.dispose();
    this.zeros = null;
  }
}

/**
 * One eager evaluation of `ManualGradients.compute` (no graph is compiled): the loss and
 * gradients of the mean next-user cross-entropy over `chunks`.
 */
export function manualLossAndGradients(
  network: NdmNetwork,
  chunks: readonly SequenceBatch[],
  targets: readonly Targets[],
  total: number,
  rng: Rng,
  options: { embeddingLookup?: 'gather' | 'one-hot'; maxAttentionBlockCells?: number; maxLogitCells?: number } = {},
): LossAndGradients {
  const manual = new ManualGradients(network, { ...options, compile: false });
  try {
    return manual.compute(chunks, targets, total, rng);
  } finally {
    manual.dispose();
  }
}
