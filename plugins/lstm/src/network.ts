/**
 * The LSTM baseline of the NDM paper (§5.1): each infected user's embedding goes through an LSTM in
 * infection order, and a softmax over users on the hidden state after user t gives the next one
 * (users already infected, and the padding index, excluded). The end token `</s>` is one of the
 * users, so a cascade can end (as NDM §4.1).
 */
import { END_USER, PAD_USER, type Rng } from '@cascade-lab/core';
import { gridSize, LSTMCell, tf, WeightHolder, xavierUniform, normal, type LSTMSequenceOptions, type LSTMState } from '@cascade-lab/tensor-ops';

/** Added to the logit of a user that may not come next: exp() of it is exactly 0 in float32. */
export const MASKED_LOGIT = -1e9;

export interface LstmArchitecture {
  /** Users in the vocabulary, the two reserved indices (padding 0, `</s>` 1) included. */
  numUsers: number;
  embeddingSize: number;
  hiddenSize: number;
}

/**
 * Consecutive rows of a chunk whose LSTM runs over their first `length` positions only: the rest
 * of the chunk's length is padding for them, which the LSTM would compute and nothing reads (a
 * state depends only on earlier positions).
 */
export interface RowGroup {
  rows: number;
  length: number;
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
  /** The rows in groups, in order (one group of rows x length unless the chunk was cut so). */
  groups: readonly RowGroup[];
  /**
   * The trained positions in row-major order, then padding positions (index 0, weight 0) up to
   * `positions.length` (at least `count`): the loss computes the output layer and the softmax for
   * these rows only, not for every padded position. A position is its row in the groups' hidden
   * states laid end to end: o_g + (b - s_g) * length_g + t for row b of the group g that starts at
   * row s_g after o_g states (b * length + t with one group).
   */
  positions: Int32Array;
  /** Target and weight (1, 0 for padding) of each of `positions`. */
  positionTargets: Int32Array;
  positionWeights: Float32Array;
  /**
   * The users masked at each of `positions`, [positions.length, length + 1, 2] row-major pairs
   * (position k, user): the users infected up to and including the position, then the padding
   * user for the rest of the length + 1 slots (so padding is always masked, and the shape
   * depends only on the chunk's shape).
   */
  maskIndices: Int32Array;
}

/**
 * Pads cascades (user lists, infection order) into one chunk of `rows x length` (at least the real
 * sizes; extra rows and columns are padding with weight 0). The target after user t is user t+1,
 * and `</s>` after the last one (trained only with `learnEnd`); a target already infected (a user
 * repeated in the data) is not trained on, since its logit is masked. `positionsSize` gives the
 * number of loss rows for `count` trained targets (padding rows carry weight 0). `groups` cut the
 * rows into runs with their own LSTM length (each at least the longest cascade of its rows).
 */
