import { END_USER, type Cascade, type ExecutionSettings, type GradientMode, type Rng, type TrainContext } from '@cascade-lab/core';
import { padCascades, planBatches } from '@cascade-lab/data';
import { rankingMetrics, targetRank } from '@cascade-lab/metrics';
import { simulatedF1Monitor } from '@cascade-lab/evaluation';
import { Adam, fit as fitLoop, noamSchedule, type EpochPlan, type EpochReport as LoopEpochReport, type Monitor } from '@cascade-lab/training';
import { ndmExecution, type NdmHyperparameters } from './hyperparameters.js';
import { NdmSimulator } from './simulator.js';
import { ManualGradients, manualGradientsSupported, type LossAndGradients, type StepPlan } from './manual-gradients.js';
import { keepFlags } from './dropout-flags.js';
import { DropoutThread, keepFlagsOf } from './dropout-thread.js';
import { NdmNetwork, nextUserTargets, weightedCrossEntropySum, type SequenceBatch, type Targets } from './model.js';
import { tf, type Tensor } from './tf.js';
import type { NdmArchitecture, NdmWeights } from './weights.js';

/** Largest attention tensor (rows x heads x L x L) and logit tensor (rows x L x |U|) of one pass. */
const MAX_ATTENTION_CELLS = 1 << 22;
const MAX_LOGIT_CELLS = 1 << 23;

/** Ranking cut-offs logged for validation (hits@k, MAP@k). */
export const RANKING_KS = [1, 10, 50, 100] as const;

/** A ranking metric's name in the metric key style: `hits@10` -> `hitsAt10`, `map@10` -> `mapAt10`. */
export function metricKey(name: string): string {
  return name.replace('@', 'At');
}

/** Cascades the model can learn from: at least two users (authors' code drops shorter ones). */
export function trainableCascades(cascades: readonly Cascade[]): Cascade[] {
  return cascades.filter((c) => c.events.length >= 2);
}

/** Cascades as a padded batch without the appended `</s>` (the targets add it). */
export function cascadeBatch(cascades: readonly Cascade[]): SequenceBatch {
  return padCascades(cascades, { appendEnd: false });
}

/** Fixed cost of one sub-batch (kernel launches), in padded positions. */
const SUB_BATCH_OVERHEAD = 256;

/**
 * Splits a batch into sub-batches of similar length (sorted, then cut where it saves padding):
 * minimises sum over sub-batches of rows * longest + SUB_BATCH_OVERHEAD by dynamic programming. The
 * gradient of the batch is the sum of the sub-batches' gradients, so the split changes the cost of
 * a step, not its result.
 */
export function lengthSortedSubBatches(cascades: readonly Cascade[]): Cascade[][] {
  const sorted = cascades.slice().sort((a, b) => a.events.length - b.events.length);
  const n = sorted.length;
  const best = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let end = 1; end <= n; end++) {
    const longest = sorted[end - 1].events.length;
    for (let start = 0; start < end; start++) {
      const cost = best[start] + (end - start) * longest + SUB_BATCH_OVERHEAD;
      if (cost < best[end]) {
        best[end] = cost;
        cut[end] = start;
      }
    }
  }
  const groups: Cascade[][] = [];
  for (let end = n; end > 0; end = cut[end]) groups.unshift(sorted.slice(cut[end], end));
  return groups;
}

/**
 * Splits a batch into row groups small enough for memory: attention costs rows * h * L^2 floats
 * and the logits rows * L * |U|. The gradient of the whole batch is the sum over the groups.
 */
export function memoryChunks(batch: SequenceBatch, heads: number, numUsers: number): SequenceBatch[] {
  const L = batch.maxLength;
  const perRow = Math.max(heads * L * L / MAX_ATTENTION_CELLS, (L * numUsers) / MAX_LOGIT_CELLS);
  const rowsPerChunk = Math.max(1, Math.floor(1 / perRow));
  if (rowsPerChunk >= batch.batchSize) return [batch];
  const out: SequenceBatch[] = [];
  for (let start = 0; start < batch.batchSize; start += rowsPerChunk) {
    const end = Math.min(batch.batchSize, start + rowsPerChunk);
    let width = 0;
    for (let b = start; b < end; b++) width = Math.max(width, batch.lengths[b]);
    const users = new Int32Array((end - start) * width);
    for (let b = start; b < end; b++) users.set(batch.users.subarray(b * L, b * L + width), (b - start) * width);
    out.push({ users, batchSize: end - start, maxLength: width, lengths: batch.lengths.slice(start, end) });
  }
  return out;
}

export interface ValidationResult {
  /** Mean negative log-likelihood per trained target (Eq. 8 negated, averaged). */
  loss: number;
  /** hits@k and MAP@k of the true next (real) user given the true prefix. */
  ranking: Record<string, number>;
  targets: number;
}

