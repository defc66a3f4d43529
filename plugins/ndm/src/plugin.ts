import { join } from 'node:path';
import {
  CascadeError,
  DataFormatError,
  loadingModel,
  RESERVED_USERS,
  type EdgeScores,
  type ExecutionSettings,
  type InferenceContext,
  type MicroscopicDataset,
  type MicroscopicModel,
  type MicroscopicPlugin,
  type Rng,
  type SimulationRequest,
  type SimulationResult,
  type TrainContext,
} from '@cascade-lab/core';
import { loadCheckpoint, saveCheckpoint } from '@cascade-lab/tensor-ops';
import { deepWalk } from './deepwalk.js';
import { FORMER_HYPERPARAMETERS, ndmExecution, ndmHyperparameters, type NdmHyperparameters } from './hyperparameters.js';
import { batchOf, MASKED_LOGIT, NdmNetwork } from './model.js';
import { NdmSimulator } from './simulator.js';
import { tf } from './tf.js';
import { fit, trainableCascades, type EpochReport, type FitResult } from './trainer.js';
import { installWasmBatchMatMul } from './wasm-matmul.js';
import { architectureOf, initialWeights, weightShapes, windowProjectionNorms, WEIGHT_NAMES, type NdmArchitecture, type NdmWeights } from './weights.js';

export const CHECKPOINT_FILE = 'ndm.json';
const METADATA_FORMAT = 'cascade-lab/ndm';
const METADATA_VERSION = 1;

/**
 * Edge scores for social link prediction (NDM paper §5.4) over every pair of real users: (a)
 * `embedding`, the inner product of their learned embeddings (symmetric: each pair once,
 * undirected), and (b) `attention`, the attention score emb(u) M_i emb(v)^T averaged over heads
 * (directed). `@cascade-lab/evaluation` scores them against the dataset's social graph (how often
 * each user's highest-scored other user is a neighbour, plus AUC and precision@|E|).
 */
export function ndmEdgeScores(a: NdmArchitecture, w: NdmWeights, queryScores: Float32Array): EdgeScores[] {
  const U = a.numUsers;
  const d = a.dimension;
  const h = a.heads;
  const real = Math.max(0, U - RESERVED_USERS);
  const pairs = real * (real - 1);
  const embedding = { name: 'embedding', directed: false, sources: new Int32Array(pairs / 2), targets: new Int32Array(pairs / 2), scores: new Float64Array(pairs / 2) };
  const attention = { name: 'attention', directed: true, sources: new Int32Array(pairs), targets: new Int32Array(pairs), scores: new Float64Array(pairs) };
  // Mean over heads of emb(u) M_i emb(v)^T = (mean_i emb(u) M_i) emb(v)^T.
  const query = new Float64Array(d);
  let ke = 0;
  let ka = 0;
  for (let u = RESERVED_USERS; u < U; u++) {
    query.fill(0);
    for (let i = 0; i < h; i++) for (let e = 0; e < d; e++) query[e] += queryScores[(u * h + i) * d + e] / h;
    for (let v = RESERVED_USERS; v < U; v++) {
      if (v === u) continue;
      let s = 0;
      let q = 0;
      for (let e = 0; e < d; e++) {
        s += w.embedding[u * d + e] * w.embedding[v * d + e];
        q += query[e] * w.embedding[v * d + e];
      }
      if (u < v) {
        embedding.sources[ke] = u;
        embedding.targets[ke] = v;
        embedding.scores[ke++] = s;
      }
      attention.sources[ka] = u;
      attention.targets[ka] = v;
      attention.scores[ka++] = q;
    }
  }
  return [embedding, attention];
}

/** A trained NDM: the simulator for the evaluation protocol, next-user scores and its weights. */
export class NdmModel implements MicroscopicModel {
  private readonly network: NdmNetwork;
  readonly simulator: NdmSimulator;

  constructor(
    readonly architecture: NdmArchitecture,
    readonly hyperparameters: NdmHyperparameters,
    readonly weights: NdmWeights,
    private readonly summary: Record<string, number>,
    /** Execution settings (the config's `execution` section): the sampler's batch rows. */
    execution?: Partial<ExecutionSettings>,
  ) {
    this.network = new NdmNetwork(architecture, weights);
    this.simulator = new NdmSimulator(architecture, weights, ndmExecution(execution).simulationBatchRows);
  }

  simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    return this.simulator.simulate(requests, rng, signal);
  }

  /**
   * Row t scores every user as the one at position t+1 given events[0..t] (softmax logits of
   * Eq. 7); users infected in events[0..t] and padding are -Infinity.
   */
  async nextUserScores(cascade: number[]): Promise<Float32Array[]> {
    const U = this.architecture.numUsers;
    if (cascade.length < 2) return [];
    const prefix = cascade.slice(0, cascade.length - 1);
    const logits = tf.tidy(() => this.network.maskedLogits(batchOf([prefix]), { training: false }));
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    const rows: Float32Array[] = [];
    for (let t = 0; t < prefix.length; t++) {
      const row = values.slice(t * U, (t + 1) * U);
      rows.push(row);
    }
    // The authors' layer norm is skipped for a length-1 sequence: the first row comes from that pass.
    if (this.architecture.layerNorm === 'ndm-code') {
      const first = tf.tidy(() => this.network.maskedLogits(batchOf([[cascade[0]]]), { training: false }, true));
      rows[0] = ((await first.data()) as Float32Array).slice();
      first.dispose();
    }
    for (const row of rows) for (let v = 0; v < U; v++) if (row[v] <= MASKED_LOGIT / 2) row[v] = -Infinity;
    return rows;
  }

  summaryMetrics(): Record<string, number> {
    return { ...this.summary, ...windowProjectionNorms(this.architecture, this.weights) };
  }

  /** Embedding and attention scores of every user pair (NDM §5.4), scored by the evaluation package. */
  async edgeScores(): Promise<EdgeScores[]> {
    return ndmEdgeScores(this.architecture, this.weights, this.simulator.tables.queryScores);
  }

  async save(dir: string): Promise<void> {
    const shapes = weightShapes(this.architecture);
    const tensors: Record<string, tf.Tensor> = {};
    for (const name of WEIGHT_NAMES) tensors[name] = tf.tensor(this.weights[name], shapes[name]);
    try {
      await saveCheckpoint(join(dir, CHECKPOINT_FILE), tensors, {
        format: METADATA_FORMAT,
        version: METADATA_VERSION,
        architecture: this.architecture,
        hyperparameters: this.hyperparameters,
        summary: this.summary,
      });
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }

  dispose(): void {
    this.network.dispose();
    this.simulator.dispose();
  }
}

/** Reads a model written by {@link NdmModel.save}. */
export async function loadNdmModel(dir: string, execution?: Partial<ExecutionSettings>): Promise<NdmModel> {
  const file = join(dir, CHECKPOINT_FILE);
  return loadingModel(file, () => readNdmModel(file, execution));
}

