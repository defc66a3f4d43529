import { CascadeError, PAD_USER, type Rng } from '@cascade-lab/core';
import { MASKED_LOGIT, crossEntropyWithGradientOfIds, type NdmNetwork, type SequenceBatch, type Targets } from './model.js';
import { GraphFunction, graphFunctionsEnabled, layerNormBackward, layerNormForward, shapeGrid, type GraphFunctionStats, type LayerNormOptions } from '@cascade-lab/tensor-ops';
import { tf, type Tensor, type Tensor2D } from './tf.js';
import { UniformStream } from './uniform-stream.js';
import type { NdmArchitecture, WeightName } from './weights.js';

/**
 * NDM's training loss and its gradient with the backward pass written out by hand.
 *
 * Why: at NDM's sizes a training step is bound by kernel dispatch, not arithmetic (a median
 * Memetracker batch is ~270 positions; each TensorFlow kernel call costs 20-40 us however small).
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
 *   concatenated window [N, win*d] directly.
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
function scoreMask(lengths: Tensor, B: number, L: number): Tensor {
  const positions = tf.range(0, L, 1, 'int32');
  const k = tf.reshape(positions, [1, 1, 1, L]);
  const later = tf.greater(k, tf.reshape(positions, [1, L, 1, 1])); // [1, L, 1, L]
  const padding = tf.greaterEqual(k, tf.reshape(lengths, [B, 1, 1, 1])); // [B, 1, 1, L]
  return tf.mul(tf.cast(tf.logicalOr(later, padding), 'float32'), MASKED_LOGIT);
}

/**
 * `scoreMask` for the query rows j0..j1-1 against the keys 0..K-1 only, [B, j1-j0, 1, K]: entry for
 * entry the rows j0..j1-1 and columns 0..K-1 of `scoreMask(lengths, B, L)`.
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
 * The infected-user mask (`infectedUserMask`: MASKED_LOGIT at the padding user and at every user
 * at positions 0..t of row t's sequence, 0 elsewhere, [B*L, U]) in index form: its MASKED_LOGIT
 * entries as (row, user) pairs, each once, for `tf.scatterND` (issue 22). The dense form cost five
 * [B*L, U] tensors (one-hot ids, their running sum, the padding user added, clipped, scaled), the
 * largest tensors of a training step on a large vocabulary (12,600 users: 124 MB each for the
 * longest Twitter-sized cascade); this costs two small host arrays and the one [B*L, U] mask that
 * the logits are added to. The number of pairs is given the bound B (L(L+1)/2 + L) of a chunk shape
 * (row t holds at most t+1 users and the padding user), so that one compiled graph serves every
 * chunk of the shape; the unused pairs point at (0, PAD_USER) with value 0, which scatterND adds
 * to that entry's MASKED_LOGIT without changing it. The mask is therefore the dense form's, entry
 * for entry, and so are the masked logits.
 */
export function infectedEntries(batch: SequenceBatch, numUsers: number): { indices: Int32Array; values: Float32Array; pairs: number } {
  const { batchSize: B, maxLength: L } = batch;
  const bound = B * ((L * (L + 1)) / 2 + L);
  const indices = new Int32Array(bound * 2); // (0, 0) pairs
  const values = new Float32Array(bound); // 0
  for (let k = 0; k < bound; k++) indices[2 * k + 1] = PAD_USER;
  const stamp = new Int32Array(numUsers).fill(-1);
  const seen: number[] = [];
  let k = 0;
  for (let b = 0; b < B; b++) {
    seen.length = 0;
    for (let t = 0; t < L; t++) {
      const u = batch.users[b * L + t];
      if (u !== PAD_USER && stamp[u] !== b) {
        stamp[u] = b;
        seen.push(u);
      }
      const row = b * L + t;
      indices[2 * k] = row;
      indices[2 * k + 1] = PAD_USER;
      values[k++] = MASKED_LOGIT;
      for (const v of seen) {
        indices[2 * k] = row;
        indices[2 * k + 1] = v;
        values[k++] = MASKED_LOGIT;
      }
    }
  }
  return { indices, values, pairs: k };
}

