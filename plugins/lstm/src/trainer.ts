import type { Cascade, Rng, TrainContext } from '@cascade-lab/core';
import { simulatedF1Monitor } from '@cascade-lab/evaluation';
import { planBatches } from '@cascade-lab/data';
import { GraphFunction, gridSize, tf } from '@cascade-lab/tensor-ops';
import { Adam, fit as fitLoop, type EpochPlan, type Monitor } from '@cascade-lab/training';
import type { LstmHyperparameters } from './hyperparameters.js';
import { chunkTensors, griddedChunk, LOSS_ROW_STEPS, type LstmNetwork, type RowGroup, type TrainingChunk } from './network.js';
import { LstmSimulator } from './simulator.js';

/** Largest logit tensor (rows x length x users) of one compiled pass; more rows go to another chunk. */
const MAX_LOGIT_CELLS = 1 << 23;

/** Cascades as user lists (infection order). */
export function userLists(cascades: readonly Cascade[]): number[][] {
  return cascades.map((c) => c.events.map((e) => e.user));
}

/**
 * Splits a batch into chunks small enough for memory (rows x longest x users at most
 * MAX_LOGIT_CELLS), longest cascades together. One chunk is the rule: an unrolled LSTM costs one
 * step per position whatever the rows, so splitting by length would add steps, and every chunk
 * shape is a compiled graph. The gradient of the batch is the sum of the chunks' gradients.
 */
export function lengthChunks(lists: readonly (readonly number[])[], numUsers: number): (readonly number[])[][] {
  const sorted = lists.slice().sort((a, b) => b.length - a.length);
  const groups: (readonly number[])[][] = [];
  for (let s = 0; s < sorted.length; ) {
    const rows = Math.max(1, Math.floor(MAX_LOGIT_CELLS / (gridSize(Math.max(1, sorted[s].length)) * numUsers)));
    groups.push(sorted.slice(s, s + rows));
    s += rows;
  }
  return groups;
}

/**
 * The loss of one chunk and its gradients, as one TensorFlow graph per chunk shape and row groups
 * on the tensorflow backend (eager elsewhere): a pure function of the chunk's tensors and the
 * divisor, the weights captured; the row groups are part of the graph (its key).
 */
export class LossAndGradients {
  readonly graph: GraphFunction;
  /** The loss alone (validation). */
  readonly lossGraph: GraphFunction;
  /** The row groups of the chunk being run (read while a graph is traced; the call's key names them). */
  private groups: readonly RowGroup[] = [];
  constructor(readonly network: LstmNetwork, options: { eager?: boolean } = {}) {
    const variables = network.trainableVariables();
    const loss = ([users, positions, targets, weights, maskIndices, divisor]: tf.Tensor[]) =>
      network.loss(users as tf.Tensor2D, positions as tf.Tensor1D, targets as tf.Tensor1D, weights as tf.Tensor1D, maskIndices as tf.Tensor2D, divisor as tf.Scalar, this.groups);
    this.lossGraph = new GraphFunction(
      (inputs) => [loss(inputs)],
      { name: 'lstm validation chunk', captureExternal: true, eager: options.eager },
    );
    this.graph = new GraphFunction(
      (inputs) => {
        const { value, grads } = tf.variableGrads(() => loss(inputs), variables);
        return [value, ...variables.map((v) => grads[v.name])];
      },
      { name: 'lstm training chunk', captureExternal: true, eager: options.eager },
    );
  }

  /** Summed loss / divisor of a chunk, no gradients. */
  loss(chunk: TrainingChunk, divisor: number): number {
    const inputs = chunkTensors(chunk, divisor);
    this.groups = chunk.groups;
    try {
      const [value] = this.lossGraph.call(inputs, groupsKey(chunk.groups));
      const loss = value.dataSync()[0];
      value.dispose();
      return loss;
    } finally {
      tf.dispose(inputs);
    }
  }

  /** Summed loss / divisor and the gradients by variable name (the caller disposes them). */
  compute(chunk: TrainingChunk, divisor: number): { loss: number; grads: Record<string, tf.Tensor> } {
    const variables = this.network.trainableVariables();
    const inputs = chunkTensors(chunk, divisor);
    this.groups = chunk.groups;
    try {
      const [value, ...grads] = this.graph.call(inputs, groupsKey(chunk.groups));
      const loss = value.dataSync()[0];
      value.dispose();
      return { loss, grads: Object.fromEntries(variables.map((v, i) => [v.name, grads[i]])) };
    } finally {
      tf.dispose(inputs);
    }
  }
}

/** A graph key for row groups: rows x length of each. */
export function groupsKey(groups: readonly RowGroup[]): string {
  return groups.map((g) => `${g.rows}x${g.length}`).join('+');
}

/** Adam on the mean next-user cross-entropy of each batch. */
export class LstmTrainer {
  readonly optimizer: Adam;
  readonly lossAndGradients: LossAndGradients;

  /** Whether chunks are cut into row groups (`rowGroups`; false for the benchmark's comparison). */
  readonly rowGroups: boolean;

  /** Loss rows' grid steps per doubling (`griddedChunk`'s `lossRowSteps`). */
  readonly lossRowSteps: number;

