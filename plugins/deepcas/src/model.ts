/**
 * The DeepCas network (Li, Ma, Guo, Mei, WWW 2017, §4): a cascade graph, given as K random walks of
 * T nodes, goes to one number, the predicted log2(increment + 1).
 *
 * 1. Node embedding (§4.2): a lookup into a [V, D] matrix initialised by skip-gram on the training
 *    walks and fine-tuned with a much smaller step size (the authors' code: 5e-5 against 0.01).
 * 2. A bidirectional GRU over each walk (§4.3), forward and backward states concatenated per step:
 *    h_t = [h_t(fwd); h_t(bwd)] of width 2U.
 * 3. Attention (§4.4): over the T steps, a softmax of learned logits lambda_t; over the K walks, a
 *    geometric prior over blocks of B walks: block j (walks jB .. jB+B-1) weighs a_j = p (1 - p)^j,
 *    so that the model learns how many walks matter (a large p: the first blocks only). p depends
 *    on the size of the cascade graph: one learned logit per size bucket floor(log2(|V_c|)) (the
 *    authors' Torch code: a lookup table indexed by graph size; the step logits likewise per
 *    bucket). The graph vector is h(G) = sum_k sum_t a_{k div B} lambda_t h_{k,t}.
 * 4. An MLP (§4.5): relu(32) -> relu(16) -> 1, a linear output (the authors' TensorFlow code puts
 *    a relu on the output too, which can leave every prediction at 0 with no gradient). With
 *    `graphSizeInput` (not in the paper) its input is [h(G); log2 |V_c|]; with `graphSizeSkip` (not
 *    in the paper either) the output adds a log2 |V_c|, a learned slope.
 *
 * Every step is a pure function of its inputs (walks, buckets, targets) and the variables, so the
 * training step and the forward pass run as compiled TensorFlow graphs (tensor-ops' GraphFunction).
 */
import type { Rng } from '@cascade-lab/core';
import { constant, GRUCell, normal, tf, WeightHolder, xavierUniform, zeros } from '@cascade-lab/tensor-ops';

/** Vocabulary index of positions after a walk stopped. */
export const PAD_NODE = 0;
/** Vocabulary index of a node not seen in the training cascades. */
export const UNKNOWN_NODE = 1;
/** Indices before the first real node. */
export const RESERVED_NODES = 2;

export interface DeepCasArchitecture {
  /** V: vocabulary size, the two reserved indices included. */
  vocabularySize: number;
  /** D: node embedding width (paper 50). */
  embeddingDim: number;
  /** U: GRU units per direction (paper 32). */
  gruUnits: number;
  /** Widths of the two hidden MLP layers (paper 32, 16). */
  dense1: number;
  dense2: number;
  /** K and T. */
  walksPerGraph: number;
  walkLength: number;
  /** B: walks per block of the geometric prior (authors' code 20). K must be a multiple. */
  blockSize: number;
  /** Graph-size buckets floor(log2(|V_c|)), the last one taking every larger graph. */
  sizeBuckets: number;
  /**
   * How the geometric prior's p depends on the graph's size: `bucket`, one learned logit per size
   * bucket (the authors' Torch code); `size`, one learned logit a with p = sigmoid(a)^(1 + bucket)
   * (the authors' TensorFlow code: p = sigmoid(a)^log2(e |V_c|), at the resolution of the bucket).
   * Absent (models saved before the option): `bucket`.
   */
  walkPrior?: 'bucket' | 'size';
  /**
   * Whether the MLP also reads log2 |V_c|, the number of nodes of the observed cascade graph, beside
   * the graph vector (not in the paper: its networks see the size only through the size buckets
   * of the attention). Absent (models saved before the option): false.
   */
  graphSizeInput?: boolean;
  /**
   * Whether the prediction adds a learned linear term a log2 |V_c| to the MLP's output (not in the
   * paper; a starts at 0). Absent: false.
   */
  graphSizeSkip?: boolean;
}

/** Size bucket of a cascade graph with `numNodes` nodes: floor(log2(n)), capped. */
export function sizeBucket(numNodes: number, buckets: number): number {
  return Math.min(buckets - 1, Math.floor(Math.log2(Math.max(1, numNodes))));
}

/**
 * Weights of the K walks under the geometric prior: p = sigmoid(logit) per graph [G]; walk k gets
 * p (1 - p)^floor(k / B). Computed as p exp(-j softplus(logit)), since log(1 - sigmoid(x)) =
 * -softplus(x) (no log of a number near 0). Returns [G, K].
 */
