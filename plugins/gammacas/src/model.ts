/**
 * The GammaCas network (Dutta et al. 2021, "Incomplete Gamma Integrals for Deep Cascade Prediction
 * using Content, Network, and Exogenous Signals", §3). Facts the paper leaves open come from the
 * authors' code (docs/MODELS.md); where the two differ the paper is the default and the code an
 * option (see hyperparameters.ts).
 *
 *   counts, followers --(trainable normalisation)--> follower-gated LSTM --> h_k      (§3.3)
 *   root text --> embeddings * sqrt(d) + position encoding --> word attention --> e   (§3.4)
 *   news items --> the same encoder --> n_j;  z = softmax(e n_j^T / sqrt(d)) n        (§3.5)
 *   mu = relu(w_T z + b_T);  A_k = mu relu(w_A h_k + b_A), gamma_k = softplus(w_g h_k + b_g),
 *   lambda_k = relu(w_l h_k + b_l);  A, gamma, lambda = their means over the steps    (§3.6)
 *   size(P) = integral_0^P A t^gamma e^(-lambda t) dt  (t in hours)                      (§3.7, Eq. 5)
 *   loss = MAPE(sizes) + zeta * MSE(next-bin counts A_k t^gamma_k e^(-lambda_k t) Delta)  (Eq. 18)
 */
import type { Rng } from '@cascade-lab/core';
import { CascadeError } from '@cascade-lab/core';
import {
  FollowerGatedLSTMCell,
  LSTMCell,
  LayerNorm,
  WeightHolder,
  addPositionEncoding,
  gammaRateIntegral,
  maskedSoftmax,
  sinusoidalPositionEncoding,
  tf,
  uniform,
  xavierUniform,
  type LSTMState,
} from '@cascade-lab/tensor-ops';
import { planDopri5, rk4Rule, type QuadratureRule } from './quadrature.js';
import type { GammaCasHyperparameters } from './hyperparameters.js';
import type { PackedCascades } from './inputs.js';

/** Everything that fixes the network's shapes and equations (saved with the weights). */
export interface GammaCasArchitecture {
  variant: GammaCasHyperparameters['variant'];
  cell: GammaCasHyperparameters['cell'];
  gateActivation: GammaCasHyperparameters['gateActivation'];
  inputNormalization: GammaCasHyperparameters['inputNormalization'];
  stateSize: number;
  embeddingDim: number;
  maxTextTokens: number;
  maxNewsTokens: number;
  maxNewsItems: number;
  vocabularySize: number;
  /** Bins of the observation window (M). */
  bins: number;
  /** Bin width Delta_o in hours (the rate's time unit is the hour, as in the authors' code). */
  binWidthHours: number;
  /** Retweets per unit of the A head's output (see the `retweetUnit` hyperparameter). */
  retweetUnit: number;
}

/** How sizes are integrated (§3.7). */
export interface IntegratorSettings {
  integrator: GammaCasHyperparameters['integrator'];
  /** RK4 step in hours (fixed when the model is trained: largest training horizon / rk4Steps). */
  rk4StepHours: number;
  dopri5RelativeTolerance: number;
  dopri5AbsoluteTolerance: number;
  dopri5MaxSteps: number;
}

/** The news items of a batch, each distinct item once. */
export interface NewsTensors {
  /** [U, maxNewsTokens] int32: the distinct items (0 = padding). */
  unique: tf.Tensor2D;
  /** [B * maxNewsItems] int32: row of `unique` for item k of cascade b at b * maxNewsItems + k. */
  index: tf.Tensor1D;
  /** [B, maxNewsItems] bool: the item has at least one token. */
  present: tf.Tensor2D;
}

/** A mini-batch as tensors (the caller disposes them). */
export interface BatchTensors {
  /** [B, M + 1, 2] raw counts and follower sums; step 0 is the root post. */
  sequence: tf.Tensor3D;
  /** [B, maxTextTokens] int32, 0 = padding. */
  text?: tf.Tensor2D;
  news?: NewsTensors;
}