export function trainingChunk(
  cascades: readonly (readonly number[])[],
  learnEnd: boolean,
  rows = cascades.length,
  length = Math.max(1, ...cascades.map((c) => c.length)),
  positionsSize: (count: number) => number = (count) => Math.max(1, count),
  groups: readonly RowGroup[] = [{ rows, length }],
): TrainingChunk {
  if (groups.reduce((s, g) => s + g.rows, 0) !== rows) throw new RangeError(`trainingChunk: groups of ${groups.map((g) => g.rows).join('+')} rows for ${rows} rows`);
  // Each row's group: its first row and the states before it.
  const groupStart = new Int32Array(rows);
  const groupOffset = new Int32Array(rows);
  const groupLength = new Int32Array(rows);
  for (let g = 0, start = 0, offset = 0; g < groups.length; offset += groups[g].rows * groups[g].length, start += groups[g].rows, g++) {
    if (groups[g].length > length || groups[g].length < 1) throw new RangeError(`trainingChunk: a group of length ${groups[g].length} in a chunk of length ${length}`);
    for (let b = start; b < start + groups[g].rows; b++) {
      groupStart[b] = start;
      groupOffset[b] = offset;
      groupLength[b] = groups[g].length;
      if (b < cascades.length && cascades[b].length > groups[g].length) throw new RangeError(`trainingChunk: row ${b} (${cascades[b].length} users) is longer than its group (${groups[g].length})`);
    }
  }
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
  const size = positionsSize(count);
  if (size < count || size < 1) throw new RangeError(`trainingChunk: ${size} positions cannot hold ${count} trained targets`);
  const positions = new Int32Array(size);
  const positionTargets = new Int32Array(size).fill(PAD_USER);
  const positionWeights = new Float32Array(size);
  const slots = length + 1;
  const maskIndices = new Int32Array(size * slots * 2);
  for (let k = 0; k < size; k++) for (let j = 0; j < slots; j++) maskIndices[(k * slots + j) * 2] = k; // users stay PAD_USER (0)
  let k = 0;
  for (let p = 0; p < rows * length; p++) {
    if (weights[p] === 0) continue;
    const b = Math.floor(p / length);
    const t = p % length;
    positions[k] = groupOffset[b] + (b - groupStart[b]) * groupLength[b] + t;
    positionTargets[k] = targets[p];
    positionWeights[k] = 1;
    const start = p - t;
    for (let q = start; q <= p; q++) maskIndices[(k * slots + (q - start)) * 2 + 1] = users[q];
    k++;
  }
  return { rows, length, users, targets, weights, count, groups, positions, positionTargets, positionWeights, maskIndices };
}

/**
 * Sizes per doubling of the loss rows' grid (tensor-ops `gridSize`): 2 (..., 256, 384, 512, 768,
 * ...) pads the trained positions by 19% where powers of two pad them by 44% (on the
 * bench's 120 batches: 37888 and 45952 loss rows for 31947 targets). The output layer and the
 * masked softmax, with their gradients, grow with the loss rows, and were a third of the step's
 * CPU time: the step takes about 11% less CPU time on those batches (see the README's Speed
 * section), for 42 compiled graphs instead of 35 there. 4 sizes per doubling (34752 rows, 56
 * graphs) saved no more measurably.
 */
export const LOSS_ROW_STEPS = 2;

/**
 * A chunk's rows and length rounded up to tensor-ops' shape grid, and its loss rows (trained
 * positions) up to the coarser grid of `LOSS_ROW_STEPS` sizes per doubling (`lossRowSteps`):
 * every distinct (rows, length, row groups, loss rows) is a compiled graph. The rows are cut into
 * `rowGroups` (`rowGroups: false`: one group, for the benchmark).
 */
export function griddedChunk(cascades: readonly (readonly number[])[], learnEnd: boolean, options: { rowGroups?: boolean; lossRowSteps?: number } = {}): TrainingChunk {
  const length = gridSize(Math.max(1, ...cascades.map((c) => c.length)));
  const rows = gridSize(cascades.length);
  const groups = options.rowGroups === false ? [{ rows, length }] : rowGroups(cascades.map((c) => c.length), rows, length);
  return trainingChunk(cascades, learnEnd, rows, length, (count) => gridSize(Math.max(1, count), { stepsPerDoubling: options.lossRowSteps ?? LOSS_ROW_STEPS }), groups);
}

/**
 * The row groups of a chunk of `rows` x `length` whose rows have `lengths` (the padding rows
 * after them none), longest first as `lengthChunks` orders them: with 8 rows or more, the first
 * quarter of the rows runs over the chunk's length and the rest over the power of two at or above
 * their longest cascade (one group when that is not shorter). In a batch of 32 random
 * Memetracker cascades a few are long and most short (8 users on average; the longest 16 to 300),
 * and the LSTM's cost grows with rows x length (less than proportionally for few rows): over 3
 * epochs of Memetracker batches the two groups run 2.4x fewer row positions than one padded group
 * (64% of them padding against 85%). The second length is part of a compiled graph's shape, on a
 * coarse grid: 64 training graphs in those 3 epochs against 37. Any order of rows is correct;
 * longest first is what saves.
 */