export function geometricWalkWeights(logits: tf.Tensor1D, walks: number, blockSize: number): tf.Tensor2D {
  return tf.tidy(() => {
    const blocks = walks / blockSize;
    const g = logits.shape[0];
    const j = tf.range(0, blocks, 1, 'float32').reshape([1, blocks]);
    const p = tf.sigmoid(logits).reshape([g, 1]);
    const perBlock = tf.mul(p, tf.exp(tf.mul(tf.neg(tf.softplus(logits).reshape([g, 1])), j))); // [G, blocks]
    return tf.reshape(tf.tile(tf.expandDims(perBlock, 2), [1, 1, blockSize]), [g, walks]) as tf.Tensor2D;
  });
}

/**
 * The `size` prior's per-block weights: p = sigmoid(a)^(1 + bucket), block j weighing
 * p (1 - p)^j, computed in logs: log p = -(1 + bucket) softplus(-a) (log sigmoid(a) =
 * -softplus(-a)), log(1 - p) = log1p(-p). One logit for every size, so graphs of rare sizes share
 * what the common ones teach, and the weights' total B (1 - (1 - p)^(K/B)) falls with the size from
 * the first step (sigmoid(a) = 1/2: total 20 (1 - 0.75^10) = 18.9 for a 2-node graph, 20 (1 -
 * (1 - 2^-5)^10) = 5.5 for 16 nodes): a size signal the network reads without learning it first.
 * Returns [G, K].
 */
export function sizeGeometricWalkWeights(logit: tf.Tensor1D, buckets: tf.Tensor1D, walks: number, blockSize: number): tf.Tensor2D {
  return tf.tidy(() => {
    const blocks = walks / blockSize;
    const g = buckets.shape[0];
    const j = tf.range(0, blocks, 1, 'float32').reshape([1, blocks]);
    const exponent = tf.add(tf.cast(buckets, 'float32'), 1).reshape([g, 1]);
    const logP = tf.mul(exponent, tf.neg(tf.softplus(tf.neg(logit.reshape([1, 1]))))); // [G, 1]
    const log1mP = tf.log1p(tf.neg(tf.exp(logP)));
    const perBlock = tf.exp(tf.add(logP, tf.mul(log1mP, j))); // [G, blocks]
    return tf.reshape(tf.tile(tf.expandDims(perBlock, 2), [1, 1, blockSize]), [g, walks]) as tf.Tensor2D;
  });
}

/**
 * A GRU over all walks at once with `gruStep`'s equations (tensor-ops; TensorFlow's GRUCell, reset
 * before the recurrent matmul): the input projections x W + b of every step in one matmul, then T
 * recurrent steps. `inputs` [N, T, D] -> T states [N, U], in input order (`reverse`: the walk is
 * read from its end, and the states are returned in input order again).
 */
export function gruSequence(inputs: tf.Tensor3D, cell: GRUCell, reverse: boolean): tf.Tensor2D[] {
  const [n, steps, d] = inputs.shape;
  const u = cell.units;
  const projected = tf.reshape(tf.add(tf.matMul(tf.reshape(inputs, [n * steps, d]), cell.kernel as tf.Tensor2D), cell.bias), [n, steps, 3 * u]);
  const recurrentZR = tf.slice(cell.recurrentKernel, [0, 0], [u, 2 * u]) as tf.Tensor2D;
  const recurrentH = tf.slice(cell.recurrentKernel, [0, 2 * u], [u, u]) as tf.Tensor2D;
  const out: tf.Tensor2D[] = new Array(steps);
  let h: tf.Tensor2D = tf.zeros([n, u]);
  for (let s = 0; s < steps; s++) {
    const t = reverse ? steps - 1 - s : s;
    const x = tf.reshape(tf.slice(projected, [0, t, 0], [n, 1, 3 * u]), [n, 3 * u]);
    const xZR = tf.slice(x, [0, 0], [n, 2 * u]);
    const xH = tf.slice(x, [0, 2 * u], [n, u]);
    const zr = tf.sigmoid(tf.add(xZR, tf.matMul(h, recurrentZR)));
    const z = tf.slice(zr, [0, 0], [n, u]);
    const r = tf.slice(zr, [0, u], [n, u]);
    const candidate = tf.tanh(tf.add(xH, tf.matMul(tf.mul(r, h) as tf.Tensor2D, recurrentH)));
    h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), candidate)) as tf.Tensor2D;
    out[t] = h;
  }
  return out;
}

export interface ForwardOutput {
  /** Predicted log2(increment + 1) per graph [G]. */
  prediction: tf.Tensor1D;
  /** Attention over steps [G, T] and the per-walk geometric weights [G, K]. */
  stepAttention: tf.Tensor2D;
  walkWeights: tf.Tensor2D;
}