async function readNdmModel(file: string, execution: Partial<ExecutionSettings> | undefined): Promise<NdmModel> {
  const { tensors, metadata } = await loadCheckpoint(file);
  try {
    if (!metadata || metadata.format !== METADATA_FORMAT || metadata.version !== METADATA_VERSION) {
      throw new DataFormatError({ file }, `not an NDM model of version ${METADATA_VERSION} (metadata ${JSON.stringify(metadata?.format)} v${JSON.stringify(metadata?.version)})`);
    }
    // Models saved before the execution settings left the hyperparameters carry them: drop them.
    const saved = { ...(metadata.hyperparameters as Record<string, unknown>) };
    for (const k of FORMER_HYPERPARAMETERS) delete saved[k];
    const hp = ndmHyperparameters.parse(saved);
    const architecture = metadata.architecture as NdmArchitecture;
    const expected = architectureOf(hp, architecture.numUsers);
    for (const key of Object.keys(expected) as (keyof NdmArchitecture)[]) {
      if (expected[key] !== architecture[key]) throw new DataFormatError({ file }, `architecture field ${key} is ${JSON.stringify(architecture[key])}, the hyperparameters imply ${JSON.stringify(expected[key])}`);
    }
    const shapes = weightShapes(architecture);
    const weights = {} as NdmWeights;
    for (const name of WEIGHT_NAMES) {
      const t = tensors[name];
      if (!t) throw new DataFormatError({ file }, `weight "${name}" is missing`);
      const want = shapes[name];
      if (t.shape.length !== want.length || t.shape.some((x, i) => x !== want[i])) {
        throw new DataFormatError({ file }, `weight "${name}" has shape [${t.shape}], the architecture needs [${want}]`);
      }
      weights[name] = (t.dataSync() as Float32Array).slice();
    }
    return new NdmModel(architecture, hp, weights, (metadata.summary ?? {}) as Record<string, number>, execution);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/**
 * NDM's own per-epoch metrics beside the training loop's standard ones (`train.loss`,
 * `train.epochSeconds`, `validation.loss`, `validation.hitsAt10`, ...): the learning rate of the
 * next step and the epoch's training throughput in targets per second.
 */
function logEpoch(context: TrainContext, report: EpochReport, scope?: string): void {
  const key = (name: string) => (scope ? `train.${scope}.${name}` : `train.${name}`);
  context.metrics.logMetric(key('learningRate'), report.learningRate, report.epoch);
  context.metrics.logMetric(key('tokensPerSecond'), report.weight / Math.max(1e-9, report.seconds), report.epoch);
}

/** Trains NDM (paper §4.5, §5.2) and returns the model. */
export async function trainNdm(data: MicroscopicDataset, hp: NdmHyperparameters, context: TrainContext): Promise<NdmModel> {
  if (context.backend.name === 'wasm') installWasmBatchMatMul();
  const architecture = architectureOf(hp, data.users.size);
  let frozen: Float32Array | undefined;
  if (hp.socialEmbedding) {
    if (!data.graph) {
      throw new CascadeError('CONFIG_INVALID', `ndm: socialEmbedding (NDM+SN) needs a social graph, and dataset "${data.name}" has none`, {
        hint: 'use a dataset with a graph (e.g. christianity) or set socialEmbedding: false',
      });
    }
    const task = context.progress.start('ndm deepwalk');
    frozen = deepWalk(
      data.graph,
      {
        dimensions: architecture.frozenDimensions,
        walksPerNode: hp.deepWalkWalksPerNode,
        walkLength: hp.deepWalkWalkLength,
        window: hp.deepWalkWindow,
        negatives: hp.deepWalkNegatives,
        epochs: hp.deepWalkEpochs,
      },
      context.rng.derive('deepwalk'),
      context.signal,
    );
    task.done();
  }
  const init = initialWeights(architecture, context.rng.derive('init'), frozen);
  const train = trainableCascades(data.train);
  const validation = trainableCascades(data.validation);
  if (train.length === 0) throw new CascadeError('DATA_FORMAT', `ndm: dataset "${data.name}" has no training cascade with two or more users`);
  if (validation.length === 0) context.logger.warn(`ndm: no validation cascades; training ${hp.maxEpochs} epochs without early stopping`);
  const network = new NdmNetwork(architecture, init);
  let result: FitResult;
  let weights: NdmWeights;
  try {
    result = await fit(network, hp, train, validation, context.rng.derive('train'), context, (r) => logEpoch(context, r));
    if (hp.finalFit === 'retrain-all' && validation.length > 0) {
      // §5.2: the final model is trained on every training cascade, validation ones included, for
      // the number of epochs validation chose.
      context.logger.info(`ndm: retraining on ${train.length + validation.length} cascades for ${result.bestEpoch} epochs`);
      network.assignWeights(init);
      await fit(network, { ...hp, patience: 0 }, [...train, ...validation], [], context.rng.derive('retrain'), context, (r) => logEpoch(context, r, 'retrain'), result.bestEpoch, 'retrain');
    }
    weights = network.readWeights();
  } finally {
    network.dispose();
  }
  context.logger.info(`ndm: trained ${result.epochs} epochs${result.stoppedEarly ? ' (stopped early)' : ''}, kept epoch ${result.bestEpoch}, ${result.tokensPerSecond.toFixed(0)} targets/s`);
  // Training facts go to the run through the training loop's keys (train.epochs, train.bestEpoch,
  // validation.*); the summary holds facts about the model itself (logged as model.<key>).
  const summary: Record<string, number> = {};
  const model = new NdmModel(architecture, hp, weights, summary, context.execution);
  return model;
}

export const ndmPlugin: MicroscopicPlugin<NdmHyperparameters> = {
  name: 'ndm',
  task: 'microscopic',
  // Sampling runs as tensor ops in the calling process: the runner evaluates in execution.workers processes.
  inProcessSimulation: true,
  description: 'Neural Diffusion Model: multi-head attention over infected users and a window of position-specific projections predict the next infected user.',
  reference: 'Yang, Sun, Liu, Li, Zhou, Zhang, Sun: Neural Diffusion Model for Microscopic Cascade Study, IEEE TKDE 2019',
  metrics: [
    { key: 'train.tokensPerSecond', label: 'training targets/s', unit: 'perSecond', direction: 'higher', description: 'Next-user targets trained per second in an epoch (step = epoch).' },
    { key: 'model.windowProjection<n>SquaredFrobenius', label: 'window projection <n> squared norm', unit: 'value', direction: 'none', description: 'Squared Frobenius norm of the window projection at distance n (NDM paper Table 4).' },
    { key: 'model.initialProjectionSquaredFrobenius', label: 'initial-user projection squared norm', unit: 'value', direction: 'none', description: 'Squared Frobenius norm of the Finit projection of the first user (with Finit only).' },
  ],
  hyperparameters: ndmHyperparameters,
  train: trainNdm,
  async load(dir: string, _context: InferenceContext): Promise<NdmModel> {
    if (_context.backend.name === 'wasm') installWasmBatchMatMul();
    return loadNdmModel(dir, _context.execution);
  },
};
