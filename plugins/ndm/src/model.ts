import { CascadeError, END_USER, PAD_USER, type Rng } from '@cascade-lab/core';
import { layerNorm, type LayerNormOptions } from '@cascade-lab/tensor-ops';
import { tf, type Tensor, type Tensor2D, type Variable } from './tf.js';
import { weightShapes, type NdmArchitecture, type NdmWeights, type WeightName, WEIGHT_NAMES } from './weights.js';

/** Logit added to users that may not be predicted; finite so that 0 * masked stays 0 (not NaN). */
export const MASKED_LOGIT = -1e9;

/**
 * Cascades as rows of user indices padded on the right with PAD_USER (the layout of
 * `@cascade-lab/data`'s batches, built without the appended `</s>`): `users[b * maxLength + t]` is
 * the t-th infected user of row b, `lengths[b]` the number of real users in row b.
 */
export interface SequenceBatch {
  users: Int32Array;
  batchSize: number;
  maxLength: number;
  lengths: Int32Array;
}

/** A batch from unpadded user sequences (tests, scoring one cascade). */
export function batchOf(sequences: readonly (readonly number[])[]): SequenceBatch {
  const B = sequences.length;
  const L = Math.max(1, ...sequences.map((s) => s.length));
  const users = new Int32Array(B * L);
  const lengths = new Int32Array(B);
  sequences.forEach((s, b) => {
    users.set(s, b * L);
    lengths[b] = s.length;
  });
  return { users, batchSize: B, maxLength: L, lengths };
}

/**
 * Additive attention mask [B, 1, L, L]: position j attends to positions 0..j of its own sequence
 * (causal, §4.3 Eq. 1-4 sum over k <= j) and never to padding keys.
 */
function attentionMask(batch: SequenceBatch): Float32Array {
  const { batchSize: B, maxLength: L } = batch;
  const mask = new Float32Array(B * L * L);
  for (let b = 0; b < B; b++) {
    const n = batch.lengths[b];
    for (let j = 0; j < L; j++) {
      const row = (b * L + j) * L;
      for (let k = 0; k < L; k++) if (k > j || k >= n) mask[row + k] = MASKED_LOGIT;
    }
  }
  return mask;
}

/**
 * Additive mask over next users [B*L, |U|]: at position t the users infected at positions 0..t
 * (a user is never infected twice, §4.5) and the padding user get MASKED_LOGIT. `</s>` stays open.
 */
export function infectedUserMask(batch: SequenceBatch, numUsers: number): Float32Array {
  const { batchSize: B, maxLength: L } = batch;
  const mask = new Float32Array(B * L * numUsers);
  for (let b = 0; b < B; b++) {
    const n = batch.lengths[b];
    for (let t = 0; t < L; t++) {
      const row = (b * L + t) * numUsers;
      mask[row + PAD_USER] = MASKED_LOGIT;
      // Rows past the end only need *some* finite mask; they carry no target.
      const upTo = Math.min(t, n - 1);
      for (let k = 0; k <= upTo; k++) mask[row + batch.users[b * L + k]] = MASKED_LOGIT;
    }
  }
  return mask;
}

export interface ForwardOptions {
  /** Dropout on (training) or off (evaluation, simulation). */
  training: boolean;
  /** Source of the dropout masks' seeds when training. */
  rng?: Rng;
}

/**
 * The NDM network (NDM paper §4.3-4.5) on TensorFlow.js variables.
 *
 * Multi-head attention is computed in an algebraically identical form that needs two d x (h d)
 * products instead of four: head i's score emb(u_j) W^Q_i (emb(u_k) W^K_i)^T equals
 * emb(u_j) M_i emb(u_k)^T with M_i = W^Q_i (W^K_i)^T, and the output
 * sum_i head_i W^O_i = sum_i sum_k w^i_jk emb(u_k) (W^V_i W^O_i). The trained parameters are still
 * the paper's W^Q_i, W^K_i, W^V_i, W^O; M_i and W^V_i W^O_i are rebuilt from them at every step.
 */
let networkCount = 0;

export class NdmNetwork {
  readonly architecture: NdmArchitecture;
  private readonly vars: Map<WeightName, Variable>;
  /** Leading embedding columns that are not trained (NDM+SN), as a constant; null for plain NDM. */
  private readonly frozenEmbedding: Tensor2D | null;
  private disposed = false;