export interface NetworkInit {
  /** Initial embedding rows [V * D] (skip-gram vectors; reserved rows included). */
  embeddings?: Float32Array;
  /** Std of the normal initialisation of the attention logits (and of the MLP with `mlp: 'normal'`; authors' code 0.01). */
  initStd?: number;
  /**
   * The MLP's initialisation: `glorot`, Glorot-uniform kernels, zero hidden biases and the output
   * bias at `outputBias`; `normal`, every MLP weight N(0, initStd^2) (the authors' TensorFlow code).
   * Default `normal`.
   */
  mlp?: 'glorot' | 'normal';
  /** The output bias with `mlp: 'glorot'` (the plugin passes the mean training label). */
  outputBias?: number;
}

export class DeepCasNetwork extends WeightHolder {
  readonly embedding: tf.Variable;
  readonly forwardGru: GRUCell;
  readonly backwardGru: GRUCell;
  readonly stepLogits: tf.Variable;
  readonly geoLogits: tf.Variable;
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
  readonly wOut: tf.Variable;
  readonly bOut: tf.Variable;
  /** The slope a of the output's linear term in log2 |V_c| (with `graphSizeSkip`), else null. */
  readonly sizeSlope: tf.Variable | null;

  constructor(readonly arch: DeepCasArchitecture, rng: Rng, init: NetworkInit = {}) {
    super();
    const a = arch;
    if (a.walksPerGraph % a.blockSize !== 0) throw new RangeError(`walksPerGraph (${a.walksPerGraph}) must be a multiple of blockSize (${a.blockSize})`);
    const std = init.initStd ?? 0.01;
    const small = normal({ std });
    if (init.embeddings) {
      if (init.embeddings.length !== a.vocabularySize * a.embeddingDim) throw new RangeError(`embeddings: expected ${a.vocabularySize} x ${a.embeddingDim} values, got ${init.embeddings.length}`);
      this.embedding = this.adoptWeight('embedding', tf.tensor2d(init.embeddings, [a.vocabularySize, a.embeddingDim]));
    } else {
      this.embedding = this.addWeight('embedding', [a.vocabularySize, a.embeddingDim], normal({ std: 1 / a.embeddingDim }), rng.derive('embedding'));
    }
    this.forwardGru = new GRUCell({ inputSize: a.embeddingDim, units: a.gruUnits }, rng.derive('gru-forward'));
    this.backwardGru = new GRUCell({ inputSize: a.embeddingDim, units: a.gruUnits }, rng.derive('gru-backward'));
    this.stepLogits = this.addWeight('attention/stepLogits', [a.sizeBuckets, a.walkLength], small, rng.derive('step'));
    this.geoLogits = this.addWeight('attention/geoLogits', [(a.walkPrior ?? 'bucket') === 'size' ? 1 : a.sizeBuckets], small, rng.derive('geo'));
    const glorot = init.mlp === 'glorot';
    const kernel = glorot ? xavierUniform() : small;
    const bias = glorot ? zeros() : small;
    this.w1 = this.addWeight('dense1/kernel', [2 * a.gruUnits + (a.graphSizeInput ? 1 : 0), a.dense1], kernel, rng.derive('w1'));
    this.b1 = this.addWeight('dense1/bias', [a.dense1], bias, rng.derive('b1'));
    this.w2 = this.addWeight('dense2/kernel', [a.dense1, a.dense2], kernel, rng.derive('w2'));
    this.b2 = this.addWeight('dense2/bias', [a.dense2], bias, rng.derive('b2'));
    this.wOut = this.addWeight('out/kernel', [a.dense2, 1], kernel, rng.derive('wOut'));
    this.bOut = this.addWeight('out/bias', [1], glorot ? constant(init.outputBias ?? 0) : small, rng.derive('bOut'));
    this.sizeSlope = a.graphSizeSkip ? this.addWeight('out/sizeSlope', [1], zeros(), rng.derive('sizeSlope')) : null;
  }

  /** Every weight by name (the GRUs' under `gruForward/` and `gruBackward/`). */
  allWeights(): Record<string, tf.Variable> {
    return { ...this.weights(), ...this.forwardGru.weights('gruForward/'), ...this.backwardGru.weights('gruBackward/') };
  }

  allTrainableWeights(): tf.Variable[] {
    return Object.values(this.allWeights()).filter((v) => v.trainable);
  }

  parameterCountAll(): number {
    return Object.values(this.allWeights()).reduce((n, v) => n + v.size, 0);
  }

