/**
 * The LSTM baseline of the NDM paper (§5.1): each infected user's embedding goes through an LSTM in
 * infection order, and a softmax over users on the hidden state after user t gives the next one
 * (users already infected, and the padding index, excluded). The end token `</s>` is one of the
 * users, so a cascade can end (as NDM §4.1).
 */
import { END_USER, PAD_USER, type Rng } from '@cascade-lab/core';
import { gridSize, LSTMCell, tf, WeightHolder, xavierUniform, normal, type LSTMState } from '@cascade-lab/tensor-ops';

/** Added to the logit of a user that may not come next: exp() of it is exactly 0 in float32. */
export const MASKED_LOGIT = -1e9;

export interface LstmArchitecture {
  /** Users in the vocabulary, the two reserved indices (padding 0, `</s>` 1) included. */
  numUsers: number;
  embeddingSize: number;
  hiddenSize: number;
}

/** Users, next-user targets and their weights of a padded batch, [rows, length] row-major. */
export interface TrainingChunk {
  rows: number;
  length: number;
  users: Int32Array;
  /** Target at each position: the next user, `</s>` after the last, PAD_USER in padding. */
  targets: Int32Array;
  /** 1 where the target is trained on, else 0. */
  weights: Float32Array;
  /** Trained targets (the sum of `weights`). */
  count: number;
}

/**
 * Pads cascades (user lists, infection order) into one chunk of `rows x length` (at least the real
 * sizes; extra rows and columns are padding with weight 0). The target after user t is user t+1,
 * and `</s>` after the last one (trained only with `learnEnd`); a target already infected (a user
 * repeated in the data) is not trained on, since its logit is masked.
 */
export function trainingChunk(cascades: readonly (readonly number[])[], learnEnd: boolean, rows = cascades.length, length = Math.max(1, ...cascades.map((c) => c.length))): TrainingChunk {
  const users = new Int32Array(rows * length).fill(PAD_USER);
  const targets = new Int32Array(rows * length).fill(PAD_USER);
  const weights = new Float32Array(rows * length);
  let count = 0;
  cascades.forEach((c, b) => {
    const seen = new Set<number>();
    for (let t = 0; t < c.length; t++) {
      users[b * length + t] = c[t];
      seen.add(c[t]);
      const target = t + 1 < c.length ? c[t + 1] : END_USER;
      targets[b * length + t] = target;
      if (target === END_USER ? learnEnd : !seen.has(target)) {
        weights[b * length + t] = 1;
        count++;
      }
    }
  });
  return { rows, length, users, targets, weights, count };
}

/** A chunk's rows and length rounded up to tensor-ops' shape grid (a few compiled graphs per run). */
export function griddedChunk(cascades: readonly (readonly number[])[], learnEnd: boolean): TrainingChunk {
  const length = gridSize(Math.max(1, ...cascades.map((c) => c.length)));
  return trainingChunk(cascades, learnEnd, gridSize(cascades.length), length);
}

export class LstmNetwork extends WeightHolder {
  readonly embedding: tf.Variable;
  readonly cell: LSTMCell;
  readonly outputKernel: tf.Variable;
  readonly outputBias: tf.Variable;

  constructor(
    readonly architecture: LstmArchitecture,
    rng: Rng,
  ) {
    super();
    const { numUsers: U, embeddingSize: E, hiddenSize: H } = architecture;
    this.embedding = this.addWeight('embedding', [U, E], normal({ std: 0.1 }), rng.derive('embedding'));
    this.cell = new LSTMCell({ inputSize: E, units: H }, rng.derive('cell'));
    this.outputKernel = this.addWeight('outputKernel', [H, U], xavierUniform(), rng.derive('output'));
    this.outputBias = this.adoptWeight('outputBias', tf.zeros([U]));
  }

  /** Every weight by name (the cell's under `cell/`). */
  allWeights(): Record<string, tf.Variable> {
    return { ...this.weights(), ...this.cell.weights('cell/') };
  }

  trainableVariables(): tf.Variable[] {
    return Object.values(this.allWeights());
  }

  /** One LSTM step from `state` with the embeddings of `users` ([n] int32). */
  step(users: tf.Tensor1D, state: LSTMState): LSTMState {
    return tf.tidy(() => this.cell.step(tf.gather(this.embedding, users) as tf.Tensor2D, state));
  }

  /** Unnormalised next-user scores from hidden states [n, H]: h W + b, [n, U]. */
  logits(h: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(h, this.outputKernel as tf.Tensor2D), this.outputBias) as tf.Tensor2D);
  }

  /** Hidden state after each position of `users` [B, L]: [B * L, H], row b * L + t. */
  hiddenStates(users: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, L] = users.shape;
      const x = tf.gather(this.embedding, users) as tf.Tensor3D; // [B, L, E]
      const steps = tf.unstack(x, 1) as tf.Tensor2D[];
      let state = this.cell.zeroState(B);
      const hs: tf.Tensor2D[] = [];
      for (let t = 0; t < L; t++) {
        state = this.cell.step(steps[t], state);
        hs.push(state.h);
      }
      return tf.reshape(tf.stack(hs, 1), [B * L, this.architecture.hiddenSize]) as tf.Tensor2D;
    });
  }

  /**
   * Next-user logits after each position, [B * L, U]: users infected up to and including that
   * position (a running count of one-hot rows) and the padding index get MASKED_LOGIT added.
   */
  maskedLogits(users: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, L] = users.shape;
      const U = this.architecture.numUsers;
      const logits = this.logits(this.hiddenStates(users));
      const infected = tf.minimum(tf.cumsum(tf.oneHot(users, U, 1, 0, 'float32'), 1), 1); // [B, L, U]
      const pad = tf.oneHot(tf.tensor1d([PAD_USER], 'int32'), U, 1, 0, 'float32'); // [1, U]
      const masked = tf.maximum(tf.reshape(infected, [B * L, U]), pad);
      return tf.add(logits, tf.mul(masked, MASKED_LOGIT)) as tf.Tensor2D;
    });
  }

  /** Summed weighted next-user cross-entropy of a chunk (tensors of `trainingChunk`), divided by `divisor`. */
  loss(users: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D, divisor: tf.Scalar): tf.Scalar {
    return tf.tidy(() => {
      const logp = tf.logSoftmax(this.maskedLogits(users));
      const picked = tf.sum(tf.mul(logp, tf.oneHot(targets, this.architecture.numUsers, 1, 0, 'float32')), 1);
      return tf.div(tf.neg(tf.sum(tf.mul(picked, weights))), divisor) as tf.Scalar;
    });
  }

  /** Copies of every weight's values by name. */
  readWeights(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const [name, v] of Object.entries(this.allWeights())) out[name] = (v.dataSync() as Float32Array).slice();
    return out;
  }

  assignWeights(values: Record<string, Float32Array>): void {
    for (const [name, v] of Object.entries(this.allWeights())) {
      const x = values[name];
      if (!x || x.length !== v.size) throw new Error(`lstm: weight "${name}" missing or of ${x?.length} values, needs ${v.size}`);
      tf.tidy(() => v.assign(tf.tensor(x, v.shape)));
    }
  }

  override dispose(): void {
    super.dispose();
    this.cell.dispose();
  }
}
