import type { Rng } from '@cascade-lab/core';
import { tf } from './tf.js';
import { maskedSoftmax } from './masked-softmax.js';
import { WeightHolder } from './weights.js';
import { xavierNormal, zeros, uniform, type Initializer } from './init.js';

/** Weights of multi-head attention in the layout of the NDM authors' code. */
export interface MultiHeadAttentionWeights {
  /** Per-head query projections [heads, dModel, dHead], no bias. */
  wq: tf.Tensor;
  /** Per-head key projections [heads, dModel, dHead], no bias. */
  wk: tf.Tensor;
  /** Per-head value projections [heads, dModel, dHead], no bias. */
  wv: tf.Tensor;
  /** Output projection of the concatenated heads [heads * dHead, dModel]. */
  wo: tf.Tensor;
  /** Output bias [dModel]. */
  bo: tf.Tensor;
}

export interface AttentionOptions {
  /**
   * Which key positions are real tokens, [batch, time] (bool or 0/1); padding keys get zero
   * attention. Omit when nothing is padded.
   */
  keyMask?: tf.Tensor;
  /** Position j attends to positions 0..j only (NDM: "u_j attends over u_0..u_j"). Default true. */
  causal?: boolean;
  /** Scores are divided by this (default sqrt(dModel), as the NDM code; Vaswani et al. use sqrt(dHead)). */
  scaleDivisor?: number;
  /** Dropout rate on the attention weights (NDM code: 0.1). Applied only with `training`. */
  dropout?: number;
  training?: boolean;
  /** Source of the dropout masks (one seed drawn per call); required when dropping out. */
  rng?: Rng;
  /** Also return the attention weights [batch, heads, time, time] (after masking, before dropout). */
  returnWeights?: boolean;
}

export interface AttentionResult {
  /** [batch, time, dModel] */
  output: tf.Tensor3D;
  weights?: tf.Tensor4D;
}

function projectHeads(x2d: tf.Tensor2D, w: tf.Tensor, batch: number, time: number): tf.Tensor4D {
  const [heads, dModel, dHead] = w.shape;
  // [heads, dModel, dHead] -> [dModel, heads * dHead]: all heads in one matmul.
  const wFlat = tf.reshape(tf.transpose(w, [1, 0, 2]), [dModel, heads * dHead]) as tf.Tensor2D;
  const projected = tf.reshape(tf.matMul(x2d, wFlat), [batch, time, heads, dHead]);
  return tf.transpose(projected, [0, 2, 1, 3]) as tf.Tensor4D; // [batch, heads, time, dHead]
}

/** [1, 1, time, time] bool: entry (i, j) is true when j <= i. */
function causalMask(time: number): tf.Tensor4D {
  const allowed = new Uint8Array(time * time);
  for (let i = 0; i < time; i++) for (let j = 0; j <= i; j++) allowed[i * time + j] = 1;
  return tf.tensor4d(allowed, [1, 1, time, time], 'bool');
}

/**
 * Multi-head self-attention as the NDM authors' code computes it (NDM paper §4.2, Eq. 2-4; code
 * details in docs/MODELS.md): per head h, Q_h = X Wq_h, K_h = X Wk_h, V_h = X Wv_h (no bias);
 * A_h = softmax(Q_h K_h^T / sqrt(dModel)) with padding keys and (if causal) future keys masked;
 * dropout on A_h; heads concatenated and projected: [A_1 V_1, ..., A_H V_H] Wo + bo.
 * The residual, dropout after the projection and layer norm belong to the model.
 *
 * A query whose keys are all masked (a padding position 0 with no real key) gets zero attention,
 * so its output is `bo`; losses must ignore such positions.
 */