  constructor(architecture: NdmArchitecture, weights: NdmWeights) {
    this.architecture = architecture;
    const shapes = weightShapes(architecture);
    const { numUsers: U, dimension: d, frozenDimensions: f } = architecture;
    for (const name of WEIGHT_NAMES) {
      const expected = shapes[name].reduce((a, b) => a * b, 1);
      if (weights[name].length !== expected) {
        throw new CascadeError('MODEL', `ndm: weight "${name}" has ${weights[name].length} values, the architecture needs ${shapes[name].join('x')} = ${expected}`);
      }
    }
    this.vars = new Map();
    // tfjs variable names are global: each network gets its own prefix.
    const prefix = `ndm${++networkCount}`;
    tf.tidy(() => {
      for (const name of WEIGHT_NAMES) {
        if (name === 'initialProjection' && !architecture.initialUser) continue;
        if (name === 'windowBias' && !architecture.windowBias) continue;
        if (name === 'embedding' && f > 0) {
          const all = tf.tensor2d(weights.embedding, [U, d]);
          this.vars.set(name, tf.variable(tf.slice(all, [0, f], [U, d - f]), true, `${prefix}/${name}`));
          continue;
        }
        this.vars.set(name, tf.variable(tf.tensor(weights[name], shapes[name]), true, `${prefix}/${name}`));
      }
    });
    if (f > 0) {
      const frozen = new Float32Array(U * f);
      for (let u = 0; u < U; u++) frozen.set(weights.embedding.subarray(u * d, u * d + f), u * f);
      this.frozenEmbedding = tf.keep(tf.tensor2d(frozen, [U, f]));
    } else {
      this.frozenEmbedding = null;
    }
  }

  /** Trainable variables (the frozen DeepWalk half of NDM+SN is not among them). */
  trainableVariables(): Variable[] {
    return [...this.vars.values()];
  }

  /** The variable of weight `name` (for the NDM+SN embedding: its trained columns only). */
  weightVariable(name: WeightName): Variable {
    return this.v(name);
  }

  private v(name: WeightName): Variable {
    const x = this.vars.get(name);
    if (!x) throw new CascadeError('INTERNAL', `ndm: no variable ${name}`);
    return x;
  }

  /** NDM+SN's frozen DeepWalk columns of the embedding, [|U|, f] (null without them). */
  frozenEmbeddingColumns(): Tensor2D | null {
    return this.frozenEmbedding;
  }

  /** emb(u) for every user, [|U|, d]. */
  embeddingMatrix(): Tensor2D {
    const e = this.v('embedding') as Tensor2D;
    return this.frozenEmbedding ? tf.concat([this.frozenEmbedding, e], 1) : e;
  }

  /** M = [W^Q_1 (W^K_1)^T, ..., W^Q_h (W^K_h)^T] as [d, h*d], scaled by 1/sqrt(d) when configured. */
  scoreMatrix(): Tensor2D {
    const { dimension: d, heads: h } = this.architecture;
    return tf.tidy(() => {
      const q = tf.transpose(tf.reshape(this.v('query'), [d, h, d]), [1, 0, 2]); // [h, d, d]
      const k = tf.transpose(tf.reshape(this.v('key'), [d, h, d]), [1, 0, 2]);
      let m = tf.matMul(q, k, false, true); // [h, d, d]: M_i
      if (this.architecture.scaleScores) m = tf.mul(m, 1 / Math.sqrt(d));
      return tf.reshape(tf.transpose(m, [1, 0, 2]), [d, h * d]) as Tensor2D;
    });
  }

  /** [W^V_1 W^O_1, ..., W^V_h W^O_h] as [d, h*d] (W^O_i: rows i*d..(i+1)*d of W^O). */
  valueOutputMatrix(): Tensor2D {
    const { dimension: d, heads: h } = this.architecture;
    return tf.tidy(() => {
      const v = tf.transpose(tf.reshape(this.v('value'), [d, h, d]), [1, 0, 2]); // [h, d, d]
      const o = tf.reshape(this.v('output'), [h, d, d]);
      const vo = tf.matMul(v, o); // [h, d, d]
      return tf.reshape(tf.transpose(vo, [1, 0, 2]), [d, h * d]) as Tensor2D;
    });
  }

  private dropout(x: Tensor, options: ForwardOptions): Tensor {
    const rate = this.architecture.dropout;
    if (!options.training || rate === 0) return x;
    if (!options.rng) throw new CascadeError('INTERNAL', 'ndm: training forward pass needs an rng for dropout');
    return tf.dropout(x, rate, undefined, options.rng.seedInt());
  }

  /** tensor-ops' layer-norm options for this architecture: standard or the authors' variant. */
  layerNormOptions(): LayerNormOptions {
    return { variant: this.architecture.layerNorm === 'standard' ? 'standard' : 'ndm' };
  }