/**
 * The window input of every position: row j of sequence b is [act_j, act_(j-1), ..., act_(j-W+1)]
 * (zeros before the start), [B*L, W*d], as W shifted copies side by side (pads and slices: cheaper
 * than a product with a 0/1 shift matrix, whose batched matmul TensorFlow runs slowly on such
 * small blocks).
 */
function windowInput(act: Tensor, B: number, L: number, d: number, W: number): Tensor {
  const a3 = tf.reshape(act, [B, L, d]);
  const parts = [a3];
  for (let n = 1; n < W; n++) parts.push(n < L ? tf.pad(tf.slice(a3, [0, 0, 0], [B, L - n, d]), [[0, 0], [n, 0], [0, 0]]) : tf.zerosLike(a3));
  return tf.reshape(tf.concat(parts, 2), [B * L, W * d]);
}

/** The gradient of `windowInput` in act: the W column blocks shifted back and summed, [B*L, d]. */
function windowInputBackward(dWindowed: Tensor, B: number, L: number, d: number, W: number): Tensor {
  const d3 = tf.reshape(dWindowed, [B, L, W * d]);
  // Block n, rows n.. moved up by n (one slice each: wasm's SplitV is slow).
  const shifted = [tf.slice(d3, [0, 0, 0], [B, L, d])];
  for (let n = 1; n < Math.min(W, L); n++) shifted.push(tf.pad(tf.slice(d3, [0, n, n * d], [B, L - n, d]), [[0, 0], [0, n], [0, 0]]));
  return tf.reshape(shifted.length === 1 ? shifted[0] : tf.addN(shifted), [B * L, d]);
}

/**
 * The attention of a chunk in query blocks (`attentionBlocks`): block [j0, j1) computes the scores
 * of its queries against the keys 0..j1-1 only, [B, (j1-j0) h, j1] instead of [B, L h, L], so no
 * tensor of a long row's full attention is made (issue 22: 8 x 2,496^2 floats, 199 MB, for the
 * longest Twitter-sized row, and a dozen such tensors in the pass). Every dropped key is a later
 * position, masked in the unblocked scores (MASKED_LOGIT: its softmax weight is exactly 0 there), so
 * the weights and the attention output are the unblocked ones up to the order in which the
 * softmax sums its terms (float rounding). The dropout multiplier of a block is made from the keep
 * flags of its slice of the chunk's [B, h, L, L] draws (`flags`, `blockedDropoutFlags`), so the
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
 * flags (`blockedDropoutFlags`: block b's [B, h, j1-j0, j1] slice at `offset`): flag / keep, which
 * is floor(u + keep) / keep (`multiplierFromUniform`) value for value, as the flag is that floor.
 */
function blockMultiplier(flags: Tensor, offset: number, j0: number, j1: number, B: number, h: number, rate: number): Tensor {
  const slice = tf.reshape(tf.slice(flags, [offset], [B * h * (j1 - j0) * j1]), [B, h, j1 - j0, j1]);
  return tf.reshape(tf.transpose(tf.div(tf.cast(slice, 'float32'), 1 - rate), [0, 2, 1, 3]), [B, (j1 - j0) * h, j1]);
}

/** Where each block's flags start in the blocked flags (`blockedDropoutFlags`). */
function blockOffsets(blocks: [number, number][], B: number, h: number): number[] {
  let offset = 0;
  return blocks.map(([j0, j1]) => {
    const at = offset;
    offset += B * h * (j1 - j0) * j1;
    return at;
  });
}

/**
 * The attention dropout of a chunk whose attention runs in query blocks, as the blocks use it: for
 * each block [j0, j1) in turn, the [rows, h, j1-j0, j1] slice (queries j0..j1-1, keys 0..j1-1) of
 * the keep flags floor(u + keep) (1: kept, 0: dropped) of the draws u that
 * `uniformDraws([B, h, L, L], seed, [rows, h, length, length])` makes (length: the end of the last
 * block), flattened and concatenated, one byte each. The draws are tf.randomUniform's stream with
 * this seed, made one at a time by `UniformStream`; the flag is computed as TensorFlow computes it
 * in float32 (the float32 sum u + keep, rounded once: `Math.fround` of the exact sum of two
 * float32), and the padding's draws are 0, so flag 0 (floor(keep) = 0). So the multipliers are the
 * old ones value for value (tested), but only the causal blocks are kept, a byte per cell instead
 * of a float: for the longest Twitter-sized row 29 MB instead of the full draws (194 MB on the
 * host and again as a tensor, 199 MB padded; issue 22). Keys past a block (k >= j1) are dropped: their
 * scores are masked and their weights exactly 0.
 */
