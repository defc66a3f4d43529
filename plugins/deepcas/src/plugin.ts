/**
 * The DeepCas plugin: walks, skip-gram initialisation, one network per horizon trained on
 * log2(increment + 1) (the paper trains a model per prediction time, §5.1), and sizes at any
 * horizon from the trained ones.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CascadeError,
  defaultPredictContext,
  Rng,
  throwIfCancelled,
  type CascadeGraph,
  type InferenceContext,
  type MacroscopicDataset,
  type MacroscopicModel,
  type MacroscopicPlugin,
  type PredictContext,
  type SizePredictions,
  type TrainContext,
  type WindowedCascade,
  loadingModel,
} from '@cascade-lab/core';
import { GraphFunction, loadCheckpointInto, saveCheckpoint, skipGram, tf } from '@cascade-lab/tensor-ops';
import { Adam, fit, type LearningRateSchedule, type Monitor } from '@cascade-lab/training';
import { z } from 'zod';
import { DeepCasNetwork, PAD_NODE, RESERVED_NODES, sizeBucket, UNKNOWN_NODE, type DeepCasArchitecture } from './model.js';
import { sampleWalks, sampleWalksOfGraphs, simulationPoolFor, WALK_END, type SimulationPool, type WalkOptions } from '@cascade-lab/simulation';
import { WeightAverage } from './average.js';

/** Every knob with the paper's (or the authors' code's) default and a description. */
export const deepcasHyperparameters = z.strictObject({
  walksPerGraph: z.number().int().positive().default(200).describe('K: random walks per cascade graph (paper 200)'),
  walkLength: z.number().int().min(2).default(10).describe('T: nodes per walk (paper 10)'),
  transition: z.enum(['degree', 'weight']).default('degree').describe('transition score sc(v): out-degree of v in the cascade graph, or the edge weight (the paper also has the global degree, which needs a global graph)'),
  pseudoCount: z.number().positive().default(0.01).describe('alpha added to every transition score (authors\' code 0.01)'),
  embeddingDim: z.number().int().positive().default(50).describe('D: node embedding width (paper 50)'),
  skipGramWindow: z.number().int().positive().default(10).describe('skip-gram context window on the training walks (authors\' code 10)'),
  skipGramEpochs: z.number().int().min(0).default(5).describe('skip-gram passes over the training walks (authors\' code 5; 0: random embeddings)'),
  skipGramNegatives: z.number().int().positive().default(5).describe('negative samples per pair (word2vec default 5)'),
  gruUnits: z.number().int().positive().default(32).describe('U: GRU units per direction (paper 32)'),
  dense1: z.number().int().positive().default(32).describe('first MLP layer width (paper 32)'),
  dense2: z.number().int().positive().default(16).describe('second MLP layer width (paper 16)'),
  blockSize: z.number().int().positive().default(20).describe('walks per block of the geometric prior (authors\' code 20); must divide walksPerGraph'),
  sizeBuckets: z.number().int().positive().default(16).describe('graph-size buckets floor(log2 |V_c|) with their own attention parameters'),
  walkPrior: z
    .enum(['bucket', 'size'])
    .default('bucket')
    .describe('p of the geometric prior over walks: bucket, one logit per size bucket (the authors\' Torch code); size, one logit a and p = sigmoid(a)^(1 + floor(log2 |V_c|)) (their TensorFlow code; not better on validation, README)'),
  graphSizeInput: z
    .boolean()
    .default(true)
    .describe('the MLP also reads log2 |V_c|, the number of nodes of the observed cascade graph, beside the pooled walk states (not in the paper, whose network sees the size only through the attention\'s size buckets; chosen on held-out validation, README); false: the paper\'s network'),
  graphSizeSkip: z
    .boolean()
    .default(true)
    .describe('the prediction adds a learned linear term a log2 |V_c| to the MLP\'s output, a starting at 0 (not in the paper; chosen on held-out validation, README); false: the MLP\'s output alone'),
  learningRate: z.number().positive().default(0.01).describe('Adam step size of the network at the first epoch (authors\' code 0.01)'),
  learningRateHalvingEpochs: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('halve the network\'s step size every this many epochs: epoch e (1-based) steps at learningRate 0.5^floor(e / n) (the authors\' Torch code: 3; not better on validation, README); 0: constant (their TensorFlow code)'),
  embeddingLearningRate: z.number().min(0).default(5e-5).describe('Adam step size of the node embeddings (authors\' code 5e-5)'),
  l1: z.number().min(0).default(5e-5).describe('L1 penalty on every weight (authors\' code 5e-5)'),
  l2: z.number().min(0).default(1e-8).describe('L2 penalty (sum w^2 / 2) on every weight (authors\' code 1e-8)'),
  maxGradNorm: z.number().positive().default(100).describe('clip each gradient tensor to this norm (authors\' code 100)'),
  initStd: z.number().positive().default(0.01).describe('std of the normal initialisation of the attention logits, and of the MLP with mlpInit normal (authors\' code 0.01)'),
  mlpInit: z
    .enum(['normal', 'glorot'])
    .default('normal')
    .describe('MLP initialisation: normal, N(0, initStd^2) everywhere (the authors\' TensorFlow code); glorot, Glorot-uniform kernels, zero biases, the output bias at the mean training label of the horizon (not better on validation, README)'),
  batchSize: z.number().int().positive().default(32).describe('cascades per step (authors\' code 32)'),
  epochs: z.number().int().positive().default(100).describe('most epochs per horizon'),
  leaveOneOut: z.boolean().default(true).describe('read a training cascade\'s nodes that no other training cascade holds as UNKNOWN, as a new cascade reads nodes never seen in training (false: every training node known, as the authors\' code; no effect with vocabulary all or shared, which read every graph\'s nodes alike)'),
  vocabulary: z
    .enum(['training', 'all', 'shared'])
    .default('training')
    .describe('nodes with an embedding row of their own: training, those of the training graphs (others share UNKNOWN); all, those of every graph given to train (train, validation and test splits: their graphs only, never their labels), skip-gram over the walks of all of them, as the authors\' preprocess.py (worse on held-out validation, README); shared, as all but rows only for the nodes that two or more of those graphs hold, the others UNKNOWN in training and prediction alike (leave-one-out over every split); nodes first seen at predict time are UNKNOWN either way'),
  patience: z.number().int().min(0).default(10).describe('stop after this many epochs without a lower validation loss (authors\' code 10 evaluations); 0: never'),
  ensembleEpochs: z
    .number()
    .int()
    .positive()
    .default(5)
    .describe('average the predictions of the networks of this many epochs with the lowest validation losses (1: the best epoch alone); needs a validation split'),
  weightAverageDecay: z
    .number()
    .min(0)
    .lt(1)
    .default(0)
    .describe('decay of an exponential moving average of the network\'s weights, updated after every step (decay min(d, n / (n + 9)) at the n-th, TensorFlow\'s ExponentialMovingAverage); the averaged weights are the ones validated, kept and used to predict (not better on held-out validation, README). 0: off, the trained weights themselves (the authors\' code)'),
});
export type DeepCasHyperparameters = z.output<typeof deepcasHyperparameters>;