  constructor(
    readonly network: LstmNetwork,
    readonly hp: LstmHyperparameters,
    options: { eager?: boolean; rowGroups?: boolean; lossRowSteps?: number } = {},
  ) {
    this.optimizer = new Adam({ learningRate: hp.learningRate, name: 'lstm Adam update' });
    this.lossAndGradients = new LossAndGradients(network, options);
    this.rowGroups = options.rowGroups ?? true;
    this.lossRowSteps = options.lossRowSteps ?? LOSS_ROW_STEPS;
  }

  /** One Adam update on a batch of cascades; returns the summed loss and the number of targets. */
  step(lists: readonly (readonly number[])[]): { lossSum: number; targets: number } {
    const chunks = lengthChunks(lists, this.network.architecture.numUsers).map((g) => griddedChunk(g, this.hp.learnEnd, { rowGroups: this.rowGroups, lossRowSteps: this.lossRowSteps }));
    const total = chunks.reduce((s, c) => s + c.count, 0);
    if (total === 0) return { lossSum: 0, targets: 0 };
    let grads: Record<string, tf.Tensor> | null = null;
    let lossSum = 0;
    for (const chunk of chunks) {
      if (chunk.count === 0) continue;
      const r = this.lossAndGradients.compute(chunk, total);
      lossSum += r.loss * total;
      if (grads === null) grads = r.grads;
      else {
        const acc: Record<string, tf.Tensor> = grads;
        for (const [name, g] of Object.entries(r.grads)) {
          const sum = tf.add(acc[name], g);
          acc[name].dispose();
          g.dispose();
          acc[name] = sum;
        }
      }
    }
    this.optimizer.applyGradients(this.network.trainableVariables(), grads!);
    tf.dispose(Object.values(grads!));
    return { lossSum, targets: total };
  }

  /** One epoch: random batches drawn from the epoch's stream (of similar lengths with `lengthBucketing`). */
  plan(lists: readonly (readonly number[])[], rng: Rng): EpochPlan<number[]> {
    const bucketing = this.hp.lengthBucketing ? 'sorted' : 'none';
    const batches = planBatches(Int32Array.from(lists, (c) => c.length), { batchSize: this.hp.batchSize, bucketing, rng: rng.derive('batches') });
    return {
      batches,
      step: (rows) => {
        const r = this.step(rows.map((i) => lists[i]));
        return { loss: r.lossSum, weight: r.targets };
      },
    };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Mean next-user negative log-likelihood per trained target of held-out cascades (true prefixes). */
export function validationLoss(trainer: LstmTrainer, lists: readonly (readonly number[])[]): number {
  let sum = 0;
  let count = 0;
  const byLength = lists.slice().sort((a, b) => a.length - b.length);
  for (let s = 0; s < byLength.length; s += 32) {
    for (const g of lengthChunks(byLength.slice(s, s + 32), trainer.network.architecture.numUsers)) {
      const chunk = griddedChunk(g, trainer.hp.learnEnd, { rowGroups: trainer.rowGroups, lossRowSteps: trainer.lossRowSteps });
      if (chunk.count === 0) continue;
      sum += trainer.lossAndGradients.loss(chunk, 1);
      count += chunk.count;
    }
  }
  return count > 0 ? sum / count : Number.NaN;
}

export interface FitResult {
  epochs: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  targetsPerSecond: number;
}

/**
 * Trains with the shared loop: the epoch is selected on validation by the next-user loss or by the
 * task itself (the simulated protocol on the validation split, evaluation's simulatedF1Monitor).
 */
export async function fitLstm(
  network: LstmNetwork,
  hp: LstmHyperparameters,
  train: readonly Cascade[],
  validation: readonly Cascade[],
  rng: Rng,
  context: Partial<Pick<TrainContext, 'signal' | 'progress' | 'metrics' | 'logger'>>,
  batchRows: number,
  options: { eager?: boolean } = {},
): Promise<FitResult> {
  const trainer = new LstmTrainer(network, hp, options);
  const trainLists = userLists(train);
  const validationLists = userLists(validation);
  const monitors: Monitor[] = [];
  if (validation.length > 0) {
    monitors.push({ name: 'loss', direction: 'min', evaluate: () => ({ value: validationLoss(trainer, validationLists), also: {} }) });
    if (hp.earlyStoppingMetric !== 'loss' && hp.earlyStoppingMetric !== 'none') {
      monitors.unshift(
        simulatedF1Monitor({
          cascades: validation,
          simulations: hp.selectionSimulations,
          seed: rng.derive('selection'),
          select: hp.earlyStoppingMetric,
          every: hp.selectionEvery,
          simulator: () => new LstmSimulator(network.architecture, network.readWeights(), batchRows),
        }),
      );
    }
  }
  try {
    const r = await fitLoop({
      name: 'lstm',
      epochs: hp.maxEpochs,
      rng,
      plan: (info) => trainer.plan(trainLists, info.rng),
      monitors,
      select: hp.earlyStoppingMetric === 'none' || monitors.length === 0 ? null : monitors[0].name,
      patience: hp.patience,
      weights: { snapshot: () => network.readWeights(), restore: (w) => network.assignWeights(w) },
      context,
      nonFiniteHint: 'lower the learning rate',
    });
    return { epochs: r.epochs, bestEpoch: r.bestEpoch, stoppedEarly: r.stoppedEarly, targetsPerSecond: r.seconds > 0 ? r.weight / r.seconds : 0 };
  } finally {
    trainer.dispose();
  }
}