/** Per-step and pooled growth parameters, and the attention weights behind them. */
export interface ForwardOutput {
  /** [B, M + 1] per-step A_k (mu included), gamma_k, lambda_k (§3.6, Eq. 14-16). */
  amplitudeSteps: tf.Tensor2D;
  gammaSteps: tf.Tensor2D;
  lambdaSteps: tf.Tensor2D;
  /** [B] averages over the steps: the parameters of the size integral. */
  amplitude: tf.Tensor1D;
  gamma: tf.Tensor1D;
  lambda: tf.Tensor1D;
  /** [B] the content modulation mu (absent for counts-only). */
  mu?: tf.Tensor1D;
  /** [B, maxTextTokens] word attention alpha of the root text (Eq. 12); 0 on padding. */
  wordAttention?: tf.Tensor2D;
  /** [B, maxNewsItems] news attention beta (§3.5); 0 on empty items. */
  newsAttention?: tf.Tensor2D;
}

/** Distinct news items of a packed batch and where each (cascade, item) slot finds its item. */
function dedupeNews(p: PackedCascades): { unique: Int32Array; count: number; index: Int32Array; present: Uint8Array } {
  const width = p.maxNewsTokens;
  const slots = p.size * p.maxNewsItems;
  const news = p.news!;
  const seen = new Map<string, number>();
  const uniqueRows: number[] = [];
  const index = new Int32Array(slots);
  const present = new Uint8Array(slots);
  for (let i = 0; i < slots; i++) {
    const row = news.subarray(i * width, (i + 1) * width);
    present[i] = row.some((t) => t !== 0) ? 1 : 0;
    const key = row.join(',');
    let u = seen.get(key);
    if (u === undefined) {
      u = uniqueRows.length;
      seen.set(key, u);
      uniqueRows.push(i);
    }
    index[i] = u;
  }
  const unique = new Int32Array(uniqueRows.length * width);
  uniqueRows.forEach((i, u) => unique.set(news.subarray(i * width, (i + 1) * width), u * width));
  return { unique, count: uniqueRows.length, index, present };
}

/**
 * Batch tensors for rows of a packed set (already sliced). `uniqueNewsRows` maps the number of
 * distinct news items to the number of rows `news.unique` gets (>=): the extra rows repeat the
 * first item and are never indexed (compiled graphs use it to see fewer distinct shapes).
 */
export function batchTensors(p: PackedCascades, options: { uniqueNewsRows?: (count: number) => number } = {}): BatchTensors {
  let news: NewsTensors | undefined;
  if (p.news) {
    const d = dedupeNews(p);
    const rows = Math.max(d.count, options.uniqueNewsRows?.(d.count) ?? d.count);
    let unique = d.unique;
    if (rows > d.count) {
      unique = new Int32Array(rows * p.maxNewsTokens);
      unique.set(d.unique);
      for (let r = d.count; r < rows; r++) unique.copyWithin(r * p.maxNewsTokens, 0, p.maxNewsTokens);
    }
    news = {
      unique: tf.tensor2d(unique, [rows, p.maxNewsTokens], 'int32'),
      index: tf.tensor1d(d.index, 'int32'),
      present: tf.tensor2d(d.present, [p.size, p.maxNewsItems], 'bool'),
    };
  }
  return {
    sequence: tf.tensor3d(p.sequence, [p.size, p.steps, 2]),
    text: p.text ? tf.tensor2d(p.text, [p.size, p.maxTextTokens], 'int32') : undefined,
    news,
  };
}

export function disposeBatch(b: BatchTensors): void {
  b.sequence.dispose();
  b.text?.dispose();
  if (b.news) for (const t of Object.values(b.news)) t.dispose();
}

/**
 * A t^gamma e^(-lambda t) for a tensor of times (Eq. 5), elementwise with broadcasting; every time
 * must be > 0 (the log is taken). tensor-ops' `gammaRate` takes one scalar time; the autoregressive
 * head and the Dormand-Prince rule need many times at once.
 */
export function rateAtTimes(amplitude: tf.Tensor, gamma: tf.Tensor, lambda: tf.Tensor, timesHours: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(amplitude, tf.exp(tf.sub(tf.mul(gamma, tf.log(timesHours)), tf.mul(lambda, timesHours)))));
}

/** RK4 rules depend only on the horizons and the step: build each once. */
const rk4Rules = new Map<string, QuadratureRule>();

function cachedRk4Rule(horizonsHours: number[], stepHours: number): QuadratureRule {
  const key = `${stepHours}|${horizonsHours.join(',')}`;
  let rule = rk4Rules.get(key);
  if (!rule) {
    rule = rk4Rule(horizonsHours, stepHours);
    if (rk4Rules.size > 64) rk4Rules.clear();
    rk4Rules.set(key, rule);
  }
  return rule;
}