export function blockedDropoutFlags(shape: [number, number, number, number], seed: number, rate: number, rows: number, blocks: [number, number][]): Tensor {
  const [B, h, L] = shape;
  const keepProbability = Math.fround(1 - rate); // tf.add(u, keep) takes keep as a float32 scalar
  const offsets = blockOffsets(blocks, rows, h);
  const total = blocks.reduce((s, [j0, j1]) => s + rows * h * (j1 - j0) * j1, 0);
  const values = new Uint8Array(total); // zeros: the padding
  const blockOf = new Int32Array(L);
  blocks.forEach(([j0, j1], b) => blockOf.fill(b, j0, Math.min(j1, L)));
  const stream = new UniformStream(seed);
  // The stream fills [B, h, L, L] in row-major order.
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < L; j++) {
        const b = blockOf[j];
        const [j0, j1] = blocks[b];
        const keep = Math.min(j1, L);
        let at = offsets[b] + ((r * h + i) * (j1 - j0) + (j - j0)) * j1;
        for (let k = 0; k < keep; k++) values[at++] = Math.fround(Math.fround(stream.next()) + keepProbability) >= 1 ? 1 : 0;
        stream.skip(L - keep);
      }
    }
  }
  return tf.tensor1d(values, 'bool');
}

/**
 * The backward pass of `blockedAttentionForward`, block by block, given dMixed [B, L h, d]: the
 * gradient in y (x_j M_i), [B*L, h*d], and in x through the weights and the keys, [B, L, d] (the sum
 * over blocks of each block's [B, j1, d] contribution: the unblocked products summed in another
 * order, so equal to rounding). The dropout multiplier and the dropped weights are made again from
 * the keep flags (the same ops, the same values) rather than kept from the forward pass. Disposes
 * the blocks' weights.
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
    p.dispose();
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

/** The trained weights in the order the compiled step takes and returns them. */
const TRAINED: WeightName[] = ['embedding', 'query', 'key', 'value', 'output', 'outputBias', 'normGain', 'normBias', 'windowProjection', 'windowBias'];

/** Tensors one trained chunk feeds the step (all made on the host). */
const CHUNK_INPUTS = ['ids', 'lengths', 'infectedIndices', 'infectedValues', 'targetUsers', 'rowWeights'] as const;

interface StepLayout {
  architecture: NdmArchitecture;
  weights: WeightName[];
  frozen: boolean;
  /** (B, L) of each trained chunk. */
  chunks: { B: number; L: number }[];
  dropout: boolean;
  useGather: boolean;
  layerNorm: LayerNormOptions;
  /** Inputs carry a running loss and running gradients (after the frozen embedding), which the outputs add to. */
  accumulate: boolean;
  /** Cap on the score cells of one attention block (`attentionBlocks`). */
  maxBlockCells: number;
}

/**
 * The loss and gradient computation as a pure function of its inputs, [weights..., frozen
 * embedding?, (running loss, running gradients...)?, per trained chunk: ids, lengths (the score mask),
 * infected-user mask entries (`infectedEntries`), target users, row weights, (dropout uniforms of the attention
 * weights and of the attended vector)], returning [loss / total, gradient of each weight in
 * `layout.weights` order] (plus the running values when accumulating). Pure, so that it can run as
 * one TensorFlow graph (`GraphFunction`).
 */