/**
 * Loss and gradients as `manualLossAndGradients` returns them, by TensorFlow.js' tape (autodiff of
 * `maskedLogits` + `weightedCrossEntropySum`): every architecture, over twice the kernel
 * calls. Chunks without a trained target are skipped.
 */
export function tapeLossAndGradients(network: NdmNetwork, chunks: readonly SequenceBatch[], targets: readonly Targets[], total: number, rng: Rng): LossAndGradients {
  const variables = network.trainableVariables();
  let grads: Record<string, Tensor> | null = null;
  let lossSum = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (targets[i].count === 0) continue;
    const { value, grads: g } = tf.variableGrads(
      () => tf.div(weightedCrossEntropySum(network.maskedLogits(chunks[i], { training: true, rng }), targets[i]), total) as tf.Scalar,
      variables,
    );
    lossSum += (value.dataSync()[0] as number) * total;
    value.dispose();
    if (grads === null) {
      grads = g;
    } else {
      const acc: Record<string, Tensor> = grads;
      for (const name of Object.keys(g)) {
        const sum = tf.add(acc[name], g[name]);
        acc[name].dispose();
        g[name].dispose();
        acc[name] = sum;
      }
    }
  }
  return { lossSum, grads: grads ?? {} };
}

export interface NdmTrainerOptions {
  /**
   * Make each step's dropout keep flags on a worker thread while the previous step runs (default
   * true; the same flags either way). Only with manual gradients and dropout.
   */
  dropoutThread?: boolean;
}

/** Gradient descent on the mean next-user cross-entropy (Eq. 8) with Adam. */
export class NdmTrainer {
  readonly optimizer: Adam;
  /** The hand-written backward pass (compiled per batch layout on tensorflow); null with the tape. */
  readonly manual: ManualGradients | null;

  /** Makes the dropout keep flags of the next step while this one runs (manual gradients with dropout); null otherwise. */
  readonly dropoutThread: DropoutThread | null;

  constructor(
    readonly network: NdmNetwork,
    readonly hp: NdmHyperparameters,
    /** An execution setting (same result either way, see ndmExecution). */
    readonly gradients: GradientMode = 'manual',
    options: NdmTrainerOptions = {},
  ) {
    const learningRate = hp.learningRateSchedule === 'noam' ? noamSchedule(hp.dimension, hp.warmupSteps) : hp.learningRate;
    this.optimizer = new Adam({ beta1: hp.adamBeta1, beta2: hp.adamBeta2, epsilon: hp.adamEpsilon, learningRate, name: 'ndm Adam update' });
    this.manual = gradients === 'manual' && manualGradientsSupported(network.architecture) ? new ManualGradients(network) : null;
    this.dropoutThread = this.manual && network.architecture.dropout > 0 && (options.dropoutThread ?? true) ? new DropoutThread() : null;
  }

  /** A batch as the step computes it: length-sorted sub-batches, each cut to the memory caps, and their targets. */
  private chunksOf(batch: SequenceBatch | SequenceBatch[]): { chunks: SequenceBatch[]; targets: Targets[]; total: number } {
    const { heads, numUsers } = this.network.architecture;
    const chunks = (Array.isArray(batch) ? batch : [batch]).flatMap((b) => memoryChunks(b, heads, numUsers));
    const targets = chunks.map((c) => nextUserTargets(c, this.hp.learnEnd));
    return { chunks, targets, total: targets.reduce((s, t) => s + t.count, 0) };
  }

  /** The gradient is that of (summed loss / divisor): the batch mean, or the sum (authors' code). */
  private divisor(total: number): number {
    return this.hp.lossReduction === 'sum' ? 1 : total;
  }

  private apply(grads: Record<string, Tensor>): void {
    this.optimizer.applyGradients(this.network.trainableVariables(), grads);
    for (const t of Object.values(grads)) t.dispose();
  }

  /**
   * One Adam update on a batch: returns the summed loss and the number of targets. A batch without
   * any trained target is skipped (no update).
   */
  step(batch: SequenceBatch | SequenceBatch[], rng: Rng): { lossSum: number; targets: number } {
    const { chunks, targets, total } = this.chunksOf(batch);
    if (total === 0) return { lossSum: 0, targets: 0 };
    const divisor = this.divisor(total);
    const r = this.manual ? this.manual.compute(chunks, targets, divisor, rng) : tapeLossAndGradients(this.network, chunks, targets, divisor, rng);
    this.apply(r.grads);
    return { lossSum: r.lossSum, targets: total };
  }