  /** Layer normalisation of the rows of z (§4.5), standard or the authors' variant. */
  layerNorm(z: Tensor2D): Tensor2D {
    return layerNorm(z, this.v('normGain'), this.v('normBias'), this.layerNormOptions()) as Tensor2D;
  }

  /**
   * Embeddings x = emb(u) and active user embeddings act(u_j) = LayerNorm(x_j + MultiHead_j)
   * (Eq. 1-5 with §4.5's residual connection and layer norm), both [B*L, d].
   * `skipNormAtLengthOne` reproduces the authors' layer norm, which returns its input for a
   * length-1 sequence.
   */
  activeEmbeddings(batch: SequenceBatch, options: ForwardOptions): { x: Tensor2D; act: Tensor2D; z: Tensor2D } {
    const { batchSize: B, maxLength: L } = batch;
    const { numUsers: U, dimension: d, heads: h } = this.architecture;
    const ids = tf.tensor1d(batch.users, 'int32');
    // One-hot product instead of gather: its gradient is a plain matrix product on every backend
    // (the WASM backend has no kernel for gather's gradient).
    const x = tf.matMul(tf.oneHot(ids, U), this.embeddingMatrix()) as Tensor2D; // [BL, d]
    const x3 = tf.reshape(x, [B, L, d]);
    // Scores of every head for every query position: [B, h*L, L] (Eq. 4's exponent).
    const q = tf.reshape(tf.transpose(tf.reshape(tf.matMul(x, this.scoreMatrix()), [B, L, h, d]), [0, 2, 1, 3]), [B, h * L, d]);
    const scores = tf.reshape(tf.matMul(q, x3, false, true), [B, h, L, L]);
    const masked = tf.add(scores, tf.tensor4d(attentionMask(batch), [B, 1, L, L]));
    const weights = this.dropout(tf.softmax(masked), options); // w^i_jk, Eq. 4
    // sum_i sum_k w^i_jk emb(u_k) W^V_i W^O_i  (Eq. 3 and 5), as one product per sequence.
    const vo = tf.reshape(tf.transpose(tf.reshape(tf.matMul(x, this.valueOutputMatrix()), [B, L, h, d]), [0, 2, 1, 3]), [B, h * L, d]);
    const w = tf.reshape(tf.transpose(weights, [0, 2, 1, 3]), [B, L, h * L]);
    const attended = tf.add(tf.reshape(tf.matMul(w, vo), [B * L, d]), this.v('outputBias'));
    const z = tf.add(x, this.dropout(attended, options)) as Tensor2D;
    const act = this.layerNorm(z);
    return { x, act, z };
  }

  /**
   * Next-user logits at every position, [B*L, |U|], before masking: Eq. 6-7,
   * sum_{n < win} act(u_{j-n}) W^C_n (+ bias) (+ Finit act(u_0) W^C_init). Positions before the start
   * contribute nothing (zero rows in the window).
   */
  logits(batch: SequenceBatch, options: ForwardOptions, skipNormAtLengthOne = false): Tensor2D {
    const { batchSize: B, maxLength: L } = batch;
    const { numUsers: U, dimension: d, window: win } = this.architecture;
    const { x, act: normalised, z } = this.activeEmbeddings(batch, options);
    const act = skipNormAtLengthOne && L === 1 && this.architecture.layerNorm === 'ndm-code' ? z : normalised;
    const act3 = tf.reshape(act, [B, L, d]);
    const parts: Tensor[] = [];
    for (let n = 0; n < win; n++) {
      parts.push(n === 0 ? act3 : tf.slice(tf.pad(act3, [[0, 0], [n, 0], [0, 0]]), [0, 0, 0], [B, L, d]));
    }
    const windowed = tf.reshape(win === 1 ? act3 : tf.concat(parts, 2), [B * L, win * d]);
    let out: Tensor = this.architecture.windowBias
      ? tf.fused.matMul({ a: windowed as Tensor2D, b: this.v('windowProjection') as Tensor2D, bias: this.v('windowBias') })
      : tf.matMul(windowed, this.v('windowProjection'));
    if (this.architecture.initialUser) {
      const source = this.architecture.initialUserInput === 'active' ? act3 : tf.reshape(x, [B, L, d]);
      const first = tf.reshape(tf.slice(source, [0, 0, 0], [B, 1, d]), [B, d]);
      const init = tf.reshape(tf.matMul(first, this.v('initialProjection')), [B, 1, U]);
      out = tf.reshape(tf.add(tf.reshape(out, [B, L, U]), init), [B * L, U]);
    }
    return out as Tensor2D;
  }