function stepBody(layout: StepLayout): (inputs: Tensor[]) => Tensor[] {
  const a = layout.architecture;
  const { numUsers: U, dimension: d, heads: h, window: W, dropout: rate, frozenDimensions: f } = a;
  const hd = h * d;
  return (inputs) =>
    tf.tidy(() => {
      let next = 0;
      const w = {} as Record<WeightName, Tensor>;
      for (const name of layout.weights) w[name] = inputs[next++];
      const embedding = (layout.frozen ? tf.concat([inputs[next++], w.embedding], 1) : w.embedding) as Tensor2D;
      const running = layout.accumulate ? inputs.slice(next, next + 1 + layout.weights.length) : null;
      if (running) next += running.length;
      // Per-step parameter products (shared by the chunks).
      const q3 = tf.transpose(tf.reshape(w.query, [d, h, d]), [1, 0, 2]); // [h, d, d]: W^Q_i
      const k3 = tf.transpose(tf.reshape(w.key, [d, h, d]), [1, 0, 2]);
      const scale = a.scaleScores ? 1 / Math.sqrt(d) : 1;
      let m3t = tf.matMul(k3, q3, false, true); // [h, d, d]: M_i^T = W^K_i (W^Q_i)^T
      if (scale !== 1) m3t = tf.mul(m3t, scale);
      const scoreT = tf.reshape(m3t, [hd, d]) as Tensor2D; // row block i: M_i^T
      const v3 = tf.transpose(tf.reshape(w.value, [d, h, d]), [1, 0, 2]); // W^V_i
      const o3 = tf.reshape(w.output, [h, d, d]); // W^O_i
      const valueOutput = tf.reshape(tf.matMul(v3, o3), [hd, d]) as Tensor2D; // row block i: W^V_i W^O_i
      const windowProjection = w.windowProjection as Tensor2D;

      let dScoreT: Tensor | null = null;
      let dValueOutput: Tensor | null = null;
      let dEmbedding: Tensor | null = null;
      let dOutputBias: Tensor | null = null;
      let dGain: Tensor | null = null;
      let dNormBias: Tensor | null = null;
      let dWindow: Tensor | null = null;
      let dWindowBias: Tensor | null = null;
      let loss: Tensor | null = null;
      const acc = (sum: Tensor | null, t: Tensor) => (sum === null ? t : tf.add(sum, t));

      for (const { B, L } of layout.chunks) {
        const N = B * L;
        const [ids, lengths, infectedIndices, infectedValues, targetUsers, rowWeights] = inputs.slice(next, next + CHUNK_INPUTS.length);
        next += CHUNK_INPUTS.length;
        const blocks = attentionBlocks(B, L, h, layout.maxBlockCells);
        const blocked = blocks.length > 1;
        let dropWeights: Tensor | null = null;
        let dropAttended: Tensor | null = null;
        let dropoutFlags: Tensor | null = null;
        if (layout.dropout) {
          // Drawn in the tape path's [B, h, L, L] layout, then laid out as the scores (blocked: the
          // keep flags of these same draws, `blockedDropoutFlags`).
          if (blocked) dropoutFlags = inputs[next++];
          else dropWeights = tf.reshape(tf.transpose(multiplierFromUniform(inputs[next++], rate), [0, 2, 1, 3]), [B, L * h, L]);
          dropAttended = multiplierFromUniform(inputs[next++], rate);
        }
        // ---- forward ----
        const oneHot = layout.useGather ? null : tf.oneHot(ids as tf.Tensor1D, U);
        const x = (oneHot ? tf.matMul(oneHot, embedding) : tf.gather(embedding, ids)) as Tensor2D; // [N, d]
        const x3 = tf.reshape(x, [B, L, d]);
        const y3 = tf.reshape(tf.matMul(x, scoreT, false, true), [B, L * h, d]); // row (j, i): x_j M_i
        let p: Tensor | null = null;
        let pm: Tensor | null = null;
        let mixed: Tensor;
        let blockWeights: Tensor[] = [];
        if (!blocked) {
          const scores = tf.reshape(tf.add(tf.reshape(tf.matMul(y3, x3, false, true), [B, L, h, L]), scoreMask(lengths, B, L)), [B, L * h, L]);
          p = tf.softmax(scores); // [B, L*h, L]: w^i_jk
          pm = dropWeights ? tf.mul(p, dropWeights) : p;
          mixed = tf.reshape(tf.matMul(pm, x3), [N, hd]); // row (j): [sum_k w^i_jk x_k]_i
        } else {
          const forward = blockedAttentionForward(x3, y3, lengths, dropoutFlags, blocks, B, h, d, rate);
          blockWeights = forward.weights;
          mixed = forward.mixed;
        }
        const attended = tf.fused.matMul({ a: mixed as Tensor2D, b: valueOutput, bias: w.outputBias });
        const z = tf.add(x, dropAttended ? tf.mul(attended, dropAttended) : attended);
        const norm = layerNormForward(z, w.normGain, w.normBias, layout.layerNorm);
        const act = norm.y;
        const windowed = (W > 1 ? windowInput(act, B, L, d, W) : act) as Tensor2D;
        const logits = a.windowBias ? tf.fused.matMul({ a: windowed, b: windowProjection, bias: w.windowBias }) : tf.matMul(windowed, windowProjection);
        const infected = tf.scatterND(infectedIndices, infectedValues, [N, U]);
        const masked = tf.add(logits, infected);
        // [N, U] tensors are freed as soon as they are used (eagerly, e.g. in a graph's tracing run,
        // they would otherwise live to the end of the scope).
        logits.dispose();
        infected.dispose();
        // (row, target user) of every row: the targets as ids, no [N, U] one-hot.
        const targetIndex = tf.stack([tf.range(0, N, 1, 'int32'), targetUsers], 1); // [N, 2]
        // Loss (Eq. 8 negated, divided by total) and its gradient in the logits.
        const ce = crossEntropyWithGradientOfIds(masked as Tensor2D, rowWeights, targetIndex);
        masked.dispose();
        loss = acc(loss, ce.value);
        // ---- backward ----
        const dLogits = ce.dLogits; // [N, U]
        dWindow = acc(dWindow, tf.matMul(windowed, dLogits, true, false));
        if (a.windowBias) dWindowBias = acc(dWindowBias, tf.sum(dLogits, 0));
        const dWindowed = tf.matMul(dLogits, windowProjection, false, true); // [N, W*d]
        dLogits.dispose();
        const dAct = W > 1 ? windowInputBackward(dWindowed, B, L, d, W) : dWindowed;
        const normGrads = layerNormBackward(dAct, w.normGain, norm.trace);
        dGain = acc(dGain, normGrads.dGain);
        dNormBias = acc(dNormBias, normGrads.dBias);
        const dz = normGrads.dx;
        const dAttended = dropAttended ? tf.mul(dz, dropAttended) : dz;
        dOutputBias = acc(dOutputBias, tf.sum(dAttended, 0));
        dValueOutput = acc(dValueOutput, tf.matMul(mixed, dAttended, true, false));
        const dMixed = tf.reshape(tf.matMul(dAttended, valueOutput, false, true), [B, L * h, d]);
        let dy: Tensor;
        let dxAttention: Tensor; // [B, L, d]: through the attention weights (dxMix) and the keys (dxKey)
        if (!blocked) {
          const dPm = tf.matMul(dMixed, x3, false, true); // [B, L*h, L]
          const dxMix = tf.matMul(pm!, dMixed, true, false); // [B, L, d]
          const dP = dropWeights ? tf.mul(dPm, dropWeights) : dPm;
          const dScores = tf.mul(p!, tf.sub(dP, tf.sum(tf.mul(dP, p!), -1, true)));
          dy = tf.reshape(tf.matMul(dScores, x3), [N, hd]);
          const dxKey = tf.matMul(dScores, y3, true, false); // [B, L, d]
          dxAttention = tf.add(dxMix, dxKey);
        } else {
          ({ dy, dx: dxAttention } = blockedAttentionBackward(dMixed, x3, y3, dropoutFlags, blockWeights, blocks, B, h, d, rate));
        }
        dScoreT = acc(dScoreT, tf.matMul(dy, x, true, false));
        const dx = tf.add(tf.add(dz, tf.reshape(dxAttention, [N, d])), tf.matMul(dy, scoreT));
        dEmbedding = acc(dEmbedding, oneHot ? tf.matMul(oneHot, dx, true, false) : tf.unsortedSegmentSum(dx, ids as tf.Tensor1D, U));
      }
      // Parameter products, backward.
      let dM3t = tf.reshape(dScoreT!, [h, d, d]);
      if (scale !== 1) dM3t = tf.mul(dM3t, scale);
      const dK3 = tf.matMul(dM3t, q3);
      const dQ3 = tf.matMul(dM3t, k3, true, false);
      const dVO3 = tf.reshape(dValueOutput!, [h, d, d]);
      const dV3 = tf.matMul(dVO3, o3, false, true);
      const dO3 = tf.matMul(v3, dVO3, true, false);
      const heads = (t: Tensor) => tf.reshape(tf.transpose(t, [1, 0, 2]), [d, hd]);
      const grads: Partial<Record<WeightName, Tensor>> = {
        embedding: f > 0 ? tf.slice(dEmbedding!, [0, f], [U, d - f]) : dEmbedding!,
        query: heads(dQ3),
        key: heads(dK3),
        value: heads(dV3),
        output: tf.reshape(dO3, [hd, d]),
        outputBias: dOutputBias!,
        normGain: dGain!,
        normBias: dNormBias!,
        windowProjection: dWindow!,
        windowBias: dWindowBias ?? undefined,
      };
      const out = [loss!, ...layout.weights.map((name) => grads[name]!)];
      return running ? out.map((t, i) => tf.add(running[i], t)) : out;
    });
}