  /**
   * One epoch over the cascades in random (or bucketed) batches, drawn from the epoch's stream:
   * `batches` orders them, `dropout` draws every step's dropout masks in turn.
   */
  plan(cascades: readonly Cascade[], rng: Rng): EpochPlan<number[]> {
    const lengths = Int32Array.from(cascades, (c) => c.events.length);
    const batches = planBatches(lengths, { batchSize: this.hp.batchSize, bucketing: this.hp.batchOrder === 'bucketed' ? 'sorted' : 'none', rng: rng.derive('batches') });
    const dropout = rng.derive('dropout');
    const subBatches = (rows: readonly number[]) => lengthSortedSubBatches(rows.map((i) => cascades[i])).map(cascadeBatch);
    const manual = this.manual;
    if (!manual) {
      return {
        batches,
        step: (rows) => {
          const r = this.step(subBatches(rows), dropout);
          return { loss: r.lossSum, weight: r.targets };
        },
      };
    }
    // Manual gradients: batch i + 1 is planned (its dropout seeds drawn, in the same order as one
    // step at a time) when step i starts, and its keep flags are made on the dropout thread while
    // step i runs here.
    this.dropoutThread?.start();
    const thread = this.dropoutThread;
    type Prepared = { index: number; plan: StepPlan | null; targets: number; flags: Promise<Uint8Array[]> | Uint8Array[] };
    const prepare = (index: number): Prepared => {
      const { chunks, targets, total } = this.chunksOf(subBatches(batches[index]));
      if (total === 0) return { index, plan: null, targets: 0, flags: [] };
      const plan = manual.plan(chunks, targets, this.divisor(total), dropout);
      return { index, plan, targets: total, flags: keepFlagsOf(plan.jobs, thread) };
    };
    let ahead: Prepared | null = null; // the next step, planned while this one runs
    return {
      batches,
      step: async (_rows, i) => {
        const current = ahead?.index === i ? ahead : prepare(i);
        ahead = i + 1 < batches.length ? prepare(i + 1) : null;
        if (!current.plan) return { loss: 0, weight: 0 };
        const plan = current.plan;
        // The same flags whichever thread makes them: if the thread failed, make them here.
        const flags = await Promise.resolve(current.flags).catch(() => plan.jobs.map(keepFlags));
        const r = manual.run(plan, flags);
        this.apply(r.grads);
        return { loss: r.lossSum, weight: current.targets };
      },
    };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.manual?.dispose();
    void this.dropoutThread?.close();
  }
}

/**
 * Next-user loss and ranking of held-out cascades with the true prefix (no dropout). Ranking counts
 * only real users as targets (not `</s>`); infected users and padding are masked.
 */
export function validate(network: NdmNetwork, cascades: readonly Cascade[], learnEnd: boolean, batchSize = 64): ValidationResult {
  const ranks: number[] = [];
  let lossSum = 0;
  let count = 0;
  const U = network.architecture.numUsers;
  for (let start = 0; start < cascades.length; start += batchSize) {
    const batch = cascadeBatch(cascades.slice(start, start + batchSize));
    for (const chunk of memoryChunks(batch, network.architecture.heads, U)) {
      const targets = nextUserTargets(chunk, learnEnd);
      const logits = tf.tidy(() => network.maskedLogits(chunk, { training: false }));
      const values = logits.dataSync() as Float32Array;
      if (targets.count > 0) {
        const l = tf.tidy(() => weightedCrossEntropySum(logits, targets));
        lossSum += l.dataSync()[0];
        l.dispose();
        count += targets.count;
      }
      logits.dispose();
      for (let row = 0; row < targets.users.length; row++) {
        const target = targets.users[row];
        if (targets.weights[row] === 0 || target === END_USER) continue;
        ranks.push(targetRank(values.subarray(row * U, (row + 1) * U), target));
      }
    }
  }
  return { loss: count > 0 ? lossSum / count : Number.NaN, ranking: ranks.length > 0 ? rankingMetrics(ranks, RANKING_KS) : {}, targets: count };
}

/** Early-stopping metrics computed by simulating the validation cascades (the task's own protocol). */
export const SIMULATED_SELECTIONS = ['macroF1', 'earlyMacroF1', 'meanMacroF1'] as const;
type SimulatedSelection = (typeof SIMULATED_SELECTIONS)[number];

export function isSimulatedSelection(metric: NdmHyperparameters['earlyStoppingMetric']): metric is SimulatedSelection {
  return (SIMULATED_SELECTIONS as readonly string[]).includes(metric);
}

/** The validation monitor's name for an early-stopping metric (metric key style). */
export function monitorName(metric: Exclude<NdmHyperparameters['earlyStoppingMetric'], 'none' | SimulatedSelection>): string {
  return metric === 'loss' ? 'loss' : metricKey(metric);
}