/** File name of a saved model's checkpoint manifest (weights in `deepcas.bin` beside it). */
export const CHECKPOINT_FILE = 'deepcas.json';
const SAVE_FORMAT = 'deepcas-model';
/** Version 2 holds several networks (epochs) per horizon; version 1 files (one each) still load. */
const SAVE_VERSION = 2;

/** Raw node id -> vocabulary index (from RESERVED_NODES on). */
export class NodeVocabulary {
  private readonly index = new Map<string, number>();
  /**
   * @param ids the known nodes, in index order
   * @param cascadeCounts per id, how many training cascades hold it (for `leaveOneOut`)
   */
  constructor(
    readonly ids: readonly string[],
    private readonly cascadeCounts?: readonly number[],
  ) {
    ids.forEach((id, i) => this.index.set(id, RESERVED_NODES + i));
  }
  get size(): number {
    return RESERVED_NODES + this.ids.length;
  }
  indexOf(id: string | undefined): number {
    return id === undefined ? UNKNOWN_NODE : (this.index.get(id) ?? UNKNOWN_NODE);
  }
  /**
   * The index of a node of a training cascade read as a test cascade would read it: UNKNOWN when
   * no other training cascade holds the node (it carries nothing a new cascade could share).
   */
  indexInTraining(id: string | undefined): number {
    const i = this.indexOf(id);
    return i >= RESERVED_NODES && this.cascadeCounts && this.cascadeCounts[i - RESERVED_NODES] < 2 ? UNKNOWN_NODE : i;
  }
  /** The nodes that two or more of the counted graphs hold, in the same order (needs the counts). */
  shared(): NodeVocabulary {
    const counts = this.cascadeCounts;
    if (!counts) throw new RangeError('NodeVocabulary.shared: no cascade counts');
    const keep = this.ids.map((_, i) => i).filter((i) => counts[i] >= 2);
    return new NodeVocabulary(
      keep.map((i) => this.ids[i]),
      keep.map((i) => counts[i]),
    );
  }
  /** Every named node of the training graphs, in order of first appearance, with its cascade count. */
  static fromGraphs(graphs: readonly CascadeGraph[]): NodeVocabulary {
    const counts = new Map<string, number>();
    for (const g of graphs) for (const id of new Set(g.nodeIds ?? [])) counts.set(id, (counts.get(id) ?? 0) + 1);
    return new NodeVocabulary([...counts.keys()], [...counts.values()]);
  }
}

/** A cascade ready for the network: its walks as vocabulary indices, its size bucket and log2 |V_c|. */
export interface PreparedCascade {
  walks: Int32Array;
  bucket: number;
  logSize: number;
}

export function walkOptions(hp: DeepCasHyperparameters): WalkOptions {
  return { walksPerGraph: hp.walksPerGraph, walkLength: hp.walkLength, transition: hp.transition, pseudoCount: hp.pseudoCount };
}

function graphOf(c: WindowedCascade): CascadeGraph {
  if (!c.cascadeGraph) {
    throw new CascadeError('DATA_FORMAT', `DeepCas needs the cascade graph of every cascade, and cascade ${c.id} has none`, {
      hint: 'use a dataset whose format has graphs (deepcas, weibo paths)',
    });
  }
  return c.cascadeGraph;
}

/**
 * The walks of one cascade from its own stream (`walks.derive(id)`: the same walks whatever the
 * batch or worker), mapped to vocabulary indices; ended positions become PAD_NODE.
 */
export function prepareCascade(c: WindowedCascade, vocabulary: NodeVocabulary, hp: DeepCasHyperparameters, walks: Rng, training = false): PreparedCascade {
  return preparedFromWalks(c, sampleWalks(graphOf(c), walkOptions(hp), walks.derive(c.id)), vocabulary, hp, training);
}

/**
 * The graph-local walks of many cascades, each from its own stream (`walks.derive(id)`), on the
 * pool's worker threads when there is a pool (the simulation package's `random-walks` tasks): the
 * same walks as `prepareCascade` draws, wherever they are drawn. Map them with `preparedFromWalks`.
 */