/** Y[b, j] = sum_n w[n, j] A_b t_n^gamma_b e^(-lambda_b t_n), over the rule's nodes t_n > 0 (the rate is 0 at t = 0). */
function applyRuleToTensors(rule: QuadratureRule, amplitude: tf.Tensor1D, gamma: tf.Tensor1D, lambda: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const positive: number[] = [];
    for (let n = 0; n < rule.nodes.length; n++) if (rule.nodes[n] > 0) positive.push(n);
    const nodes = tf.tensor2d(positive.map((n) => rule.nodes[n]), [1, positive.length]);
    const weights = new Float32Array(positive.length * rule.horizons);
    positive.forEach((n, i) => weights.set(rule.weights.subarray(n * rule.horizons, (n + 1) * rule.horizons), i * rule.horizons));
    const rates = rateAtTimes(tf.expandDims(amplitude, 1), tf.expandDims(gamma, 1), tf.expandDims(lambda, 1), nodes) as tf.Tensor2D; // [B, N]
    return tf.matMul(rates, tf.tensor2d(weights, [positive.length, rule.horizons]));
  });
}

/**
 * Sizes at `horizonsHours` (any order, each > 0) for pooled parameters [B]: returns [B, H]
 * (§3.7, Eq. 5). RK4 and Dormand-Prince run as quadrature rules (see quadrature.ts); the closed
 * form is tensor-ops' incomplete-gamma integral.
 */
export function integrateSizes(amplitude: tf.Tensor1D, gamma: tf.Tensor1D, lambda: tf.Tensor1D, horizonsHours: number[], s: IntegratorSettings): tf.Tensor2D {
  for (const h of horizonsHours) {
    if (!(h > 0) || !Number.isFinite(h)) throw new CascadeError('USAGE', `GammaCas: horizons must be finite and > 0 hours, got ${h}`);
  }
  if (s.integrator === 'closed-form') return gammaRateIntegral(amplitude, gamma, lambda, horizonsHours) as tf.Tensor2D;
  if (s.integrator === 'rk4') return applyRuleToTensors(cachedRk4Rule(horizonsHours, s.rk4StepHours), amplitude, gamma, lambda);
  // Dormand-Prince: steps chosen on the current values, shared by the batch.
  const rule = planDopri5(
    { A: amplitude.dataSync(), gamma: gamma.dataSync(), lambda: lambda.dataSync() },
    horizonsHours,
    { relativeTolerance: s.dopri5RelativeTolerance, absoluteTolerance: s.dopri5AbsoluteTolerance, maxSteps: s.dopri5MaxSteps },
  );
  return applyRuleToTensors(rule, amplitude, gamma, lambda);
}

/** A dense layer with one output per head, each initialised as its own Keras Dense(1) (glorot). */
function stackedUnitKernels(inputSize: number, heads: number, rng: Rng): tf.Tensor {
  return tf.tidy(() => tf.concat(Array.from({ length: heads }, (_, i) => xavierUniform()([inputSize, 1], rng.derive(`head-${i}`))), 1));
}

export interface NetworkInitialisation {
  /** log(1 + x) statistics of the training inputs (for `log-standardize`). */
  logMean: [number, number];
  logStd: [number, number];
  /** [vocabularySize, embeddingDim] starting embeddings (else U(-0.05, 0.05), Keras' default). */
  embeddings?: Float32Array;
  /** Random embeddings are drawn from U(-r, r) (default 0.05, Keras' default). */
  embeddingInitRange?: number;
}

export class GammaCasNetwork extends WeightHolder {
  readonly arch: GammaCasArchitecture;
  private readonly cellFollowerGated?: FollowerGatedLSTMCell;
  private readonly cellPlain?: LSTMCell;
  private readonly layerNorm?: LayerNorm;
  private readonly inputScale?: tf.Variable;
  private readonly inputShift?: tf.Variable;
  private readonly embedding?: tf.Variable;
  private readonly wordAttentionKernel?: tf.Variable;
  private readonly wordAttentionBias?: tf.Variable;
  private readonly muKernel?: tf.Variable;
  private readonly muBias?: tf.Variable;
  /** [s, 3]: the A, gamma and lambda heads side by side (three Dense(1) layers, §3.6). */
  private readonly headKernel: tf.Variable;
  private readonly headBias: tf.Variable;
  /** [1, M] times (hours) of the autoregressive predictions: the midpoints of bins 1..M. */
  private readonly autoregressiveTimes: tf.Tensor2D;
  private readonly positionEncodings = new Map<number, tf.Tensor2D>();