  /** Logits with infected users and padding masked (MASKED_LOGIT), [B*L, |U|]. */
  maskedLogits(batch: SequenceBatch, options: ForwardOptions, skipNormAtLengthOne = false): Tensor2D {
    const U = this.architecture.numUsers;
    const mask = tf.tensor2d(infectedUserMask(batch, U), [batch.batchSize * batch.maxLength, U]);
    return tf.add(this.logits(batch, options, skipNormAtLengthOne), mask) as Tensor2D;
  }

  /** Current values of every weight (the frozen columns included), as float arrays. */
  readWeights(): NdmWeights {
    const a = this.architecture;
    const { numUsers: U, dimension: d, frozenDimensions: f } = a;
    const read = (name: WeightName) => (this.vars.has(name) ? (this.v(name).dataSync() as Float32Array).slice() : new Float32Array(0));
    let embedding = read('embedding');
    if (this.frozenEmbedding) {
      const frozen = this.frozenEmbedding.dataSync() as Float32Array;
      const full = new Float32Array(U * d);
      for (let u = 0; u < U; u++) {
        full.set(frozen.subarray(u * f, (u + 1) * f), u * d);
        full.set(embedding.subarray(u * (d - f), (u + 1) * (d - f)), u * d + f);
      }
      embedding = full;
    }
    return {
      embedding,
      query: read('query'),
      key: read('key'),
      value: read('value'),
      output: read('output'),
      outputBias: read('outputBias'),
      normGain: read('normGain'),
      normBias: read('normBias'),
      windowProjection: read('windowProjection'),
      windowBias: a.windowBias ? read('windowBias') : new Float32Array(U),
      initialProjection: a.initialUser ? read('initialProjection') : new Float32Array(0),
    };
  }

  /** Overwrites every trainable variable (early stopping restores the best epoch's weights). */
  assignWeights(weights: NdmWeights): void {
    const a = this.architecture;
    const { numUsers: U, dimension: d, frozenDimensions: f } = a;
    const shapes = weightShapes(a);
    tf.tidy(() => {
      for (const [name, variable] of this.vars) {
        if (name === 'embedding' && f > 0) {
          variable.assign(tf.slice(tf.tensor2d(weights.embedding, [U, d]), [0, f], [U, d - f]));
        } else {
          variable.assign(tf.tensor(weights[name], shapes[name]));
        }
      }
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.vars.values()) v.dispose();
    this.frozenEmbedding?.dispose();
  }
}

/** Which next-user targets count in the loss (Eq. 8) and how they are weighted. */
export interface Targets {
  /** Target user at each of the B*L positions (PAD_USER where there is none). */
  users: Int32Array;
  /** 1 where the position's target is trained on, 0 where it is ignored. */
  weights: Float32Array;
  /** Number of positions with weight 1. */
  count: number;
}

/**
 * Targets of a batch of cascades: position t predicts the user at t+1, the last position predicts
 * `</s>` (§4.1). With `learnEnd` false, `</s>` targets get weight 0 (the authors' code); padding
 * always does, and so does a target that is already infected (a repeated user in the data), whose
 * masked logit would otherwise make the loss meaningless.
 */
export function nextUserTargets(batch: SequenceBatch, learnEnd: boolean): Targets {
  const { batchSize: B, maxLength: L } = batch;
  const users = new Int32Array(B * L);
  const weights = new Float32Array(B * L);
  let count = 0;
  const seen = new Set<number>();
  for (let b = 0; b < B; b++) {
    const n = batch.lengths[b];
    seen.clear();
    for (let t = 0; t < n; t++) {
      seen.add(batch.users[b * L + t]);
      const target = t + 1 < n ? batch.users[b * L + t + 1] : END_USER;
      users[b * L + t] = target;
      const trained = target === END_USER ? learnEnd : !seen.has(target);
      if (trained) {
        weights[b * L + t] = 1;
        count++;
      }
    }
  }
  return { users, weights, count };
}

/**
 * The targets as tensors: per-row weights [N, 1] and the one-hot targets times those weights
 * [N, |U|], both multiplied by `scale` (the manual training pass folds the 1/total of the mean in).
 */
export function targetWeightTensors(targets: Targets, numUsers: number, scale = 1): { rowWeights: Tensor; oneHotWeighted: Tensor } {
  const N = targets.users.length;
  const rw = new Float32Array(N);
  const ow = new Float32Array(N * numUsers);
  for (let r = 0; r < N; r++) {
    const w = targets.weights[r];
    if (w === 0) continue;
    rw[r] = w * scale;
    ow[r * numUsers + targets.users[r]] = w * scale;
  }
  return { rowWeights: tf.tensor2d(rw, [N, 1]), oneHotWeighted: tf.tensor2d(ow, [N, numUsers]) };
}

/**
 * Summed weighted cross-entropy sum_r w_r (logsumexp(l_r) - l_r[target]) and its gradient in the
 * logits, w (softmax - onehot). Rows of weight 0 contribute exactly 0 to both, whatever their logits.
 */
export function crossEntropyWithGradient(logits: Tensor2D, rowWeights: Tensor, oneHotWeighted: Tensor): { value: Tensor; dLogits: Tensor2D } {
  const shifted = tf.sub(logits, tf.max(logits, 1, true));
  const logProbs = tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), 1, true)));
  // A one-hot row weighted w sums to w: sum(onehot_w * -log p) = sum_r w_r (logsumexp - l[target]).
  const value = tf.neg(tf.sum(tf.mul(oneHotWeighted, logProbs)));
  const dLogits = tf.sub(tf.mul(tf.exp(logProbs), rowWeights), oneHotWeighted) as Tensor2D;
  return { value, dLogits };
}