export function cascadeWalks(cascades: readonly WindowedCascade[], hp: DeepCasHyperparameters, walks: Rng, pool?: SimulationPool, signal?: AbortSignal): Promise<Int32Array[]> {
  return sampleWalksOfGraphs(
    cascades.map(graphOf),
    walkOptions(hp),
    cascades.map((c) => walks.derive(c.id)),
    pool,
    signal,
  );
}

/** A cascade's graph-local walks mapped to vocabulary indices (`training`: with the leave-one-out reading). */
export function preparedFromWalks(c: WindowedCascade, local: Int32Array, vocabulary: NodeVocabulary, hp: DeepCasHyperparameters, training = false): PreparedCascade {
  const graph = graphOf(c);
  const out = new Int32Array(local.length);
  const lookup = training && hp.leaveOneOut ? (id: string | undefined) => vocabulary.indexInTraining(id) : (id: string | undefined) => vocabulary.indexOf(id);
  for (let i = 0; i < local.length; i++) out[i] = local[i] === WALK_END ? PAD_NODE : lookup(graph.nodeIds?.[local[i]]);
  return { walks: out, bucket: sizeBucket(graph.numNodes, hp.sizeBuckets), logSize: Math.log2(Math.max(1, graph.numNodes)) };
}

/** Training label of a horizon: log2(increment + 1), or NaN where the size is unknown. */
export function logIncrement(c: WindowedCascade, horizon: number): number {
  const target = c.targets[horizon];
  if (!Number.isFinite(target)) return NaN;
  return Math.log2(Math.max(0, target - c.observedSize) + 1);
}

/** Host arrays of one padded batch (padding rows: all PAD, weight 0). */
function batchArrays(rows: readonly PreparedCascade[], batchSize: number, kt: number, targets?: readonly number[]) {
  const walks = new Int32Array(batchSize * kt);
  const buckets = new Int32Array(batchSize);
  const logSizes = new Float32Array(batchSize);
  const y = new Float32Array(batchSize);
  const weight = new Float32Array(batchSize);
  rows.forEach((r, i) => {
    walks.set(r.walks, i * kt);
    buckets[i] = r.bucket;
    logSizes[i] = r.logSize;
    if (targets) y[i] = targets[i];
    weight[i] = 1;
  });
  return { walks, buckets, logSizes, y, weight };
}

/** Gradient scaled to norm at most maxNorm (tf.clip_by_norm). */
function clipByNorm(g: tf.Tensor, maxNorm: number): tf.Tensor {
  const norm = tf.sqrt(tf.sum(tf.square(g)));
  return tf.mul(g, tf.div(maxNorm, tf.maximum(norm, maxNorm)));
}

/**
 * The loss, its gradients and their clipping as one TensorFlow graph per batch shape (eager off
 * tensorflow): [walks, buckets, targets, rowWeights] (and log2 sizes last, with `graphSizeInput`
 * or `graphSizeSkip`) -> [mean squared error, clipped gradient per trainable weight (in
 * `allTrainableWeights()` order)]. The gradients are those of the objective (penalties included);
 * the reported loss is the error alone.
 */
export function trainingStep(network: DeepCasNetwork, hp: Pick<DeepCasHyperparameters, 'l1' | 'l2' | 'maxGradNorm'>): GraphFunction {
  const variables = network.allTrainableWeights();
  return new GraphFunction(
    ([walks, buckets, targets, weights, logSizes]) => {
      let mse: tf.Tensor | null = null;
      const { grads } = tf.variableGrads(() => {
        const r = network.loss(walks as tf.Tensor3D, buckets as tf.Tensor1D, targets as tf.Tensor1D, weights as tf.Tensor1D, hp.l1, hp.l2, logSizes as tf.Tensor1D | undefined);
        mse = tf.keep(r.mse); // returned, so the caller frees it
        return r.objective;
      }, variables);
      return [mse!, ...variables.map((v) => clipByNorm(grads[v.name], hp.maxGradNorm))];
    },
    { name: 'deepcas training step', captureExternal: true },
  );
}

/**
 * One horizon's networks (the kept epochs; the first is the best) with their compiled forward
 * pass. The prediction is the mean of the networks' predictions of log2(increment + 1): an
 * ensemble of epochs, which is less at the mercy of one noisy validation pick than the best epoch
 * alone (the validation split of test-net has 42 cascades).
 */
export class HorizonNetwork {
  /**
   * [walks, buckets] (and log2 sizes, with `graphSizeInput` or `graphSizeSkip`) -> [mean
   * prediction]: one TensorFlow graph per batch shape (eager elsewhere).
   */
  readonly forwardGraph: GraphFunction;
  readonly members: DeepCasNetwork[];
  constructor(members: DeepCasNetwork | DeepCasNetwork[]) {
    this.members = Array.isArray(members) ? members : [members];
    if (this.members.length === 0) throw new RangeError('HorizonNetwork: no network');
    this.forwardGraph = new GraphFunction(
      ([walks, buckets, logSizes]) => {
        const each = this.members.map((m) => m.forward(walks as tf.Tensor3D, buckets as tf.Tensor1D, logSizes as tf.Tensor1D | undefined).prediction);
        return [each.length === 1 ? each[0] : tf.div(tf.addN(each), each.length)];
      },
      { name: 'deepcas forward', captureExternal: true },
    );
  }

  /** The best epoch's network (the one trained in place). */
  get network(): DeepCasNetwork {
    return this.members[0];
  }