export interface ManualGradientsOptions {
  /** Embedding lookup: gather (and a segment sum backward) where the backend has the kernel, else a one-hot product. */
  embeddingLookup?: 'gather' | 'one-hot';
  /**
   * Run each step as one TensorFlow graph on the tensorflow backend (default true; see
   * tensor-ops' GraphFunction). Elsewhere, or false, the same ops run eagerly.
   */
  compile?: boolean;
  /**
   * Cap on the score cells of one attention block (default `MAX_ATTENTION_BLOCK_CELLS`): a chunk
   * whose attention exceeds it is computed in query blocks (`attentionBlocks`). Tests set it low to
   * compare blocked and unblocked chunks.
   */
  maxAttentionBlockCells?: number;
}

/**
 * Sizes a compiled chunk is padded to (tensor-ops' shape grid), so that a few dozen graphs serve
 * every batch: lengths up to 8 as they are, then four per doubling with steps of at most 32 (2 to
 * 16, 4 to 32, 8 to 64, 16 to 128, 32 beyond: attention costs L^2, so long chunks pad little); row
 * counts two per doubling with steps of at most 16 (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, then
 * multiples of 16).
 */
export const paddedLength = shapeGrid({ stepsPerDoubling: 4, maxStep: 32 });
export const paddedRows = shapeGrid({ stepsPerDoubling: 2, maxStep: 16 });

