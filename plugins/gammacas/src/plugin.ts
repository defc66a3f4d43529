import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import {
  CascadeError,
  Rng,
  throwIfCancelled,
  type InferenceContext,
  type MacroscopicDataset,
  type MacroscopicModel,
  type MacroscopicPlugin,
  type SizePredictions,
  type PredictContext,
  type TrainContext,
  type WindowedCascade,
} from '@cascade-lab/core';
import { CompiledAdam, GraphFunction, graphFunctionsEnabled, loadCheckpointInto, saveCheckpoint, tf } from '@cascade-lab/tensor-ops';
import { gammaCasHyperparameters, type GammaCasHyperparameters } from './hyperparameters.js';
import { logFeatureStatistics, packCascades, selectRows, type PackedCascades } from './inputs.js';
import { GammaCasNetwork, batchTensors, disposeBatch, integrateSizes, type BatchTensors, type GammaCasArchitecture, type IntegratorSettings } from './model.js';
import { loadWordVectors } from './word-vectors.js';

/** File name of a saved model's checkpoint manifest (weights in `gammacas.bin` beside it). */
export const CHECKPOINT_FILE = 'gammacas.json';
const SAVE_FORMAT = 'gammacas-model';
const SAVE_VERSION = 1;

interface SavedMetadata {
  format: typeof SAVE_FORMAT;
  version: typeof SAVE_VERSION;
  architecture: GammaCasArchitecture;
  hyperparameters: GammaCasHyperparameters;
  trainedHorizonsHours: number[];
  integrator: IntegratorSettings;
  finalTrainLoss: number | null;
}

/** The integrator of a model trained on horizons up to `longestHorizonHours`. */
export function integratorSettings(hp: GammaCasHyperparameters, longestHorizonHours: number): IntegratorSettings {
  return {
    integrator: hp.integrator,
    rk4StepHours: longestHorizonHours / hp.rk4Steps,
    dopri5RelativeTolerance: hp.dopri5RelativeTolerance,
    dopri5AbsoluteTolerance: hp.dopri5AbsoluteTolerance,
    dopri5MaxSteps: hp.dopri5MaxSteps,
  };
}

function packFor(arch: GammaCasArchitecture, cascades: WindowedCascade[], horizons: number): PackedCascades {
  return packCascades(cascades, {
    bins: arch.bins,
    withText: arch.variant !== 'counts-only',
    withNews: arch.variant === 'full',
    maxTextTokens: arch.maxTextTokens,
    maxNewsItems: arch.maxNewsItems,
    maxNewsTokens: arch.maxNewsTokens,
    vocabularySize: Math.max(arch.vocabularySize, 1),
    horizons,
  });
}

function batchRanges(n: number, batchSize: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < n; start += batchSize) out.push([start, Math.min(n, start + batchSize)]);
  return out;
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

/**
 * Mean loss and its parts over a packed set, without gradients, each batch a compiled TensorFlow
 * graph where graph functions run (pass `compiled`, from `compiledLossParts`, to keep the graphs
 * between calls).
 */
export function evaluateLoss(
  net: GammaCasNetwork,
  data: PackedCascades,
  hp: GammaCasHyperparameters,
  horizons: number[],
  settings: IntegratorSettings,
  compiled?: GraphFunction,
): { loss: number; mape: number; mse: number } {
  let loss = 0;
  let mape = 0;
  let mse = 0;
  const closedForm = settings.integrator === 'closed-form';
  const graphs = graphFunctionsEnabled() && !closedForm;
  const fn = compiled ?? compiledLossParts(net, hp, horizons, settings);
  try {
    for (const [start, end] of batchRanges(data.size, hp.batchSize)) {
      const rows = selectRows(data, range(start, end));
      const b = batchTensors(rows, graphs ? { uniqueNewsRows: gridSize } : {});
      const targets = tf.tensor2d(rows.targets!, [rows.size, rows.horizons]);
      const mask = tf.tensor2d(rows.targetMask!, [rows.size, rows.horizons]);
      let values: tf.Tensor;
      try {
        // The closed form evaluates the incomplete gamma function on the host: eager.
        [values] = fn.call([b.sequence, targets, mask, ...packBatch(b)], '', { eager: closedForm });
      } finally {
        disposeBatch(b);
        targets.dispose();
        mask.dispose();
      }
      const [l, a, s] = values.dataSync();
      values.dispose();
      const w = rows.size / data.size;
      loss += l * w;
      mape += a * w;
      mse += s * w;
    }
  } finally {
    if (!compiled) fn.dispose();
  }
  return { loss, mape, mse };
}