  constructor(arch: GammaCasArchitecture, rng: Rng, init: NetworkInitialisation) {
    super();
    this.arch = arch;
    if (arch.embeddingDim % 2 !== 0) throw new CascadeError('CONFIG_INVALID', `GammaCas: embeddingDim must be even (sinusoidal position encoding), got ${arch.embeddingDim}`);
    const recurrentActivation = arch.gateActivation === 'hard-sigmoid' ? 'hardSigmoid' : 'sigmoid';
    if (arch.inputNormalization === 'log-standardize') {
      this.inputScale = this.adoptWeight('input/scale', tf.tensor1d([1 / init.logStd[0], 1 / init.logStd[1]]));
      this.inputShift = this.adoptWeight('input/shift', tf.tensor1d([-init.logMean[0] / init.logStd[0], -init.logMean[1] / init.logStd[1]]));
    } else {
      // Keras LayerNormalization defaults: epsilon 1e-3, biased variance.
      this.layerNorm = new LayerNorm(2, { variant: 'standard', epsilon: 1e-3 });
    }
    if (arch.cell === 'follower-gated') {
      this.cellFollowerGated = new FollowerGatedLSTMCell({ inputSize: 1, followerSize: 1, units: arch.stateSize, recurrentActivation, forgetBias: 1 }, rng.derive('cell'));
    } else {
      this.cellPlain = new LSTMCell({ inputSize: 2, units: arch.stateSize, recurrentActivation, forgetBias: 1 }, rng.derive('cell'));
    }
    if (arch.variant !== 'counts-only') {
      const d = arch.embeddingDim;
      if (init.embeddings) {
        if (init.embeddings.length !== arch.vocabularySize * d) throw new CascadeError('INTERNAL', 'embedding initialisation has the wrong size');
        this.embedding = this.adoptWeight('text/embedding', tf.tensor2d(init.embeddings, [arch.vocabularySize, d]));
      } else {
        this.embedding = this.addWeight('text/embedding', [arch.vocabularySize, d], uniform(-(init.embeddingInitRange ?? 0.05), init.embeddingInitRange ?? 0.05), rng.derive('embedding'));
      }
      this.wordAttentionKernel = this.addWeight('text/wordAttentionKernel', [d, 1], xavierUniform(), rng.derive('word-attention'));
      this.wordAttentionBias = this.adoptWeight('text/wordAttentionBias', tf.zeros([1]));
      // mu = relu(w_T z + b_T) starts at exactly 1 for every cascade (w_T = 0, b_T = 1) rather than
      // Keras' glorot/zero init: the text vectors z share a large common part (the position
      // encodings), so w_T z is nearly the same for every cascade and a random w_T puts the whole
      // batch in relu's zero-gradient region (A = 0, nothing learns) about half the time. From 1,
      // the content path starts as a no-op and learns to move mu away from it (§3.6 mentions the
      // same ReLU problem for lambda).
      this.muKernel = this.adoptWeight('mu/kernel', tf.zeros([d, 1]));
      this.muBias = this.adoptWeight('mu/bias', tf.ones([1]));
    }
    this.headKernel = this.adoptWeight('heads/kernel', stackedUnitKernels(arch.stateSize, 3, rng.derive('heads')));
    this.headBias = this.adoptWeight('heads/bias', tf.zeros([3]));
    const times = new Float32Array(arch.bins);
    for (let k = 0; k < arch.bins; k++) times[k] = (k + 0.5) * arch.binWidthHours;
    this.autoregressiveTimes = tf.tensor2d(times, [1, arch.bins]);
  }

  private get cell(): FollowerGatedLSTMCell | LSTMCell {
    return (this.cellFollowerGated ?? this.cellPlain)!;
  }

  /** Every weight by name (for checkpoints). */
  allWeights(): Record<string, tf.Variable> {
    return { ...this.weights(), ...(this.layerNorm ? this.layerNorm.weights('input/layerNorm/') : {}), ...this.cell.weights('cell/') };
  }