/**
 * A chunk and its targets laid out in [rows, length] (>= its own): padded rows are empty
 * sequences and padded positions are padding, neither with a target, so they add exactly zero to
 * the loss and the gradients.
 */
function padChunk(batch: SequenceBatch, targets: Targets, rows: number, length: number): { batch: SequenceBatch; targets: Targets } {
  const { batchSize: B, maxLength: L } = batch;
  if (rows === B && length === L) return { batch, targets };
  const users = new Int32Array(rows * length);
  const targetUsers = new Int32Array(rows * length);
  const weights = new Float32Array(rows * length);
  for (let b = 0; b < B; b++) {
    users.set(batch.users.subarray(b * L, (b + 1) * L), b * length);
    targetUsers.set(targets.users.subarray(b * L, (b + 1) * L), b * length);
    weights.set(targets.weights.subarray(b * L, (b + 1) * L), b * length);
  }
  const lengths = new Int32Array(rows);
  lengths.set(batch.lengths);
  return { batch: { batchSize: rows, maxLength: length, users, lengths }, targets: { users: targetUsers, weights, count: targets.count } };
}

/**
 * Uniform draws (tf.randomUniform with `seed`, as the tape path's tf.dropout draws them) of shape
 * `shape`, padded with zeros at the end of each axis to `padded`. Kept as tensors: for the longest
 * Twitter-sized row the attention draws are 8 x 2,466^2 floats (194 MB), and reading them back to
 * the host and padding them there cost two more host copies of that size per step, garbage that
 * stayed in the process's RSS until collected (issue 22). The values are the same, entry for entry.
 */