/**
 * The validation pass as one monitor of the training loop: the value is the early-stopping metric
 * (the loss, lower is better; a ranking metric, higher is better), the rest of the pass (loss,
 * hits@k, MAP@k) comes along as companions.
 */
export function validationMonitor(network: NdmNetwork, validation: readonly Cascade[], hp: NdmHyperparameters): Monitor {
  const name = monitorName(hp.earlyStoppingMetric === 'none' || isSimulatedSelection(hp.earlyStoppingMetric) ? 'loss' : hp.earlyStoppingMetric);
  return {
    name,
    direction: name === 'loss' ? 'min' : 'max',
    evaluate: () => {
      const v = validate(network, validation, hp.learnEnd);
      // loss, hits@10 and MAP@10 first: the loop's log line shows the first few.
      const all: Record<string, number> = { loss: v.loss, hitsAt10: Number.NaN, mapAt10: Number.NaN };
      for (const [k, x] of Object.entries(v.ranking)) all[metricKey(k)] = x;
      if (v.ranking['hits@10'] === undefined) delete all.hitsAt10;
      if (v.ranking['map@10'] === undefined) delete all.mapAt10;
      const { [name]: value, ...also } = all;
      return { value: value ?? Number.NaN, also };
    },
  };
}

export interface FitResult {
  /** Epochs trained in the run that produced the kept weights. */
  epochs: number;
  /** Epoch (1-based) whose weights were kept. */
  bestEpoch: number;
  /** Validation values of the kept epoch by key (`loss`, `hitsAt10`, ...), when one was selected. */
  best?: Record<string, number>;
  stoppedEarly: boolean;
  /** Trained targets per second over all epochs. */
  tokensPerSecond: number;
}

/** What fit() reports at the end of each epoch: the loop's report and the next step's learning rate. */
export interface EpochReport extends LoopEpochReport {
  learningRate: number;
}

/**
 * Trains for up to `epochs` epochs (default `maxEpochs`) with the shared training loop; with
 * validation cascades, keeps the weights of the best validation epoch and stops after `patience`
 * epochs without improvement (0: never stops early). Epoch e draws from
 * `rng.derive('epoch:<e>')`. `scope` names a second stage in the metric keys (`retrain`).
 */
export async function fit(
  network: NdmNetwork,
  hp: NdmHyperparameters,
  train: readonly Cascade[],
  validation: readonly Cascade[],
  rng: Rng,
  context: Partial<Pick<TrainContext, 'signal' | 'progress' | 'metrics' | 'logger'>> & { execution?: Partial<ExecutionSettings> },
  onEpoch: (report: EpochReport) => void,
  epochs = hp.maxEpochs,
  scope?: string,
): Promise<FitResult> {
  const execution = ndmExecution(context.execution);
  // One worker thread makes the dropout flags unless the run asked for a single thread.
  const trainer = new NdmTrainer(network, hp, execution.gradients, { dropoutThread: (context.execution?.workers ?? 2) > 1 });
  const monitors: Monitor[] = validation.length > 0 ? [validationMonitor(network, validation, hp)] : [];
  if (validation.length > 0 && isSimulatedSelection(hp.earlyStoppingMetric)) {
    // Model selection by the task (issue 15): the microscopic protocol on the validation split with
    // the simulator of the epoch's weights, its own simulation count and seed stream. It goes first,
    // so the loop selects by it; the loss / ranking pass stays as a second monitor.
    monitors.unshift(
      simulatedF1Monitor({
        cascades: validation,
        simulations: hp.selectionSimulations,
        seed: rng.derive('selection'),
        select: hp.earlyStoppingMetric,
        every: hp.selectionEvery,
        simulator: () => new NdmSimulator(network.architecture, network.readWeights(), execution.simulationBatchRows),
      }),
    );
  }
  try {
    const r = await fitLoop({
      name: 'ndm',
      epochs,
      rng,
      plan: (info) => trainer.plan(train, info.rng),
      monitors,
      select: hp.earlyStoppingMetric === 'none' || monitors.length === 0 ? null : monitors[0].name,
      patience: hp.patience,
      weights: { snapshot: () => network.readWeights(), restore: (w) => network.assignWeights(w) },
      context,
      scope,
      nonFiniteHint: 'lower the learning rate (learningRate, or a longer warmupSteps with the Noam schedule)',
      onEpoch: (report) => onEpoch({ ...report, learningRate: trainer.optimizer.learningRate() }),
    });
    return { epochs: r.epochs, bestEpoch: r.bestEpoch, best: r.best, stoppedEarly: r.stoppedEarly, tokensPerSecond: r.seconds > 0 ? r.weight / r.seconds : 0 };
  } finally {
    trainer.dispose();
  }
}

export type { NdmArchitecture };