  /** Predicted log2(increment + 1) of each cascade. */
  predict(rows: readonly PreparedCascade[], batchSize: number, signal?: AbortSignal): Float64Array {
    const a = this.network.arch;
    const kt = a.walksPerGraph * a.walkLength;
    const out = new Float64Array(rows.length);
    for (let start = 0; start < rows.length; start += batchSize) {
      throwIfCancelled(signal);
      const part = rows.slice(start, start + batchSize);
      const b = batchArrays(part, batchSize, kt);
      const inputs = [tf.tensor3d(b.walks, [batchSize, a.walksPerGraph, a.walkLength], 'int32'), tf.tensor1d(b.buckets, 'int32')];
      if (a.graphSizeInput || a.graphSizeSkip) inputs.push(tf.tensor1d(b.logSizes));
      try {
        const [p] = this.forwardGraph.call(inputs);
        const values = p.dataSync();
        p.dispose();
        for (let i = 0; i < part.length; i++) out[start + i] = values[i];
      } finally {
        tf.dispose(inputs);
      }
    }
    return out;
  }

  dispose(): void {
    this.forwardGraph.dispose();
    for (const m of this.members) m.dispose();
  }
}

/**
 * Sizes at `horizonsHours` from the per-horizon predictions: y_i = predicted log2(increment + 1)
 * at trained horizon h_i, made non-decreasing in h (a running maximum, and at least 0); between
 * trained horizons y is linear in h, from 0 at the end of the observation window to y_1 before
 * the first one, and y_last after the last. Size = observed + 2^y - 1.
 */
export function sizesFromLogIncrements(observedSize: number, trained: readonly number[], y: readonly number[], windowHours: number, horizonsHours: readonly number[]): Float64Array {
  const order = trained.map((h, i) => i).sort((a, b) => trained[a] - trained[b]);
  const hs: number[] = [Math.min(windowHours, trained[order[0]])];
  const ys: number[] = [0];
  for (const i of order) {
    hs.push(trained[i]);
    ys.push(Math.max(ys[ys.length - 1], y[i]));
  }
  return Float64Array.from(horizonsHours, (h) => {
    let v: number;
    if (h <= hs[0]) v = 0;
    else if (h >= hs[hs.length - 1]) v = ys[ys.length - 1];
    else {
      let k = 1;
      while (hs[k] < h) k++;
      const span = hs[k] - hs[k - 1];
      v = span > 0 ? ys[k - 1] + ((ys[k] - ys[k - 1]) * (h - hs[k - 1])) / span : ys[k];
    }
    return observedSize + 2 ** v - 1;
  });
}

interface SavedMetadata {
  format: typeof SAVE_FORMAT;
  version: typeof SAVE_VERSION;
  hyperparameters: DeepCasHyperparameters;
  architecture: DeepCasArchitecture;
  /** Horizons (hours) with a trained network, in network order. */
  horizonsHours: number[];
  /** Networks (epochs) per horizon, in the same order (version 2; version 1: one each). */
  members?: number[];
  windowHours: number;
  vocabulary: string[];
}

/** A trained DeepCas: one network per trained horizon. */
export class DeepCasModel implements MacroscopicModel {
  constructor(
    private readonly networks: HorizonNetwork[],
    readonly trainedHorizonsHours: number[],
    readonly vocabulary: NodeVocabulary,
    readonly hyperparameters: DeepCasHyperparameters,
    readonly windowHours: number,
    private readonly summary: Record<string, number> = {},
  ) {}

  get architecture(): DeepCasArchitecture {
    return this.networks[0].network.arch;
  }

  /** Predicted log2(increment + 1) per trained horizon: [cascade][trained horizon]. */
  async predictLogIncrements(cascades: WindowedCascade[], context: PredictContext = defaultPredictContext()): Promise<Float64Array[]> {
    const pool = simulationPoolFor(context.execution);
    let local: Int32Array[];
    try {
      local = await cascadeWalks(cascades, this.hyperparameters, context.rng.derive('walks'), pool, context.signal);
    } finally {
      await pool?.close();
    }
    const rows = cascades.map((c, i) => preparedFromWalks(c, local[i], this.vocabulary, this.hyperparameters));
    const perHorizon = this.networks.map((n) => n.predict(rows, this.hyperparameters.batchSize, context.signal));
    return cascades.map((_, c) => Float64Array.from(perHorizon, (p) => p[c]));
  }

  async predict(cascades: WindowedCascade[], horizonsHours: number[], context: PredictContext = defaultPredictContext()): Promise<SizePredictions> {
    const y = await this.predictLogIncrements(cascades, context);
    const sizes = cascades.map((c, i) => sizesFromLogIncrements(c.observedSize, this.trainedHorizonsHours, Array.from(y[i]), this.windowHours, horizonsHours));
    return { sizes };
  }

  summaryMetrics(): Record<string, number> {
    return { ...this.summary };
  }

  /** The networks of each trained horizon (for tests and inspection; the model owns them). */
  get horizonNetworks(): readonly HorizonNetwork[] {
    return this.networks;
  }

  /** Networks (epochs) averaged per trained horizon. */
  get membersPerHorizon(): number[] {
    return this.networks.map((n) => n.members.length);
  }

  /** Checkpoint names: `net<i>/<weight>` for a horizon's first network (as version 1), `net<i>/m<j>/<weight>` for the others. */
  private namedWeights(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    this.networks.forEach((n, i) => {
      n.members.forEach((m, j) => {
        for (const [name, v] of Object.entries(m.allWeights())) out[j === 0 ? `net${i}/${name}` : `net${i}/m${j}/${name}`] = v;
      });
    });
    return out;
  }

