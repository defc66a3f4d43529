import { join } from 'node:path';
import {
  CascadeError,
  DataFormatError,
  loadingModel,
  type ExecutionSettings,
  type MicroscopicDataset,
  type MicroscopicModel,
  type MicroscopicPlugin,
  type Rng,
  type SimulationRequest,
  type SimulationResult,
  type TrainContext,
} from '@cascade-lab/core';
import { loadCheckpoint, saveCheckpoint, tf } from '@cascade-lab/tensor-ops';
import { DEFAULT_SIMULATION_BATCH_ROWS, lstmHyperparameters, type LstmHyperparameters } from './hyperparameters.js';
import { LstmNetwork, MASKED_LOGIT, type LstmArchitecture } from './network.js';
import { LstmSimulator } from './simulator.js';
import { fitLstm } from './trainer.js';

export const CHECKPOINT_FILE = 'lstm.json';
const METADATA_FORMAT = 'cascade-lab/lstm';
const METADATA_VERSION = 1;

function batchRowsOf(execution?: Partial<ExecutionSettings>): number {
  return execution?.batchRows ?? DEFAULT_SIMULATION_BATCH_ROWS;
}

/** A trained LSTM baseline: the state-carrying simulator, next-user scores by a full forward pass, its weights. */
export class LstmModel implements MicroscopicModel {
  readonly simulator: LstmSimulator;

  constructor(
    readonly architecture: LstmArchitecture,
    readonly hyperparameters: LstmHyperparameters,
    readonly weights: Record<string, Float32Array>,
    execution?: Partial<ExecutionSettings>,
  ) {
    this.simulator = new LstmSimulator(architecture, weights, batchRowsOf(execution));
  }

  simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    return this.simulator.simulate(requests, rng, signal);
  }

  /** Row t: logits of every user after users 0..t (the whole prefix read again), infected users -Infinity. */
  async nextUserScores(cascade: number[]): Promise<Float32Array[]> {
    const U = this.architecture.numUsers;
    if (cascade.length < 2) return [];
    const prefix = cascade.slice(0, cascade.length - 1);
    const logits = tf.tidy(() => this.simulator.network.maskedLogits(tf.tensor2d(prefix, [1, prefix.length], 'int32')));
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    const rows: Float32Array[] = [];
    for (let t = 0; t < prefix.length; t++) {
      const row = values.slice(t * U, (t + 1) * U);
      for (let v = 0; v < U; v++) if (row[v] <= MASKED_LOGIT / 2) row[v] = -Infinity;
      rows.push(row);
    }
    return rows;
  }

  summaryMetrics(): Record<string, number> {
    return { parameters: this.simulator.network.parameterCount() + this.simulator.network.cell.parameterCount() };
  }

  async save(dir: string): Promise<void> {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, v] of Object.entries(this.simulator.network.allWeights())) tensors[name] = tf.tensor(this.weights[name], v.shape);
    try {
      await saveCheckpoint(join(dir, CHECKPOINT_FILE), tensors, { format: METADATA_FORMAT, version: METADATA_VERSION, architecture: this.architecture, hyperparameters: this.hyperparameters });
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }

  dispose(): void {
    this.simulator.dispose();
  }
}

/** Reads a model written by {@link LstmModel.save}. */
export async function loadLstmModel(dir: string, execution?: Partial<ExecutionSettings>): Promise<LstmModel> {
  const file = join(dir, CHECKPOINT_FILE);
  return loadingModel(file, async () => {
    const { tensors, metadata } = await loadCheckpoint(file);
    try {
      if (!metadata || metadata.format !== METADATA_FORMAT || metadata.version !== METADATA_VERSION) {
        throw new DataFormatError({ file }, `not an lstm model of version ${METADATA_VERSION} (metadata ${JSON.stringify(metadata?.format)} v${JSON.stringify(metadata?.version)})`);
      }
      const hp = lstmHyperparameters.parse(metadata.hyperparameters);
      const architecture = metadata.architecture as LstmArchitecture;
      if (architecture.embeddingSize !== hp.embeddingSize || architecture.hiddenSize !== hp.hiddenSize) throw new DataFormatError({ file }, 'architecture and hyperparameters disagree on the sizes');
      const weights: Record<string, Float32Array> = {};
      for (const [name, t] of Object.entries(tensors)) weights[name] = (t.dataSync() as Float32Array).slice();
      return new LstmModel(architecture, hp, weights, execution);
    } finally {
      tf.dispose(Object.values(tensors));
    }
  });
}

/** Trains the LSTM baseline (NDM paper §5.1) and returns the model. */
export async function trainLstm(data: MicroscopicDataset, hp: LstmHyperparameters, context: TrainContext): Promise<LstmModel> {
  const architecture: LstmArchitecture = { numUsers: data.users.size, embeddingSize: hp.embeddingSize, hiddenSize: hp.hiddenSize };
  // Cascades of one user give only a `</s>` target; as NDM, train on those with two or more.
  const train = data.train.filter((c) => c.events.length >= 2);
  const validation = data.validation.filter((c) => c.events.length >= 2);
  if (train.length === 0) throw new CascadeError('DATA_FORMAT', `lstm: dataset "${data.name}" has no training cascade with two or more users`);
  if (validation.length === 0) context.logger.warn(`lstm: no validation cascades; training ${hp.maxEpochs} epochs, last weights kept`);
  const network = new LstmNetwork(architecture, context.rng.derive('init'));
  let weights: Record<string, Float32Array>;
  try {
    const r = await fitLstm(network, hp, train, validation, context.rng.derive('train'), context, batchRowsOf(context.execution));
    context.logger.info(`lstm: trained ${r.epochs} epochs${r.stoppedEarly ? ' (stopped early)' : ''}, kept epoch ${r.bestEpoch}, ${r.targetsPerSecond.toFixed(0)} targets/s`);
    weights = network.readWeights();
  } finally {
    network.dispose();
  }
  return new LstmModel(architecture, hp, weights, context.execution);
}

export const lstmPlugin: MicroscopicPlugin<LstmHyperparameters> = {
  name: 'lstm',
  task: 'microscopic',
  // Sampling runs as tensor ops in the calling process: the runner evaluates in execution.workers processes.
  inProcessSimulation: true,
  description: 'LSTM baseline (NDM paper §5.1): an LSTM over the users infected so far, softmax over users (and </s>) for the next one.',
  reference: 'Yang et al., Neural Diffusion Model for Microscopic Cascade Study, IEEE TKDE 2019, §5.1 (baseline LSTM)',
  hyperparameters: lstmHyperparameters,
  train: trainLstm,
  async load(dir, context) {
    return loadLstmModel(dir, context.execution);
  },
};