function uniformDraws(shape: number[], seed: number, padded: number[]): Tensor {
  const draws = tf.randomUniform(shape, 0, 1, 'float32', seed);
  if (padded.every((n, i) => n === shape[i])) return draws;
  const out = tf.pad(draws, shape.map((n, i) => [0, padded[i] - n] as [number, number]));
  draws.dispose();
  return out;
}

/**
 * Loss and gradients of the mean next-user cross-entropy with the hand-written backward pass,
 * for one network.
 *
 * On the tensorflow backend each chunk runs as one compiled TensorFlow graph (tensor-ops'
 * `GraphFunction`), which takes the weights, the running loss and gradients and the chunk's data
 * and returns the updated running values: a step is one native call per chunk, and its ~170 ops
 * cost ~1 us of dispatch each instead of 20-40 us. Chunks are padded to a grid of shapes
 * (`paddedRows` x `paddedLength`) so that a few dozen graphs serve a whole training run; padding
 * has no target, so the numbers are those of the eager pass up to float rounding (dropout draws
 * are made at the chunk's own shape, as the eager pass makes them). Elsewhere (or with
 * `compile: false`) the same ops run eagerly over all chunks at once, unpadded. `dispose()`
 * unloads the graphs.
 */
export class ManualGradients {
  private readonly graph: GraphFunction | null;
  private readonly bodies = new Map<string, (inputs: Tensor[]) => Tensor[]>();
  private readonly useGather: boolean;
  private readonly maxBlockCells: number;
  private current: ((inputs: Tensor[]) => Tensor[]) | null = null;
  /** Zero running values for the first chunk of a step (never modified: graphs return new tensors). */
  private zeros: Tensor[] | null = null;

  constructor(
    readonly network: NdmNetwork,
    options: ManualGradientsOptions = {},
  ) {
    if (!manualGradientsSupported(network.architecture)) throw new CascadeError('INTERNAL', 'ndm: the hand-written gradient does not cover the Finit term; use the tape');
    // Gather and its gradient (a segment sum) where the backend has the kernel; else a one-hot product.
    this.maxBlockCells = options.maxAttentionBlockCells ?? MAX_ATTENTION_BLOCK_CELLS;
    this.useGather = (options.embeddingLookup ?? (tf.getKernel('UnsortedSegmentSum', tf.getBackend()) ? 'gather' : 'one-hot')) === 'gather';
    // One GraphFunction for every chunk shape: the body of a call is chosen by its key.
    this.graph = options.compile === false || !graphFunctionsEnabled() ? null : new GraphFunction((inputs) => this.current!(inputs), { name: 'ndm training chunk' });
  }

  /** Compilation statistics (null when running eagerly). */
  get graphStats(): GraphFunctionStats | null {
    return this.graph?.stats ?? null;
  }

  private trainedWeights(): WeightName[] {
    return TRAINED.filter((name) => name !== 'windowBias' || this.network.architecture.windowBias);
  }

  private body(chunks: { B: number; L: number }[], accumulate: boolean): (inputs: Tensor[]) => Tensor[] {
    const key = `${accumulate ? 'acc' : 'all'}:${chunks.map(({ B, L }) => `${B}x${L}`).join(',')}`;
    let body = this.bodies.get(key);
    if (!body) {
      const network = this.network;
      body = stepBody({
        architecture: network.architecture,
        weights: this.trainedWeights(),
        frozen: network.frozenEmbeddingColumns() !== null,
        chunks,
        dropout: network.architecture.dropout > 0,
        useGather: this.useGather,
        layerNorm: network.layerNormOptions(),
        accumulate,
        maxBlockCells: this.maxBlockCells,
      });
      // Compiled bodies are one per chunk shape; eager ones are cheap to rebuild, keep few.
      if (!accumulate && this.bodies.size > 64) this.bodies.clear();
      this.bodies.set(key, body);
    }
    return body;
  }