/**
 * {@link crossEntropyWithGradient} with the targets as ids, `targetIndex` [N, 2] = (row, target user)
 * for every row (each row once; rows of weight 0 may name any user), instead of the weighted one-hot
 * [N, U]: the value gathers the N target log-probabilities, and the gradient subtracts w_r at the N
 * target entries only (`tensorScatterUpdate`), so no dense one-hot tensor or product is made (issue 22:
 * 124 MB each for the longest Twitter-sized row). The gradient is the dense form's bit for bit
 * (a - w at the target, a - 0 = a elsewhere); the value sums the same N products in another order,
 * so it equals the dense form's to float rounding.
 */
export function crossEntropyWithGradientOfIds(logits: Tensor2D, rowWeights: Tensor, targetIndex: Tensor): { value: Tensor; dLogits: Tensor2D } {
  // The [N, U] intermediates are disposed as soon as they are used (the same ops in the same
  // order, so the same values): run eagerly inside a scope (and in a GraphFunction's tracing run)
  // they would otherwise all live until the scope ends, six [N, U] tensors at once (issue 22: 126 MB
  // each for the longest Twitter-sized cascade).
  const free = (...ts: Tensor[]) => ts.forEach((t) => t.dispose());
  const max = tf.max(logits, 1, true);
  const shifted = tf.sub(logits, max);
  const exp = tf.exp(shifted);
  const sum = tf.sum(exp, 1, true);
  free(max, exp);
  const logSum = tf.log(sum);
  const logProbs = tf.sub(shifted, logSum);
  free(sum, shifted, logSum);
  const w = tf.reshape(rowWeights, [-1]);
  const value = tf.neg(tf.sum(tf.mul(tf.gatherND(logProbs, targetIndex), w)));
  const probs = tf.exp(logProbs);
  logProbs.dispose();
  const scaled = tf.mul(probs, rowWeights);
  probs.dispose();
  const dLogits = tf.tensorScatterUpdate(scaled, targetIndex, tf.sub(tf.gatherND(scaled, targetIndex), w)) as Tensor2D;
  scaled.dispose();
  return { value, dLogits };
}

/**
 * Summed cross-entropy of the targets under softmax(logits) (Eq. 8, negated), with the gradient
 * written out (`crossEntropyWithGradient`). Rows of weight 0 contribute exactly 0 to the value and
 * the gradient, whatever their logits (so masked targets can never produce NaN).
 */
export function weightedCrossEntropySum(logits: Tensor2D, targets: Targets): Tensor {
  // Freed by the caller's scope (tf.tidy / tf.variableGrads).
  const { rowWeights, oneHotWeighted } = targetWeightTensors(targets, logits.shape[1]);
  const loss = tf.customGrad((...inputs: (Tensor | tf.GradSaveFunc)[]) => {
    const save = inputs[1] as tf.GradSaveFunc;
    const { value, dLogits } = crossEntropyWithGradient(inputs[0] as Tensor2D, rowWeights, oneHotWeighted);
    // The gradient goes through save(): the forward scope frees the rest.
    save([dLogits]);
    return { value, gradFunc: (dy: Tensor, saved: Tensor[]) => [tf.mul(dy, saved[0])] };
  });
  return loss(logits);
}