  allTrainableWeights(): tf.Variable[] {
    return [...this.trainableWeights(), ...(this.layerNorm?.trainableWeights() ?? []), ...this.cell.trainableWeights()];
  }

  parameterCountAll(): number {
    return this.parameterCount() + (this.layerNorm?.parameterCount() ?? 0) + this.cell.parameterCount();
  }

  /** Trainable normalisation of [count, followers] per step (§3.3, "r_m and f_m"). */
  private normalise(sequence: tf.Tensor3D): tf.Tensor3D {
    if (this.layerNorm) return this.layerNorm.apply(sequence) as tf.Tensor3D;
    return tf.add(tf.mul(tf.log1p(sequence), this.inputScale!), this.inputShift!) as tf.Tensor3D;
  }

  /** Hidden states h_1..h_T of the recurrent cell, [B, T, s] (§3.3, Eq. 6-11). */
  private recurrence(normalised: tf.Tensor3D): tf.Tensor3D {
    const [batch, steps] = normalised.shape;
    let state: LSTMState = this.cell.zeroState(batch);
    const hs: tf.Tensor2D[] = [];
    if (this.cellFollowerGated) {
      // The count drives the gates, the followers the extra input gate: split once, not per step.
      const [countSeq, followerSeq] = tf.split(normalised, 2, 2);
      const counts = tf.unstack(countSeq, 1) as tf.Tensor2D[]; // T x [B, 1]
      const followers = tf.unstack(followerSeq, 1) as tf.Tensor2D[];
      for (let k = 0; k < steps; k++) {
        state = this.cellFollowerGated.step(counts[k], followers[k], state);
        hs.push(state.h);
      }
    } else {
      const inputs = tf.unstack(normalised, 1) as tf.Tensor2D[]; // T x [B, 2]
      for (let k = 0; k < steps; k++) {
        state = this.cellPlain!.step(inputs[k], state);
        hs.push(state.h);
      }
    }
    return tf.stack(hs, 1) as tf.Tensor3D;
  }

  /** [L, d] sinusoidal position encodings, built once per text length. */
  private positionEncoding(length: number): tf.Tensor2D {
    let pe = this.positionEncodings.get(length);
    if (!pe) {
      pe = tf.keep(sinusoidalPositionEncoding(length, this.arch.embeddingDim));
      this.positionEncodings.set(length, pe);
    }
    return pe;
  }

  /**
   * Text encoder (§3.4): v_j = sqrt(d) E[w_j] + PE_j; alpha = softmax over the non-padding tokens of
   * (W_a v_j + b_a) (Eq. 12); the text vector is sum_j alpha_j v_j. tokens [N, L] -> ([N, d], [N, L]).
   *
   * Computed in the equivalent factored form W_a v_j = sqrt(d) (E W_a)[w_j] + PE_j W_a and
   * sum_j alpha_j v_j = sqrt(d) sum_j alpha_j E[w_j] + alpha PE, so the [N, L, d] word vectors are
   * only gathered and contracted once, never scaled, shifted or projected (a test checks it equals
   * the direct form).
   */
  private encodeText(tokens: tf.Tensor2D): { vectors: tf.Tensor2D; attention: tf.Tensor2D } {
    const [n, length] = tokens.shape;
    const d = this.arch.embeddingDim;
    const scale = Math.sqrt(d);
    const pe = this.positionEncoding(length);
    const kernel = this.wordAttentionKernel! as tf.Tensor2D;
    const words = tf.gather(this.embedding!, tokens) as tf.Tensor3D; // [N, L, d]
    // E[w] W_a: through E W_a for the whole vocabulary when the batch has more tokens than the
    // vocabulary has words (training batches), else from the gathered word vectors (inference).
    const tokenScores =
      n * length > this.arch.vocabularySize
        ? tf.gather(tf.reshape(tf.matMul(this.embedding! as tf.Tensor2D, kernel), [this.arch.vocabularySize]), tokens)
        : tf.reshape(tf.matMul(tf.reshape(words, [n * length, d]) as tf.Tensor2D, kernel), [n, length]);
    const positionScores = tf.reshape(tf.matMul(pe, kernel), [1, length]); // PE W_a
    const scores = tf.add(tf.add(tf.mul(tokenScores, scale), positionScores), this.wordAttentionBias!);
    const attention = maskedSoftmax(scores, tf.notEqual(tokens, 0)) as tf.Tensor2D; // Eq. 12
    const wordPart = tf.reshape(tf.matMul(tf.expandDims(attention, 1) as tf.Tensor3D, words), [n, d]);
    const vectors = tf.add(tf.mul(wordPart, scale), tf.matMul(attention, pe)) as tf.Tensor2D;
    return { vectors, attention };
  }