export function multiHeadAttention(x: tf.Tensor3D, weights: MultiHeadAttentionWeights, options: AttentionOptions = {}): AttentionResult {
  const [batch, time, dModel] = x.shape;
  const [heads, wModel, dHead] = weights.wq.shape as [number, number, number];
  if (wModel !== dModel) throw new RangeError(`multiHeadAttention: input width ${dModel} does not match wq [${weights.wq.shape}]`);
  const causal = options.causal ?? true;
  const divisor = options.scaleDivisor ?? Math.sqrt(dModel);
  const rate = options.training ? (options.dropout ?? 0) : 0;
  if (rate > 0 && !options.rng) throw new Error('multiHeadAttention: dropout in training needs options.rng');
  const seed = rate > 0 ? options.rng!.seedInt() : 0;
  return tf.tidy(() => {
    const x2d = tf.reshape(x, [batch * time, dModel]) as tf.Tensor2D;
    const q = projectHeads(x2d, weights.wq, batch, time);
    const k = projectHeads(x2d, weights.wk, batch, time);
    const v = projectHeads(x2d, weights.wv, batch, time);
    const scores = tf.div(tf.matMul(q, k, false, true), divisor); // [batch, heads, time, time]
    let allowed: tf.Tensor | undefined;
    if (options.keyMask) {
      const keys = options.keyMask.dtype === 'bool' ? options.keyMask : tf.notEqual(options.keyMask, 0);
      allowed = tf.reshape(keys, [batch, 1, 1, time]);
    }
    if (causal) {
      const lowerTriangle = causalMask(time);
      allowed = allowed ? tf.logicalAnd(allowed, lowerTriangle) : lowerTriangle;
    }
    const weightsBeforeDropout = (allowed ? maskedSoftmax(scores, allowed) : tf.softmax(scores)) as tf.Tensor4D;
    let attention = weightsBeforeDropout;
    if (rate > 0) attention = tf.dropout(attention, rate, undefined, seed) as tf.Tensor4D;
    const context = tf.matMul(attention, v); // [batch, heads, time, dHead]
    const concatenated = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * time, heads * dHead]);
    const output = tf.reshape(tf.add(tf.matMul(concatenated, weights.wo as tf.Tensor2D), weights.bo), [batch, time, dModel]) as tf.Tensor3D;
    return options.returnWeights ? { output, weights: weightsBeforeDropout } : { output };
  }) as AttentionResult;
}

export interface MultiHeadAttentionConfig {
  dModel: number;
  heads: number;
  /** Width of each head (NDM code: dModel, i.e. 64 per head and 512 concatenated). */
  dHead?: number;
  /** Initialiser of the Q/K/V projections (NDM code: xavier normal per head). */
  projectionInit?: Initializer;
  /** Initialiser of the output projection (default: torch Linear's U(-1/sqrt(in), 1/sqrt(in))). */
  outputInit?: Initializer;
}

/** The weights of `multiHeadAttention`, created from a seeded Rng. */
export class MultiHeadAttention extends WeightHolder {
  readonly dModel: number;
  readonly heads: number;
  readonly dHead: number;
  readonly wq: tf.Variable;
  readonly wk: tf.Variable;
  readonly wv: tf.Variable;
  readonly wo: tf.Variable;
  readonly bo: tf.Variable;

  constructor(config: MultiHeadAttentionConfig, rng: Rng) {
    super();
    this.dModel = config.dModel;
    this.heads = config.heads;
    this.dHead = config.dHead ?? config.dModel;
    const proj = config.projectionInit ?? xavierNormal();
    const bound = 1 / Math.sqrt(this.heads * this.dHead);
    const out = config.outputInit ?? uniform(-bound, bound);
    this.wq = this.addWeight('wq', [this.heads, this.dModel, this.dHead], proj, rng);
    this.wk = this.addWeight('wk', [this.heads, this.dModel, this.dHead], proj, rng);
    this.wv = this.addWeight('wv', [this.heads, this.dModel, this.dHead], proj, rng);
    this.wo = this.addWeight('wo', [this.heads * this.dHead, this.dModel], out, rng);
    this.bo = this.addWeight('bo', [this.dModel], zeros(), rng);
  }

  apply(x: tf.Tensor3D, options: AttentionOptions = {}): AttentionResult {
    return multiHeadAttention(x, this, options);
  }
}