  /** Host-made inputs of one chunk (the caller disposes them). */
  private chunkInputs(batch: SequenceBatch, targets: Targets, total: number, rng: Rng, pad: boolean): Tensor[] {
    const a = this.network.architecture;
    const { numUsers: U, heads: h, dimension: d, dropout: rate } = a;
    const { batchSize: B, maxLength: L } = batch;
    const rows = pad ? paddedRows(B) : B;
    const length = pad ? paddedLength(L) : L;
    const padded = padChunk(batch, targets, rows, length);
    const weights = new Float32Array(rows * length);
    for (let r = 0; r < weights.length; r++) weights[r] = padded.targets.weights[r] * (1 / total);
    const made: Tensor[] = [
      tf.tensor1d(padded.batch.users, 'int32'),
      tf.tensor1d(padded.batch.lengths, 'int32'),
      ...((e) => [tf.tensor2d(e.indices, [e.values.length, 2], 'int32'), tf.tensor1d(e.values, 'float32')])(infectedEntries(padded.batch, U)),
      tf.tensor1d(padded.targets.users, 'int32'),
      tf.tensor2d(weights, [rows * length, 1]),
    ];
    if (rate > 0) {
      // Drawn at the chunk's own shape, in the tape path's order and layout (a chunk whose
      // attention runs in query blocks gets the keep flags of its blocks' slices: the same
      // multipliers).
      const blocks = attentionBlocks(rows, length, h, this.maxBlockCells);
      if (blocks.length > 1) made.push(blockedDropoutFlags([B, h, L, L], rng.seedInt(), rate, rows, blocks));
      else made.push(uniformDraws([B, h, L, L], rng.seedInt(), [rows, h, length, length]));
      // [B*L, d] laid into [rows*length, d]: row (b, j) at b * length + j.
      const attended = uniformDraws([B, L, d], rng.seedInt(), [rows, length, d]);
      made.push(tf.reshape(attended, [rows * length, d]));
      attended.dispose();
    }
    return made;
  }

  /**
   * Loss and gradients over `chunks` (Eq. 8; the mean is the summed loss over all chunks divided
   * by `total`), training mode (dropout on when the architecture has it). Chunks without a trained
   * target are skipped, as the tape path does. Draws two dropout seeds per trained chunk from
   * `rng`, in the tape path's order.
   */
  compute(chunks: readonly SequenceBatch[], targets: readonly Targets[], total: number, rng: Rng): LossAndGradients {
    const network = this.network;
    const weights = this.trainedWeights();
    const frozen = network.frozenEmbeddingColumns();
    const trained = chunks.map((batch, c) => ({ batch, t: targets[c] })).filter(({ t }) => t.count > 0);
    if (trained.length === 0) throw new CascadeError('INTERNAL', 'ndm: no chunk has a trained target');
    const fixed = [...weights.map((name) => network.weightVariable(name) as Tensor), ...(frozen ? [frozen] : [])];
    let outputs: Tensor[];
    if (this.graph) {
      this.zeros ??= [tf.scalar(0), ...fixed.slice(0, weights.length).map((w) => tf.zerosLike(w))];
      let running = this.zeros;
      for (const { batch, t } of trained) {
        const made = this.chunkInputs(batch, t, total, rng, true);
        const shape = { B: made[0].shape[0]! / paddedLength(batch.maxLength), L: paddedLength(batch.maxLength) };
        try {
          this.current = this.body([shape], true);
          const next = this.graph.call([...fixed, ...running, ...made], `${shape.B}x${shape.L}`);
          if (running !== this.zeros) for (const r of running) r.dispose();
          running = next;
        } finally {
          this.current = null;
          for (const m of made) m.dispose();
        }
      }
      outputs = running;
    } else {
      const made = trained.flatMap(({ batch, t }) => this.chunkInputs(batch, t, total, rng, false));
      try {
        outputs = this.body(trained.map(({ batch }) => ({ B: batch.batchSize, L: batch.maxLength })), false)([...fixed, ...made]);
      } finally {
        for (const m of made) m.dispose();
      }
    }
    const [loss, ...grads] = outputs;
    const lossSum = (loss.dataSync()[0] as number) * total;
    loss.dispose();
    const byName: Record<string, Tensor> = {};
    weights.forEach((name, i) => (byName[network.weightVariable(name).name] = grads[i]));
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
  options: { embeddingLookup?: 'gather' | 'one-hot'; maxAttentionBlockCells?: number } = {},
): LossAndGradients {
  return new ManualGradients(network, { ...options, compile: false }).compute(chunks, targets, total, rng);
}