  /**
   * walks: int32 [G, K, T] vocabulary indices; buckets: int32 [G] size buckets; logSizes: float32
   * [G] log2 |V_c| (read with `graphSizeInput` or `graphSizeSkip` only, and required then).
   */
  forward(walks: tf.Tensor3D, buckets: tf.Tensor1D, logSizes?: tf.Tensor1D): ForwardOutput {
    const a = this.arch;
    const [g, k, t] = walks.shape;
    if (k !== a.walksPerGraph || t !== a.walkLength) throw new RangeError(`walks: expected [*, ${a.walksPerGraph}, ${a.walkLength}], got [${walks.shape.join(', ')}]`);
    if ((a.graphSizeInput || a.graphSizeSkip) && !logSizes) throw new RangeError('forward: graphSizeInput and graphSizeSkip need the graphs\' log2 sizes');
    const n = g * k;
    // §4.2: embed every node of every walk.
    const x = tf.reshape(tf.gather(this.embedding, tf.reshape(walks, [n * t])), [n, t, a.embeddingDim]) as tf.Tensor3D;
    // §4.3: bidirectional GRU.
    const fwd = gruSequence(x, this.forwardGru, false);
    const bwd = gruSequence(x, this.backwardGru, true);
    // §4.4: attention over steps (softmax per size bucket) and over walks (geometric prior).
    const stepAttention = tf.softmax(tf.gather(this.stepLogits, buckets)) as tf.Tensor2D; // [G, T]
    const walkWeights =
      (a.walkPrior ?? 'bucket') === 'size'
        ? sizeGeometricWalkWeights(this.geoLogits as tf.Tensor1D, buckets, k, a.blockSize)
        : geometricWalkWeights(tf.gather(this.geoLogits, buckets) as tf.Tensor1D, k, a.blockSize); // [G, K]
    const steps = tf.unstack(stepAttention, 1); // T x [G]
    let graph: tf.Tensor | null = null;
    for (let s = 0; s < t; s++) {
      const h = tf.reshape(tf.concat([fwd[s], bwd[s]], 1), [g, k, 2 * a.gruUnits]);
      const w = tf.mul(walkWeights, tf.reshape(steps[s], [g, 1])); // [G, K]
      const term = tf.sum(tf.mul(h, tf.expandDims(w, 2)), 1); // [G, 2U]
      graph = graph === null ? term : tf.add(graph, term);
    }
    // §4.5: MLP to the predicted log2(increment + 1); with graphSizeInput it reads [h(G); log2 |V_c|].
    const mlpInput = a.graphSizeInput ? tf.concat([graph as tf.Tensor2D, tf.reshape(logSizes!, [g, 1])], 1) : graph;
    const d1 = tf.relu(tf.add(tf.matMul(mlpInput as tf.Tensor2D, this.w1 as tf.Tensor2D), this.b1));
    const d2 = tf.relu(tf.add(tf.matMul(d1 as tf.Tensor2D, this.w2 as tf.Tensor2D), this.b2));
    const mlpOut = tf.reshape(tf.add(tf.matMul(d2 as tf.Tensor2D, this.wOut as tf.Tensor2D), this.bOut), [g]) as tf.Tensor1D;
    const prediction = this.sizeSlope ? (tf.add(mlpOut, tf.mul(this.sizeSlope, logSizes!)) as tf.Tensor1D) : mlpOut;
    return { prediction, stepAttention, walkWeights };
  }

  /**
   * The training objective (authors' code): the weighted mean squared error of log2(increment + 1)
   * (rowWeights 0 for padding rows) plus l1 sum|w| + l2 sum w^2 / 2 over every weight (TensorFlow's
   * l1_l2_regularizer). Returns [objective, mean squared error]. logSizes: as `forward`.
   */
  loss(walks: tf.Tensor3D, buckets: tf.Tensor1D, targets: tf.Tensor1D, rowWeights: tf.Tensor1D, l1: number, l2: number, logSizes?: tf.Tensor1D): { objective: tf.Scalar; mse: tf.Scalar } {
    const { prediction } = this.forward(walks, buckets, logSizes);
    const mse = tf.div(tf.sum(tf.mul(tf.square(tf.sub(prediction, targets)), rowWeights)), tf.maximum(tf.sum(rowWeights), 1)) as tf.Scalar;
    let objective: tf.Scalar = mse;
    if (l1 > 0 || l2 > 0) {
      const penalties = this.allTrainableWeights().map((v) => tf.add(tf.mul(tf.sum(tf.abs(v)), l1), tf.mul(tf.sum(tf.square(v)), l2 / 2)));
      objective = tf.add(mse, tf.addN(penalties)) as tf.Scalar;
    }
    return { objective, mse };
  }

  override dispose(): void {
    super.dispose();
    this.forwardGru.dispose();
    this.backwardGru.dispose();
  }
}
