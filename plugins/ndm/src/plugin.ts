import { join } from 'node:path';
import {
  CascadeError,
  DataFormatError,
  RESERVED_USERS,
  type InferenceContext,
  type MicroscopicDataset,
  type MicroscopicModel,
  type MicroscopicPlugin,
  type Rng,
  type SimulationRequest,
  type SimulationResult,
  type SocialGraph,
  type TrainContext,
} from '@cascade-lab/core';
import { closestUsers, linkPredictionAccuracy } from '@cascade-lab/metrics';
import { loadCheckpoint, saveCheckpoint } from '@cascade-lab/tensor-ops';
import { deepWalk } from './deepwalk.js';
import { ndmHyperparameters, type NdmHyperparameters } from './hyperparameters.js';
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
 * Social link prediction (NDM paper §5.4): for every user with at least one edge, the most closely
 * related other user by (a) the inner product of learned embeddings and (b) the attention score
 * emb(u) M_i emb(v)^T averaged over heads; the accuracy is how often that user is a neighbour.
 */
export function socialLinkPrediction(a: NdmArchitecture, w: NdmWeights, graph: SocialGraph, queryScores: Float32Array): Record<string, number> {
  const U = a.numUsers;
  const d = a.dimension;
  const h = a.heads;
  if (graph.numNodes !== U) throw new CascadeError('DATA_FORMAT', `social graph has ${graph.numNodes} nodes but the vocabulary ${U} users`);
  const hasEdge = new Uint8Array(U);
  for (const x of graph.edges) hasEdge[x] = 1;
  const users: number[] = [];
  for (let u = RESERVED_USERS; u < U; u++) if (hasEdge[u]) users.push(u);
  if (users.length === 0) return {};
  const inner = new Float32Array(U * U);
  const attention = new Float32Array(U * U);
  // Mean over heads of emb(u) M_i emb(v)^T = (mean_i emb(u) M_i) emb(v)^T.
  const query = new Float64Array(d);
  for (const u of users) {
    query.fill(0);
    for (let i = 0; i < h; i++) for (let e = 0; e < d; e++) query[e] += queryScores[(u * h + i) * d + e] / h;
    for (let v = RESERVED_USERS; v < U; v++) {
      let s = 0;
      let q = 0;
      for (let e = 0; e < d; e++) {
        s += w.embedding[u * d + e] * w.embedding[v * d + e];
        q += query[e] * w.embedding[v * d + e];
      }
      inner[u * U + v] = s;
      attention[u * U + v] = q;
    }
  }
  const options = { users, direction: graph.directed ? ('out' as const) : ('either' as const) };
  return {
    linkPredictionAccuracyEmbedding: linkPredictionAccuracy(closestUsers(inner, U), graph, options),
    linkPredictionAccuracyAttention: linkPredictionAccuracy(closestUsers(attention, U), graph, options),
    linkPredictionUsers: users.length,
  };
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
  ) {
    this.network = new NdmNetwork(architecture, weights);
    this.simulator = new NdmSimulator(architecture, weights, hyperparameters.simulationBatchRows);
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
export async function loadNdmModel(dir: string): Promise<NdmModel> {
  const file = join(dir, CHECKPOINT_FILE);
  const { tensors, metadata } = await loadCheckpoint(file);
  try {
    if (!metadata || metadata.format !== METADATA_FORMAT || metadata.version !== METADATA_VERSION) {
      throw new DataFormatError({ file }, `not an NDM model of version ${METADATA_VERSION} (metadata ${JSON.stringify(metadata?.format)} v${JSON.stringify(metadata?.version)})`);
    }
    const hp = ndmHyperparameters.parse(metadata.hyperparameters);
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
    return new NdmModel(architecture, hp, weights, (metadata.summary ?? {}) as Record<string, number>);
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
  const model = new NdmModel(architecture, hp, weights, summary);
  if (data.graph) Object.assign(summary, socialLinkPrediction(architecture, weights, data.graph, model.simulator.tables.queryScores));
  return model;
}

export const ndmPlugin: MicroscopicPlugin<NdmHyperparameters> = {
  name: 'ndm',
  task: 'microscopic',
  description: 'Neural Diffusion Model: multi-head attention over infected users and a window of position-specific projections predict the next infected user.',
  reference: 'Yang, Sun, Liu, Li, Zhou, Zhang, Sun: Neural Diffusion Model for Microscopic Cascade Study, IEEE TKDE 2019',
  hyperparameters: ndmHyperparameters,
  train: trainNdm,
  async load(dir: string, _context: InferenceContext): Promise<NdmModel> {
    if (_context.backend.name === 'wasm') installWasmBatchMatMul();
    return loadNdmModel(dir);
  },
};