  async save(dir: string): Promise<void> {
    const metadata: SavedMetadata = {
      format: SAVE_FORMAT,
      version: SAVE_VERSION,
      hyperparameters: this.hyperparameters,
      architecture: this.architecture,
      horizonsHours: this.trainedHorizonsHours,
      members: this.membersPerHorizon,
      windowHours: this.windowHours,
      vocabulary: [...this.vocabulary.ids],
    };
    await saveCheckpoint(join(dir, CHECKPOINT_FILE), this.namedWeights(), metadata as unknown as Record<string, unknown>);
  }

  static async load(dir: string): Promise<DeepCasModel> {
    const manifestPath = join(dir, CHECKPOINT_FILE);
    let manifest: { metadata?: Partial<SavedMetadata> };
    try {
      manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    } catch (e) {
      throw new CascadeError('DATA_NOT_FOUND', `no saved DeepCas model in ${dir}: cannot read ${manifestPath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const meta = manifest.metadata;
    if (!meta || meta.format !== SAVE_FORMAT || (meta.version !== SAVE_VERSION && meta.version !== 1) || !meta.architecture || !meta.hyperparameters || !meta.horizonsHours || !meta.vocabulary) {
      throw new CascadeError('DATA_FORMAT', `${manifestPath} is not a DeepCas model (format ${SAVE_FORMAT} version ${SAVE_VERSION})`);
    }
    const hp = deepcasHyperparameters.parse(meta.hyperparameters);
    // Initial values are overwritten by the checkpoint; the seed only fills them meanwhile.
    const members = meta.members ?? meta.horizonsHours.map(() => 1);
    const networks = meta.horizonsHours.map(
      (_, i) => new HorizonNetwork(Array.from({ length: members[i] ?? 1 }, (_, j) => new DeepCasNetwork(meta.architecture!, Rng.fromSeed(`deepcas-load-${i}-${j}`)))),
    );
    const model = new DeepCasModel(networks, meta.horizonsHours, new NodeVocabulary(meta.vocabulary), hp, meta.windowHours ?? 0);
    try {
      await loadCheckpointInto(manifestPath, model.namedWeights());
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  dispose(): void {
    for (const n of this.networks) n.dispose();
  }
}

/** Metric key segment of a horizon: `h24`, `h6p5`. */
export function horizonKey(h: number): string {
  return `h${String(h).replace('.', 'p')}`;
}

/**
 * Initial embedding rows: skip-gram vectors of the training walks (as sentences, PAD dropped) for
 * the vocabulary, and N(0, s^2) rows for PAD and UNKNOWN, s the std of the skip-gram entries.
 */
export function initialEmbeddings(walks: readonly PreparedCascade[], vocabularySize: number, hp: DeepCasHyperparameters, rng: Rng, signal?: AbortSignal): Float32Array {
  const sentences: Int32Array[] = [];
  for (const c of walks) {
    for (let k = 0; k < hp.walksPerGraph; k++) {
      const row = c.walks.subarray(k * hp.walkLength, (k + 1) * hp.walkLength);
      let end = 0;
      while (end < row.length && row[end] !== PAD_NODE) end++;
      if (end > 0) sentences.push(row.slice(0, end));
    }
  }
  const d = hp.embeddingDim;
  const vectors =
    hp.skipGramEpochs > 0
      ? skipGram(sentences, vocabularySize, { dimensions: d, window: hp.skipGramWindow, negatives: hp.skipGramNegatives, epochs: hp.skipGramEpochs }, rng.derive('sgd'), signal)
      : Float32Array.from({ length: vocabularySize * d }, () => 0);
  let sum = 0;
  let sq = 0;
  const count = (vocabularySize - RESERVED_NODES) * d;
  for (let i = RESERVED_NODES * d; i < vectors.length; i++) {
    sum += vectors[i];
    sq += vectors[i] * vectors[i];
  }
  const mean = count > 0 ? sum / count : 0;
  const std = count > 0 && sq / count - mean * mean > 0 ? Math.sqrt(sq / count - mean * mean) : 1 / d;
  const reserved = rng.derive('reserved');
  for (let i = 0; i < RESERVED_NODES * d; i++) vectors[i] = reserved.normal(0, std);
  if (hp.skipGramEpochs === 0) for (let i = RESERVED_NODES * d; i < vectors.length; i++) vectors[i] = reserved.normal(0, 1 / d);
  return vectors;
}

/**
 * The network's step size at (1-based) update `step`: learningRate 0.5^floor(e / n) in epoch e
 * (1-based) = floor((step - 1) / stepsPerEpoch) + 1, n = learningRateHalvingEpochs (the authors'
 * Torch code halves it before every epoch e with e mod 3 = 0), tried against the validation loss
 * of test-net jumping by 0.3-1.0 between neighbouring epochs at the constant 0.01 (README,
 * Results). The embeddings keep their constant, much smaller step (as in that code).
 */
export function networkLearningRate(hp: Pick<DeepCasHyperparameters, 'learningRate' | 'learningRateHalvingEpochs'>, stepsPerEpoch: number): LearningRateSchedule {
  const n = hp.learningRateHalvingEpochs;
  if (n === 0) return () => hp.learningRate;
  return (step) => hp.learningRate * 0.5 ** Math.floor((Math.floor((step - 1) / stepsPerEpoch) + 1) / n);
}

/** Trains one horizon's network on the cascades whose size at that horizon is known. */
async function trainHorizon(
  h: number,
  index: number,
  train: { rows: PreparedCascade[]; y: number[] },
  validation: { rows: PreparedCascade[]; y: number[] },
  arch: DeepCasArchitecture,
  embeddings: Float32Array,
  hp: DeepCasHyperparameters,
  ctx: TrainContext,
): Promise<{ net: HorizonNetwork; bestEpoch: number; validationMse: number; keptEpochs: number[]; ensembleValidationMse: number }> {
  const meanLabel = train.y.reduce((a, b) => a + b, 0) / train.y.length;
  const network = new DeepCasNetwork(arch, ctx.rng.derive(`init:${horizonKey(h)}`), { embeddings, initStd: hp.initStd, mlp: hp.mlpInit, outputBias: meanLabel });
  // With weightAverageDecay > 0 the averaged weights (a second network, set to the initial weights
  // now) are the ones validated, kept and returned; the trained network only feeds them.
  const averaged = hp.weightAverageDecay > 0 ? new DeepCasNetwork(arch, Rng.fromSeed('deepcas-average')) : null; // initial values overwritten at once
  const average = averaged ? new WeightAverage(network.allWeights(), averaged.allWeights(), hp.weightAverageDecay) : null;
  const evaluated = averaged ?? network;
  let net = new HorizonNetwork(evaluated);
  const snapshot = () => Object.fromEntries(Object.entries(evaluated.allWeights()).map(([n, v]) => [n, tf.keep(v.clone())]));
  // The `ensembleEpochs` lowest validation losses so far with their weights, lowest first (ties: the earlier epoch first, as fit's best).
  const kept: { loss: number; epoch: number; weights: Record<string, tf.Tensor> }[] = [];
  const keep = (loss: number, epoch: number) => {
    if (!(Number.isFinite(loss) && hp.ensembleEpochs > 1)) return;
    if (kept.length === hp.ensembleEpochs && loss >= kept[kept.length - 1].loss) return;
    let at = kept.length;
    while (at > 0 && kept[at - 1].loss > loss) at--;
    kept.splice(at, 0, { loss, epoch, weights: snapshot() });
    if (kept.length > hp.ensembleEpochs) tf.dispose(Object.values(kept.pop()!.weights));
  };
  const variables = network.allTrainableWeights();
  const embeddingVars = variables.filter((v) => v === network.embedding);
  const otherVars = variables.filter((v) => v !== network.embedding);
  const stepsPerEpoch = Math.ceil(train.rows.length / hp.batchSize);
  const optimizer = new Adam({ learningRate: networkLearningRate(hp, stepsPerEpoch), name: 'deepcas Adam' });
  const embeddingOptimizer = new Adam({ learningRate: hp.embeddingLearningRate, name: 'deepcas embedding Adam' });
  const kt = arch.walksPerGraph * arch.walkLength;
  const step = trainingStep(network, hp);
  const key = horizonKey(h);
  const monitors: Monitor[] =
    validation.rows.length > 0
      ? [
          {
            name: `${key}.loss`,
            direction: 'min',
            evaluate: (info) => {
              const p = net.predict(validation.rows, hp.batchSize, ctx.signal);
              let s = 0;
              p.forEach((v, i) => (s += (v - validation.y[i]) ** 2));
              keep(s / p.length, info.epoch);
              return s / p.length;
            },
          },
        ]
      : [];
  try {
    const result = await fit<number[], Record<string, tf.Tensor>>({
      name: 'deepcas',
      scope: key,
      epochs: hp.epochs,
      rng: ctx.rng.derive(`epochs:${key}`),
      patience: hp.patience,
      monitors,
      select: monitors.length > 0 ? monitors[0].name : null,
      context: ctx,
      nonFiniteHint: 'lower learningRate',
      weights: {
        snapshot,
        restore: (s) => {
          const w = evaluated.allWeights();
          for (const [n, t] of Object.entries(s)) w[n].assign(t);
        },
        release: (s) => tf.dispose(Object.values(s)),
      },
      plan: (info) => {
        const order = info.rng.shuffle(train.rows.map((_, i) => i));
        const batches: number[][] = [];
        for (let s = 0; s < order.length; s += hp.batchSize) batches.push(order.slice(s, s + hp.batchSize));
        return {
          batches,
          step: (batch) => {
            const b = batchArrays(
              batch.map((i) => train.rows[i]),
              hp.batchSize,
              kt,
              batch.map((i) => train.y[i]),
            );
            const inputs = [
              tf.tensor3d(b.walks, [hp.batchSize, arch.walksPerGraph, arch.walkLength], 'int32'),
              tf.tensor1d(b.buckets, 'int32'),
              tf.tensor1d(b.y),
              tf.tensor1d(b.weight),
            ];
            if (arch.graphSizeInput || arch.graphSizeSkip) inputs.push(tf.tensor1d(b.logSizes));
            try {
              const [cost, ...grads] = step.call(inputs);
              const byName = Object.fromEntries(variables.map((v, i) => [v.name, grads[i]]));
              optimizer.applyGradients(otherVars, byName);
              if (hp.embeddingLearningRate > 0) embeddingOptimizer.applyGradients(embeddingVars, byName);
              tf.dispose(grads);
              average?.update();
              const mse = cost.dataSync()[0];
              cost.dispose();
              return { loss: mse * batch.length, weight: batch.length };
            } finally {
              tf.dispose(inputs);
            }
          },
        };
      },
    });
    const validationMse = result.best?.[`${key}.loss`] ?? NaN;
    if (kept.length < 2) return { net, bestEpoch: result.bestEpoch, validationMse, keptEpochs: [result.bestEpoch], ensembleValidationMse: validationMse };
    // fit brought back the best epoch's weights (kept[0]) into `evaluated`; the other kept epochs become networks of their own.
    const others = kept.slice(1).map((k, j) => {
      const m = new DeepCasNetwork(arch, Rng.fromSeed(`deepcas-member-${j}`)); // initial values overwritten at once
      const w = m.allWeights();
      for (const [n, t] of Object.entries(k.weights)) w[n].assign(t);
      return m;
    });
    net.forwardGraph.dispose();
    net = new HorizonNetwork([evaluated, ...others]);
    const p = net.predict(validation.rows, hp.batchSize, ctx.signal);
    let s = 0;
    p.forEach((v, i) => (s += (v - validation.y[i]) ** 2));
    return { net, bestEpoch: result.bestEpoch, validationMse, keptEpochs: kept.map((k) => k.epoch), ensembleValidationMse: s / p.length };
  } catch (e) {
    net.dispose();
    throw e;
  } finally {
    for (const k of kept) tf.dispose(Object.values(k.weights));
    step.dispose();
    optimizer.dispose();
    embeddingOptimizer.dispose();
    // The trained weights are no part of the model when their average is.
    if (averaged) network.dispose();
  }
}

/**
 * The nodes with a row of their own: those of the training graphs (`vocabulary: training`), or of
 * the graphs of all three splits (`all`: the authors' preprocess.py indexes the nodes of the walks
 * of train, val and test, each with its unsupervised vector), or those of them that two or more of
 * these graphs hold (`shared`: leave-one-out over every split). Reads `cascadeGraph` alone: never a
 * cascade's targets, so the test labels cannot reach the model this way.
 */
export function trainingVocabulary(data: Pick<MacroscopicDataset, 'train' | 'validation' | 'test'>, hp: Pick<DeepCasHyperparameters, 'vocabulary'>): NodeVocabulary {
  const cascades = hp.vocabulary === 'training' ? data.train : [...data.train, ...data.validation, ...data.test];
  const every = NodeVocabulary.fromGraphs(cascades.map(graphOf));
  return hp.vocabulary === 'shared' ? every.shared() : every;
}

/** The rows of `to`'s nodes (and the reserved rows) taken from a [from.size, d] matrix. */
function embeddingRows(vectors: Float32Array, from: NodeVocabulary, to: NodeVocabulary, d: number): Float32Array {
  const out = new Float32Array(to.size * d);
  out.set(vectors.subarray(0, RESERVED_NODES * d));
  to.ids.forEach((id, i) => {
    const row = from.indexOf(id);
    out.set(vectors.subarray(row * d, (row + 1) * d), (RESERVED_NODES + i) * d);
  });
  return out;
}

async function train(data: MacroscopicDataset, hp: DeepCasHyperparameters, ctx: TrainContext): Promise<DeepCasModel> {
  if (hp.walksPerGraph % hp.blockSize !== 0) {
    throw new CascadeError('CONFIG_INVALID', `model.hyperparameters.blockSize: expected a divisor of walksPerGraph (${hp.walksPerGraph}), found ${hp.blockSize}`);
  }
  const all = hp.vocabulary === 'all';
  // Every split's nodes (all and shared); shared keeps the rows of those two or more graphs hold.
  const every = hp.vocabulary === 'training' ? null : trainingVocabulary(data, { vocabulary: 'all' });
  const vocabulary = every ? (all ? every : every.shared()) : trainingVocabulary(data, hp);
  // Each cascade's walks once, from its own stream: on execution.workers threads when there are several.
  const walkStream = ctx.rng.derive('walks');
  const pool = simulationPoolFor(ctx.execution);
  let trainWalks: Int32Array[], validationWalks: Int32Array[], testWalks: Int32Array[];
  try {
    trainWalks = await cascadeWalks(data.train, hp, walkStream, pool, ctx.signal);
    validationWalks = await cascadeWalks(data.validation, hp, walkStream, pool, ctx.signal);
    testWalks = hp.vocabulary === 'training' ? [] : await cascadeWalks(data.test, hp, walkStream, pool, ctx.signal);
  } finally {
    await pool?.close();
  }
  const rowsOf = (cascades: WindowedCascade[], local: Int32Array[], v: NodeVocabulary, training = false) => cascades.map((c, i) => preparedFromWalks(c, local[i], v, hp, training));
  // With vocabulary all a test cascade reads every node by its own row, so training does too (no
  // leave-one-out); with shared the vocabulary itself leaves out the nodes of one graph alone.
  const trainRows = rowsOf(data.train, trainWalks, vocabulary, hp.vocabulary === 'training');
  const validationRows = rowsOf(data.validation, validationWalks, vocabulary);
  throwIfCancelled(ctx.signal);
  // Skip-gram learns a vector for every node of the graphs it reads (their walks, every node known):
  // the training graphs, or with all and shared those of every split (walks and node ids only: no
  // label is read); shared then keeps the rows of its nodes.
  const skipGramOn = (rows: PreparedCascade[], v: NodeVocabulary) => initialEmbeddings(rows, v.size, hp, ctx.rng.derive('skip-gram'), ctx.signal);
  let embeddings: Float32Array;
  if (hp.vocabulary === 'training') {
    embeddings = skipGramOn(hp.leaveOneOut ? rowsOf(data.train, trainWalks, vocabulary) : trainRows, vocabulary);
  } else if (all) {
    embeddings = skipGramOn([...trainRows, ...validationRows, ...rowsOf(data.test, testWalks, vocabulary)], vocabulary);
  } else {
    const rows = [...rowsOf(data.train, trainWalks, every!), ...rowsOf(data.validation, validationWalks, every!), ...rowsOf(data.test, testWalks, every!)];
    embeddings = embeddingRows(skipGramOn(rows, every!), every!, vocabulary, hp.embeddingDim);
  }
  const arch: DeepCasArchitecture = {
    vocabularySize: vocabulary.size,
    embeddingDim: hp.embeddingDim,
    gruUnits: hp.gruUnits,
    dense1: hp.dense1,
    dense2: hp.dense2,
    walksPerGraph: hp.walksPerGraph,
    walkLength: hp.walkLength,
    blockSize: hp.blockSize,
    sizeBuckets: hp.sizeBuckets,
    walkPrior: hp.walkPrior,
    graphSizeInput: hp.graphSizeInput,
    graphSizeSkip: hp.graphSizeSkip,
  };
  ctx.logger.info(`deepcas: ${vocabulary.ids.length} nodes in the ${hp.vocabulary === 'training' ? 'training' : 'train, validation and test'} graphs${hp.vocabulary === 'shared' ? ' held by two or more of them' : ''}, ${trainRows.length} training and ${validationRows.length} validation cascades, ${hp.walksPerGraph} walks of ${hp.walkLength}`);
  const networks: HorizonNetwork[] = [];
  const trained: number[] = [];
  const summary: Record<string, number> = {};
  const select = (rows: PreparedCascade[], cascades: WindowedCascade[], h: number) => {
    const out = { rows: [] as PreparedCascade[], y: [] as number[] };
    cascades.forEach((c, i) => {
      const y = logIncrement(c, h);
      if (Number.isFinite(y)) {
        out.rows.push(rows[i]);
        out.y.push(y);
      }
    });
    return out;
  };
  try {
    for (let h = 0; h < data.horizonsHours.length; h++) {
      const t = select(trainRows, data.train, h);
      if (t.rows.length === 0) {
        ctx.logger.warn(`deepcas: no training cascade reaches ${data.horizonsHours[h]} h; no network for it`);
        continue;
      }
      const r = await trainHorizon(data.horizonsHours[h], h, t, select(validationRows, data.validation, h), arch, embeddings, hp, ctx);
      networks.push(r.net);
      trained.push(data.horizonsHours[h]);
      // The runner logs summaryMetrics() as model.<key>.
      const key = horizonKey(data.horizonsHours[h]);
      summary[`${key}.bestEpoch`] = r.bestEpoch;
      summary[`${key}.ensembleEpochs`] = r.keptEpochs.length;
      // Both on the validation cascades that chose the epochs: in-sample, not an estimate of test error.
      summary[`${key}.bestValidationLoss`] = r.validationMse;
      summary[`${key}.ensembleValidationLoss`] = r.ensembleValidationMse;
      ctx.logger.info(`deepcas ${key}: epochs ${r.keptEpochs.join(', ')} averaged; validation loss ${r.ensembleValidationMse.toFixed(4)} (best epoch ${r.bestEpoch} alone ${r.validationMse.toFixed(4)})`);
    }
  } catch (e) {
    for (const n of networks) n.dispose();
    throw e;
  }
  if (networks.length === 0) throw new CascadeError('DATA_FORMAT', `DeepCas: no training cascade of ${data.name} has a known size at any horizon (${data.horizonsHours.join(', ')} h)`);
  return new DeepCasModel(networks, trained, vocabulary, hp, data.observationWindowSeconds / 3600, summary);
}

export const deepcasPlugin: MacroscopicPlugin<DeepCasHyperparameters> = {
  name: 'deepcas',
  task: 'macroscopic',
  description: 'DeepCas (Li et al. 2017): random walks on the observed cascade graph, a bidirectional GRU per walk and attention over steps and walks, regressing log2 of the size increment.',
  reference: 'Li, Ma, Guo, Mei: DeepCas: an End-to-end Predictor of Information Cascades, WWW 2017, §4',
  hyperparameters: deepcasHyperparameters,
  dataNeeds: ['cascadeGraph'],
  metrics: [
    { key: 'validation.h<hours>.loss', label: 'validation loss <hours> h', unit: 'loss', direction: 'lower', description: 'Squared error of log2(increment + 1) on the validation split for the network of that horizon (step = epoch).' },
    { key: 'model.h<hours>.bestEpoch', label: 'kept epoch <hours> h', unit: 'epoch', direction: 'none', description: 'The epoch whose weights the network of that horizon keeps.' },
    { key: 'model.h<hours>.ensembleEpochs', label: 'averaged epochs <hours> h', unit: 'count', direction: 'none', description: 'Networks (the epochs of lowest validation loss) whose predictions are averaged for that horizon (ensembleEpochs).' },
    { key: 'model.h<hours>.bestValidationLoss', label: 'best-epoch validation loss <hours> h', unit: 'loss', direction: 'none', description: 'Validation loss of the best epoch alone, on the cascades that chose it (in-sample).' },
    { key: 'model.h<hours>.ensembleValidationLoss', label: 'ensemble validation loss <hours> h', unit: 'loss', direction: 'none', description: 'Validation loss of the averaged networks, on the cascades that chose them (in-sample).' },
  ],
  train,
  async load(dir: string, _context: InferenceContext) {
    // One error code for every failed load (core's ModelLoadError, MODEL_LOAD).
    return loadingModel(dir, () => DeepCasModel.load(dir));
  },
};