/**
 * `evaluateLoss`'s batches as a compiled TensorFlow graph (the caller disposes it):
 * [sequence, targets, mask, text?, news...] -> [[loss, mape, mse]].
 */
export function compiledLossParts(net: GammaCasNetwork, hp: GammaCasHyperparameters, horizons: number[], settings: IntegratorSettings): GraphFunction {
  return new GraphFunction(
    (inputs) => {
      const [sequence, targets, mask, ...rest] = inputs;
      const r = net.loss(unpackBatch(sequence, rest), targets as tf.Tensor2D, mask as tf.Tensor2D, horizons, hp.zeta, settings);
      return [tf.stack([r.loss, r.mape, r.mse])];
    },
    { name: 'gammacas validation loss', captureExternal: true },
  );
}

/** A trained GammaCas: predicts sizes at any list of horizons from one set of weights. */
export class GammaCasModel implements MacroscopicModel {
  constructor(
    readonly network: GammaCasNetwork,
    readonly hyperparameters: GammaCasHyperparameters,
    readonly trainedHorizonsHours: number[],
    /** How `predict` integrates (the training integrator; replace it to predict with another). */
    public integrator: IntegratorSettings,
    private readonly finalTrainLoss: number | null,
  ) {}

  /**
   * The forward pass and the size integral as one TensorFlow graph per batch shape and horizon
   * list (tensorflow backend, integrators other than the host-side closed form): [sequence, text?,
   * news...] -> [sizes, A, gamma, lambda, mu?, word attention?, news attention?].
   */
  private readonly compiledForward = new GraphFunction((inputs) => {
    const [sequence, ...rest] = inputs;
    const out = this.network.forward(unpackBatch(sequence, rest));
    const rows = sequence.shape[0];
    const horizons = this.forwardHorizons;
    const sizes = horizons.length > 0 ? integrateSizes(out.amplitude, out.gamma, out.lambda, horizons, this.integrator) : tf.zeros([rows, 0]);
    const extra: (tf.Tensor | undefined)[] = [out.mu, out.wordAttention, out.newsAttention];
    return [sizes, out.amplitude, out.gamma, out.lambda, ...extra.filter((t): t is tf.Tensor => t !== undefined)];
  }, { name: 'gammacas prediction', captureExternal: true });
  private forwardHorizons: number[] = [];

  get architecture(): GammaCasArchitecture {
    return this.network.arch;
  }