export function rowGroups(lengths: readonly number[], rows: number, length: number): RowGroup[] {
  const top = Math.ceil(rows / 4);
  if (rows < 8) return [{ rows, length }];
  const restLength = gridSize(Math.max(1, ...lengths.slice(top)), { stepsPerDoubling: 1 });
  if (restLength >= length) return [{ rows, length }];
  return [
    { rows: top, length },
    { rows: rows - top, length: restLength },
  ];
}

/** The tensors `LstmNetwork.loss` takes for a chunk, in its argument order (the caller disposes them). */
export function chunkTensors(chunk: TrainingChunk, divisor: number): [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor2D, tf.Scalar] {
  const n = chunk.positions.length;
  return [
    tf.tensor2d(chunk.users, [chunk.rows, chunk.length], 'int32'),
    tf.tensor1d(chunk.positions, 'int32'),
    tf.tensor1d(chunk.positionTargets, 'int32'),
    tf.tensor1d(chunk.positionWeights, 'float32'),
    tf.tensor2d(chunk.maskIndices, [n * (chunk.length + 1), 2], 'int32'),
    tf.scalar(divisor),
  ];
}

export class LstmNetwork extends WeightHolder {
  readonly embedding: tf.Variable;
  readonly cell: LSTMCell;
  readonly outputKernel: tf.Variable;
  readonly outputBias: tf.Variable;
  /** How `hiddenStates` runs the LSTM (tensor-ops' `lstmSequence`; the benchmark compares them). */
  lstmImplementation: LSTMSequenceOptions['implementation'] = 'fused';

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

  /**
   * Hidden state after each position of `users` [B, L]: [B * L, H], row b * L + t (tensor-ops'
   * `LSTMCell.sequence`). With row `groups`, each group's LSTM runs over its rows and its length
   * only, and the states are the groups' [rows_g * length_g, H] laid end to end (see
   * `TrainingChunk.positions`).
   */
  hiddenStates(users: tf.Tensor2D, groups?: readonly RowGroup[]): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, L] = users.shape;
      const H = this.architecture.hiddenSize;
      let start = 0;
      const parts = (groups ?? [{ rows: B, length: L }]).map((g) => {
        const u = g.rows === B && g.length === L ? users : tf.slice(users, [start, 0], [g.rows, g.length]);
        start += g.rows;
        const x = tf.gather(this.embedding, u) as tf.Tensor3D; // [rows, length, E]
        return tf.reshape(this.cell.sequence(x, { implementation: this.lstmImplementation }), [g.rows * g.length, H]);
      });
      return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as tf.Tensor2D;
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

  /**
   * Summed weighted next-user cross-entropy of a chunk, divided by `divisor`. The inputs are the
   * chunk's tensors (`chunkTensors`) and its row groups: users [B, L], and for the trained positions
   * only their indices [N] (into the groups' states), targets [N], weights [N] and mask index pairs [N * (L + 1), 2]. The LSTM runs
   * over the padded [B, L]; the output layer and the softmax over users (the costly part: N x U
   * per position instead of B x L x U) only over the N trained positions. The mask is a scatter of
   * MASKED_LOGIT at (position, infected user): a user listed twice (the padding user, or a user
   * repeated in the data) gets a multiple of it, whose exp() is 0 all the same, so the loss is the
   * one of `maskedLogits` at those positions.
   */
  loss(users: tf.Tensor2D, positions: tf.Tensor1D, targets: tf.Tensor1D, weights: tf.Tensor1D, maskIndices: tf.Tensor2D, divisor: tf.Scalar, groups?: readonly RowGroup[]): tf.Scalar {
    return tf.tidy(() => {
      const U = this.architecture.numUsers;
      const N = positions.shape[0];
      const logits = this.logits(tf.gather(this.hiddenStates(users, groups), positions) as tf.Tensor2D);
      const mask = tf.scatterND(maskIndices, tf.fill([maskIndices.shape[0]], MASKED_LOGIT), [N, U]);
      const logp = tf.logSoftmax(tf.add(logits, mask));
      const picked = tf.sum(tf.mul(logp, tf.oneHot(targets, U, 1, 0, 'float32')), 1);
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