  /**
   * The direct form of `encodeText` (embeddings scaled, position encoding added, then attention),
   * kept for the test that the factored form computes the same thing.
   */
  encodeTextDirect(tokens: tf.Tensor2D): { vectors: tf.Tensor2D; attention: tf.Tensor2D } {
    return tf.tidy(() => {
      const [n, length] = tokens.shape;
      const d = this.arch.embeddingDim;
      const v = addPositionEncoding(tf.gather(this.embedding!, tokens) as tf.Tensor3D); // [N, L, d]
      const scores = tf.reshape(tf.add(tf.matMul(tf.reshape(v, [n * length, d]) as tf.Tensor2D, this.wordAttentionKernel! as tf.Tensor2D), this.wordAttentionBias!), [n, length]);
      const attention = maskedSoftmax(scores, tf.notEqual(tokens, 0)) as tf.Tensor2D;
      const vectors = tf.reshape(tf.matMul(tf.expandDims(attention, 1) as tf.Tensor3D, v), [n, d]) as tf.Tensor2D;
      return { vectors, attention };
    });
  }

  /** `encodeText` for tests. */
  encodeTextFactored(tokens: tf.Tensor2D): { vectors: tf.Tensor2D; attention: tf.Tensor2D } {
    return tf.tidy(() => this.encodeText(tokens));
  }

  /**
   * News attention (§3.5): the root text vector e queries the news vectors n_j,
   * beta = softmax(e n_j^T / sqrt(d)) over the non-empty items, z = sum_j beta_j n_j.
   * News items shared by cascades of the batch are encoded once (`news.unique`).
   */
  private attendNews(tweet: tf.Tensor2D, news: NewsTensors): { context: tf.Tensor2D; attention: tf.Tensor2D } {
    const [batch, items] = news.present.shape;
    const d = this.arch.embeddingDim;
    const { vectors } = this.encodeText(news.unique);
    const keys = tf.reshape(tf.gather(vectors, news.index), [batch, items, d]) as tf.Tensor3D;
    const logits = tf.div(tf.reshape(tf.matMul(keys, tf.expandDims(tweet, 2) as tf.Tensor3D), [batch, items]), Math.sqrt(d));
    const attention = maskedSoftmax(logits, news.present) as tf.Tensor2D;
    const context = tf.reshape(tf.matMul(tf.expandDims(attention, 1) as tf.Tensor3D, keys), [batch, d]) as tf.Tensor2D;
    return { context, attention };
  }