  /**
   * Sizes at `horizonsHours` (any positive hours, not only the trained ones) and, per cascade, the
   * pooled growth parameters A, gamma, lambda, the content modulation mu, the word attention of the
   * root text's tokens and the attention over its news items (GammaCas §5.4's interpretation).
   */
  async predict(cascades: WindowedCascade[], horizonsHours: number[], context?: PredictContext): Promise<SizePredictions> {
    const signal = context?.signal;
    for (const h of horizonsHours) {
      if (!(h > 0) || !Number.isFinite(h)) throw new CascadeError('USAGE', `GammaCas: horizons must be finite and > 0 hours, got ${h}`);
    }
    const packed = packFor(this.architecture, cascades, 0);
    const sizes: Float64Array[] = [];
    const details: Record<string, number | number[] | string>[] = [];
    // The closed form evaluates the incomplete gamma function on the host: not a graph.
    const compiled = graphFunctionsEnabled() && this.integrator.integrator !== 'closed-form';
    const a = this.architecture;
    for (const [start, end] of batchRanges(packed.size, this.hyperparameters.batchSize)) {
      throwIfCancelled(signal);
      const rows = selectRows(packed, range(start, end));
      const b = batchTensors(rows, compiled ? { uniqueNewsRows: gridSize } : {});
      let outputs: tf.Tensor[];
      try {
        this.forwardHorizons = horizonsHours;
        outputs = this.compiledForward.call([b.sequence, ...packBatch(b)], `${JSON.stringify(this.integrator)}|${horizonsHours.join(',')}`, { eager: !compiled });
      } finally {
        disposeBatch(b);
      }
      const [sizesT, amplitudeT, gammaT, lambdaT, ...extra] = outputs;
      const result = {
        sizes: sizesT,
        A: amplitudeT,
        gamma: gammaT,
        lambda: lambdaT,
        mu: a.variant !== 'counts-only' ? extra.shift() : undefined,
        word: a.variant !== 'counts-only' ? extra.shift() : undefined,
        news: a.variant === 'full' ? extra.shift() : undefined,
      };
      const [sz, A, gamma, lambda] = [result.sizes, result.A, result.gamma, result.lambda].map((t) => t.dataSync());
      const mu = result.mu?.dataSync();
      const word = result.word?.dataSync();
      const news = result.news?.dataSync();
      for (const t of Object.values(result)) (t as tf.Tensor | undefined)?.dispose();
      const H = horizonsHours.length;
      for (let i = 0; i < rows.size; i++) {
        sizes.push(Float64Array.from(sz.subarray(i * H, (i + 1) * H)));
        const d: Record<string, number | number[] | string> = { A: A[i], gamma: gamma[i], lambda: lambda[i] };
        if (mu) d.mu = mu[i];
        if (word && rows.text) {
          // Weights of the real (non-padding) tokens, in text order.
          const L = rows.maxTextTokens;
          const weights: number[] = [];
          for (let j = 0; j < L; j++) if (rows.text[i * L + j] !== 0) weights.push(word[i * L + j]);
          d.wordAttention = weights;
        }
        if (news && rows.news) {
          const K = rows.maxNewsItems;
          const Ln = rows.maxNewsTokens;
          const weights: number[] = [];
          for (let k = 0; k < K; k++) {
            let present = false;
            for (let j = 0; j < Ln && !present; j++) present = rows.news[(i * K + k) * Ln + j] !== 0;
            if (present) weights.push(news[i * K + k]);
          }
          d.newsAttention = weights;
        }
        details.push(d);
      }
    }
    return { sizes, details };
  }

  summaryMetrics(): Record<string, number> {
    const m: Record<string, number> = { parameters: this.network.parameterCountAll() };
    if (this.finalTrainLoss !== null) m.final_train_loss = this.finalTrainLoss;
    return m;
  }

  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const metadata: SavedMetadata = {
      format: SAVE_FORMAT,
      version: SAVE_VERSION,
      architecture: this.architecture,
      hyperparameters: this.hyperparameters,
      trainedHorizonsHours: this.trainedHorizonsHours,
      integrator: this.integrator,
      finalTrainLoss: this.finalTrainLoss,
    };
    await saveCheckpoint(join(dir, CHECKPOINT_FILE), this.network.allWeights(), metadata as unknown as Record<string, unknown>);
  }

  dispose(): void {
    this.compiledForward.dispose();
    this.network.dispose();
  }
}

/** Checks that the dataset carries what the chosen variant reads. */
function checkDataset(data: MacroscopicDataset, hp: GammaCasHyperparameters): number {
  if (data.train.length === 0) throw new CascadeError('DATA_FORMAT', `dataset ${data.name}: no training cascades`);
  if (data.horizonsHours.length === 0) throw new CascadeError('DATA_FORMAT', `dataset ${data.name}: no target horizons to train on`);
  const bins = data.train[0].counts.length;
  const expectedBins = Math.round(data.observationWindowSeconds / data.binWidthSeconds);
  if (bins !== expectedBins || bins < 2) {
    throw new CascadeError('DATA_FORMAT', `dataset ${data.name}: cascades have ${bins} bins, the window (${data.observationWindowSeconds} s) over the bin width (${data.binWidthSeconds} s) gives ${expectedBins}`);
  }
  if (hp.variant !== 'counts-only') {
    const hint = `use model.hyperparameters.variant: counts-only (the paper's GammaCas-CO) for data without ${hp.variant === 'full' ? 'text and news' : 'text'}`;
    if (data.vocabularySize < 2 || !data.train.some((c) => c.textTokens && c.textTokens.some((t) => t !== 0))) {
      throw new CascadeError('CONFIG_INVALID', `GammaCas variant "${hp.variant}" reads the root text, but dataset ${data.name} has none`, { hint });
    }
    if (hp.variant === 'full' && !data.train.some((c) => c.newsTokens && c.newsTokens.length > 0)) {
      throw new CascadeError('CONFIG_INVALID', `GammaCas variant "full" attends over news items, but dataset ${data.name} has none`, {
        hint: 'use variant: no-news (the paper\'s GammaCas-text) or counts-only',
      });
    }
  }
  return bins;
}

async function initialEmbeddings(data: MacroscopicDataset, hp: GammaCasHyperparameters, rng: Rng, ctx: TrainContext): Promise<Float32Array | undefined> {
  if (hp.variant === 'counts-only' || hp.pretrainedEmbeddings === null) return undefined;
  const range = hp.embeddingInitRange;
  if (!data.words || data.words.length !== data.vocabularySize) {
    throw new CascadeError('CONFIG_INVALID', `pretrainedEmbeddings needs the dataset's word list, and dataset ${data.name} does not provide one`);
  }
  const matrix = new Float32Array(data.vocabularySize * hp.embeddingDim);
  for (let i = 0; i < matrix.length; i++) matrix[i] = rng.uniform(-range, range);
  // Relative to the experiment config file's directory (ctx.baseDir), as the dataset path is.
  const file = resolvePath(ctx.baseDir ?? process.cwd(), hp.pretrainedEmbeddings);
  const coverage = await loadWordVectors(file, data.words, hp.embeddingDim, matrix);
  ctx.logger.info(`gammacas: pre-trained vectors for ${coverage.found} of ${coverage.total} words from ${file}`);
  return matrix;
}

async function train(data: MacroscopicDataset, hp: GammaCasHyperparameters, ctx: TrainContext): Promise<GammaCasModel> {
  const bins = checkDataset(data, hp);
  const arch: GammaCasArchitecture = {
    variant: hp.variant,
    cell: hp.cell,
    gateActivation: hp.gateActivation,
    inputNormalization: hp.inputNormalization,
    stateSize: hp.stateSize,
    embeddingDim: hp.embeddingDim,
    maxTextTokens: hp.maxTextTokens,
    maxNewsTokens: hp.maxNewsTokens,
    maxNewsItems: hp.maxNewsItems,
    vocabularySize: hp.variant === 'counts-only' ? 0 : data.vocabularySize,
    bins,
    binWidthHours: data.binWidthSeconds / 3600,
    retweetUnit: hp.retweetUnit,
  };
  const horizons = [...data.horizonsHours];
  const trainSet = packFor(arch, data.train, horizons.length);
  const validationSet = data.validation.length > 0 ? packFor(arch, data.validation, horizons.length) : undefined;
  const stats = logFeatureStatistics(trainSet);
  const embeddings = await initialEmbeddings(data, hp, ctx.rng.derive('embedding-file'), ctx);
  const network = new GammaCasNetwork(arch, ctx.rng.derive('init'), { logMean: stats.mean, logStd: stats.std, embeddings, embeddingInitRange: hp.embeddingInitRange });
  // tf.train.adam's arithmetic, one compiled update per step (tensor-ops' CompiledAdam).
  const optimizer = new CompiledAdam({ learningRate: hp.learningRate });
  const variables = network.allTrainableWeights();
  // Optional faster Adam for the content path (word embeddings, word attention, the mu head).
  const contentWeights = new Set(Object.entries(network.allWeights()).filter(([key]) => /^(text|mu)\//.test(key)).map(([, v]) => v));
  const isContent = (v: tf.Variable) => contentWeights.has(v);
  const contentOptimizer = hp.textLearningRate !== null && variables.some(isContent) ? new CompiledAdam({ learningRate: hp.textLearningRate }) : null;
  const contentVariables = contentOptimizer ? variables.filter(isContent) : [];
  const otherVariables = contentOptimizer ? variables.filter((v) => !isContent(v)) : variables;
  const settings = integratorSettings(hp, Math.max(...horizons));
  // The loss and its gradients as one TensorFlow graph per batch shape on the tensorflow backend
  // (eager elsewhere): thousands of small kernels a step otherwise, each 20-40 us of dispatch.
  const lossAndGradients = new GraphFunction(
    (inputs) => {
      const [sequence, targets, mask, ...rest] = inputs;
      const b = unpackBatch(sequence, rest);
      const { value, grads } = tf.variableGrads(() => network.loss(b, targets as tf.Tensor2D, mask as tf.Tensor2D, horizons, hp.zeta, settings).loss as tf.Scalar, variables);
      return [value, ...variables.map((v) => grads[v.name])];
    },
    // The closed form evaluates the incomplete gamma function on the host: eager.
    { name: 'gammacas training step', captureExternal: true, eager: hp.integrator === 'closed-form' },
  );
  const compiled = graphFunctionsEnabled() && hp.integrator !== 'closed-form';
  const validationLoss = compiledLossParts(network, hp, horizons, settings);
  ctx.logger.info(`gammacas: ${hp.variant} / ${hp.cell}, ${network.parameterCountAll()} parameters, ${trainSet.size} training cascades, ${bins} bins, horizons ${horizons.join(', ')} h`);
  let finalTrainLoss: number | null = null;
  if (hp.keepBestEpoch && !validationSet) {
    throw new CascadeError('CONFIG_INVALID', `keepBestEpoch selects the epoch on the validation set, and dataset ${data.name} has none`, {
      hint: 'set dataset.split.validationFraction above 0, or keepBestEpoch: false',
    });
  }
  const best: { loss: number; epoch: number; weights: Record<string, tf.Tensor> } = { loss: Infinity, epoch: 0, weights: {} };
  try {
    const batches = Math.ceil(trainSet.size / hp.batchSize);
    for (let epoch = 0; epoch < hp.epochs; epoch++) {
      throwIfCancelled(ctx.signal);
      const order = ctx.rng.derive(`epoch-${epoch}`).shuffle(range(0, trainSet.size));
      const task = ctx.progress.start(`gammacas epoch ${epoch + 1}/${hp.epochs}`, batches);
      let total = 0;
      try {
        for (let bi = 0; bi < batches; bi++) {
          throwIfCancelled(ctx.signal);
          const rows = selectRows(trainSet, order.slice(bi * hp.batchSize, (bi + 1) * hp.batchSize));
          const b = batchTensors(rows, compiled ? { uniqueNewsRows: gridSize } : {});
          const targets = tf.tensor2d(rows.targets!, [rows.size, rows.horizons]);
          const mask = tf.tensor2d(rows.targetMask!, [rows.size, rows.horizons]);
          let value: number;
          try {
            // minimize() = gradients + applyGradients; done by hand so the content path can have its own Adam.
            const [cost, ...grads] = lossAndGradients.call([b.sequence, targets, mask, ...packBatch(b)]);
            const byName = Object.fromEntries(variables.map((v, i) => [v.name, grads[i]]));
            optimizer.applyGradients(otherVariables, byName);
            if (contentOptimizer) contentOptimizer.applyGradients(contentVariables, byName);
            tf.dispose(grads);
            value = cost.dataSync()[0];
            cost.dispose();
          } finally {
            disposeBatch(b);
            targets.dispose();
            mask.dispose();
          }
          if (!Number.isFinite(value)) {
            throw new CascadeError('MODEL', `GammaCas: the training loss became ${value} in epoch ${epoch + 1}, batch ${bi + 1}`, {
              hint: 'lower learningRate, or try integrator: closed-form',
            });
          }
          total += value * rows.size;
          task.tick(1, `loss ${value.toFixed(3)}`);
        }
      } finally {
        task.done();
      }
      finalTrainLoss = total / trainSet.size;
      ctx.metrics.logMetric('train_loss', finalTrainLoss, epoch + 1);
      let line = `gammacas epoch ${epoch + 1}/${hp.epochs}: train loss ${finalTrainLoss.toFixed(4)}`;
      if (validationSet) {
        const v = evaluateLoss(network, validationSet, hp, horizons, settings, validationLoss);
        ctx.metrics.logMetric('validation_loss', v.loss, epoch + 1);
        ctx.metrics.logMetric('validation_mape_percent', v.mape, epoch + 1);
        ctx.metrics.logMetric('validation_next_bin_mse', v.mse, epoch + 1);
        line += `, validation loss ${v.loss.toFixed(4)} (MAPE ${v.mape.toFixed(2)} %, next-bin MSE ${v.mse.toFixed(3)})`;
        if (hp.keepBestEpoch && v.loss < best.loss) {
          best.loss = v.loss;
          best.epoch = epoch + 1;
          for (const t of Object.values(best.weights)) t.dispose();
          best.weights = Object.fromEntries(Object.entries(network.allWeights()).map(([name, w]) => [name, tf.keep(w.clone())]));
        }
      }
      ctx.logger.debug(line);
    }
    if (hp.keepBestEpoch && best.epoch > 0) {
      const weights = network.allWeights();
      for (const [name, value] of Object.entries(best.weights)) weights[name].assign(value);
      ctx.metrics.logMetric('best_epoch', best.epoch);
      ctx.logger.info(`gammacas: keeping the weights of epoch ${best.epoch} (lowest validation loss, ${best.loss.toFixed(4)})`);
    }
  } catch (e) {
    network.dispose();
    throw e;
  } finally {
    for (const t of Object.values(best.weights)) t.dispose();
    optimizer.dispose();
    contentOptimizer?.dispose();
    lossAndGradients.dispose();
    validationLoss.dispose();
  }
  return new GammaCasModel(network, hp, horizons, settings, finalTrainLoss);
}

async function load(dir: string, _context: InferenceContext): Promise<GammaCasModel> {
  const manifestPath = join(dir, CHECKPOINT_FILE);
  let manifest: { metadata?: Partial<SavedMetadata> };
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (e) {
    throw new CascadeError('DATA_NOT_FOUND', `no saved GammaCas model in ${dir}: cannot read ${manifestPath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const meta = manifest.metadata;
  if (!meta || meta.format !== SAVE_FORMAT || meta.version !== SAVE_VERSION || !meta.architecture || !meta.hyperparameters) {
    throw new CascadeError('DATA_FORMAT', `${manifestPath} is not a GammaCas model (format ${SAVE_FORMAT} version ${SAVE_VERSION})`);
  }
  const hp = gammaCasHyperparameters.parse(meta.hyperparameters);
  // Initial values are overwritten by the checkpoint; the seed only fills them meanwhile.
  const network = new GammaCasNetwork({ ...meta.architecture, retweetUnit: meta.architecture.retweetUnit ?? 1 }, Rng.fromSeed('gammacas-load'), { logMean: [0, 0], logStd: [1, 1] });
  try {
    await loadCheckpointInto(manifestPath, network.allWeights());
  } catch (e) {
    network.dispose();
    throw e;
  }
  const trained = meta.trainedHorizonsHours ?? [];
  const integrator = meta.integrator ?? integratorSettings(hp, trained.length > 0 ? Math.max(...trained) : 360);
  return new GammaCasModel(network, hp, trained, integrator, meta.finalTrainLoss ?? null);
}

export const gammaCasPlugin: MacroscopicPlugin<GammaCasHyperparameters> = {
  name: 'gammacas',
  task: 'macroscopic',
  description: 'GammaCas: a follower-gated LSTM, root text and news attention give the parameters of A t^gamma e^(-lambda t), integrated to any horizon',
  reference: 'Dutta, Mittal, Das, Chakrabarti, Chakraborty: Incomplete Gamma Integrals for Deep Cascade Prediction using Content, Network, and Exogenous Signals (2021), §3',
  hyperparameters: gammaCasHyperparameters,
  train,
  load,
};

/** The optional tensors of a batch as a flat list: [text?, news unique, index, present?]. */
function packBatch(b: BatchTensors): tf.Tensor[] {
  return [...(b.text ? [b.text] : []), ...(b.news ? [b.news.unique, b.news.index, b.news.present] : [])];
}

/** Inverse of `packBatch` (text comes first when present; news only with text). */
function unpackBatch(sequence: tf.Tensor, rest: tf.Tensor[]): BatchTensors {
  const b: BatchTensors = { sequence: sequence as tf.Tensor3D };
  if (rest.length >= 1) b.text = rest[0] as tf.Tensor2D;
  if (rest.length === 4) b.news = { unique: rest[1] as tf.Tensor2D, index: rest[2] as tf.Tensor1D, present: rest[3] as tf.Tensor2D };
  return b;
}

/**
 * A size on a grid of four steps per doubling (at most 25% above n; n itself up to 8), so that
 * compiled graphs see few distinct shapes.
 */
export function gridSize(n: number): number {
  if (n <= 8) return n;
  const step = 2 ** (Math.floor(Math.log2(n)) - 2);
  return Math.ceil(n / step) * step;
}