  /** The growth parameters of a batch (§3.3-3.6). Call inside tf.tidy (or dispose the outputs). */
  forward(batch: BatchTensors): ForwardOutput {
    const [b, steps] = batch.sequence.shape;
    if (steps !== this.arch.bins + 1) throw new CascadeError('INTERNAL', `GammaCas: sequence has ${steps} steps, expected ${this.arch.bins + 1}`);
    const hidden = this.recurrence(this.normalise(batch.sequence));
    const s = this.arch.stateSize;
    const heads = tf.reshape(tf.add(tf.matMul(tf.reshape(hidden, [b * steps, s]) as tf.Tensor2D, this.headKernel as tf.Tensor2D), this.headBias), [b, steps, 3]);
    const [aRaw, gammaRaw, lambdaRaw] = tf.unstack(heads, 2) as tf.Tensor2D[];
    let amplitudeSteps = tf.relu(aRaw) as tf.Tensor2D; // Eq. 14
    const gammaSteps = tf.softplus(gammaRaw) as tf.Tensor2D; // Eq. 15
    const lambdaSteps = tf.relu(lambdaRaw) as tf.Tensor2D; // Eq. 16

    let mu: tf.Tensor1D | undefined;
    let wordAttention: tf.Tensor2D | undefined;
    let newsAttention: tf.Tensor2D | undefined;
    if (this.arch.variant !== 'counts-only') {
      if (!batch.text) throw new CascadeError('INTERNAL', 'GammaCas: the batch has no text tensor');
      const tweet = this.encodeText(batch.text);
      wordAttention = tweet.attention;
      let z = tweet.vectors;
      if (this.arch.variant === 'full') {
        if (!batch.news) throw new CascadeError('INTERNAL', 'GammaCas: the batch has no news tensor');
        const attended = this.attendNews(tweet.vectors, batch.news);
        z = attended.context;
        newsAttention = attended.attention;
      }
      mu = tf.reshape(tf.relu(tf.add(tf.matMul(z, this.muKernel! as tf.Tensor2D), this.muBias!)), [b]) as tf.Tensor1D; // §3.6
      amplitudeSteps = tf.mul(amplitudeSteps, tf.expandDims(mu, 1)) as tf.Tensor2D;
    }
    if (this.arch.retweetUnit !== 1) amplitudeSteps = tf.mul(amplitudeSteps, this.arch.retweetUnit) as tf.Tensor2D;
    return {
      amplitudeSteps,
      gammaSteps,
      lambdaSteps,
      amplitude: tf.mean(amplitudeSteps, 1) as tf.Tensor1D,
      gamma: tf.mean(gammaSteps, 1) as tf.Tensor1D,
      lambda: tf.mean(lambdaSteps, 1) as tf.Tensor1D,
      mu,
      wordAttention,
      newsAttention,
    };
  }

  /**
   * Next-bin predictions of the autoregressive task (§3.7): step k (the root for k = 0, bin k after)
   * predicts bin k + 1 as A_k t^gamma_k e^(-lambda_k t) Delta_o, t the midpoint of bin k + 1 in
   * hours. (The authors' code uses the same times: its first step is the root too.) Returns [B, M].
   */
  autoregressivePredictions(out: ForwardOutput): tf.Tensor2D {
    const [b, steps] = out.amplitudeSteps.shape;
    const m = steps - 1;
    const first = (x: tf.Tensor2D) => tf.slice(x, [0, 0], [b, m]);
    return tf.mul(rateAtTimes(first(out.amplitudeSteps), first(out.gammaSteps), first(out.lambdaSteps), this.autoregressiveTimes), this.arch.binWidthHours) as tf.Tensor2D;
  }

  /**
   * The training loss (Eq. 18): MAPE (in percent, as Keras' mean_absolute_percentage_error the
   * authors use) over the known target sizes + zeta * MSE of the next-bin counts (in retweet units).
   * Returns the scalar loss and its two parts.
   */
  loss(
    batch: BatchTensors,
    targets: tf.Tensor2D,
    targetMask: tf.Tensor2D,
    horizonsHours: number[],
    zeta: number,
    integrator: IntegratorSettings,
  ): { loss: tf.Scalar; mape: tf.Scalar; mse: tf.Scalar } {
    const out = this.forward(batch);
    const sizes = integrateSizes(out.amplitude, out.gamma, out.lambda, horizonsHours, integrator);
    const known = tf.greater(targetMask, 0);
    const safeTargets = tf.where(known, targets, tf.onesLike(targets));
    const ape = tf.mul(tf.div(tf.abs(tf.sub(safeTargets, sizes)), safeTargets), targetMask);
    const mape = tf.mul(tf.div(tf.sum(ape), tf.maximum(tf.sum(targetMask), 1)), 100) as tf.Scalar;
    const [b, steps] = batch.sequence.shape;
    const nextCounts = tf.reshape(tf.slice(batch.sequence, [0, 1, 0], [b, steps - 1, 1]), [b, steps - 1]);
    // In retweet units: (prediction - count)^2 / unit^2 (the plain MSE when the unit is 1).
    const unit = this.arch.retweetUnit;
    const mse = tf.div(tf.mean(tf.squaredDifference(this.autoregressivePredictions(out), nextCounts)), unit * unit) as tf.Scalar;
    return { loss: tf.add(mape, tf.mul(mse, zeta)) as tf.Scalar, mape, mse };
  }

  override dispose(): void {
    super.dispose();
    this.layerNorm?.dispose();
    this.cell.dispose();
    this.autoregressiveTimes.dispose();
    for (const pe of this.positionEncodings.values()) pe.dispose();
    this.positionEncodings.clear();
  }
}
