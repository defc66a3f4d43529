/**
 * Stochastic EM for Embedded IC (see model.ts): one pass over the training cascades per epoch, in
 * a seeded random order; per cascade, the E-step posteriors at the current parameters, sampled
 * never-infected users, and one Adagrad step on the rows the cascade touches (sparse: the cost of a
 * cascade of m users with k negatives is O((m^2 / 2 + m k) d), never numUsers^2).
 *
 * Epoch loop: the shared `fit` of @cascade-lab/training: the monitor is the mean validation
 * log-likelihood (`validation.logLikelihood`, higher is better), early stopping with `patience`,
 * the best epoch's parameters restored, one derived random stream per epoch (`epoch:<e>`: the
 * cascade order and the sampled negatives), cancellation between cascades.
 */
import type { Logger, MetricLogger, ProgressReporter, Rng } from '@cascade-lab/core';
import { evaluateMicroscopic } from '@cascade-lab/evaluation';
import { fit, type FitResult, type Monitor } from '@cascade-lab/training';
import {
  cascadeLogLikelihood,
  initialParameters,
  LikelihoodScratch,
  sampleNegatives,
  zeroGradient,
  type EmbeddedIcGradient,
  type EmbeddedIcParameters,
  type ParentRule,
} from './model.js';

export interface TrainOptions {
  dimension: number;
  learningRate: number;
  maxEpochs: number;
  patience: number;
  negativeSamples: number;
  /**
   * Factor on the never-infected term of the objective (1: the likelihood itself). Below 1 the
   * objective is a weighted likelihood that counts the evidence of the users who stayed uninfected
   * less; the validation monitor uses the same objective.
   */
  negativeWeight?: number;
  /** Candidate parents of an infected user (model.ts `ParentRule`); default: every earlier user. */
  parents?: ParentRule;
  rng: Rng;
  signal?: AbortSignal;
  progress?: ProgressReporter;
  metrics?: MetricLogger;
  logger?: Logger;
  /** Metric scope of the loop (`retrain`: keys train.retrain.*). */
  scope?: string;
  /**
   * What chooses the kept epoch and stops training: the mean validation log-likelihood (default), or
   * the shared protocol's Macro-F1 / Micro-F1 on the validation cascades from `monitorSimulations`
   * IC simulations each (fixed stream, so epochs are compared on the same draws).
   */
  monitor?: 'logLikelihood' | 'macroF1' | 'microF1';
  monitorSimulations?: number;
  /** Builds the simulator of the current parameters for the F1 monitors. */
  simulator?: (p: EmbeddedIcParameters) => { simulate: import('@cascade-lab/core').InfectionSimulator['simulate']; dispose(): void };
}

export interface TrainResult {
  parameters: EmbeddedIcParameters;
  fit: FitResult;
  /** Infected-user predecessor pairs plus (cascade user, negative) pairs visited per epoch. */
  pairsPerEpoch: number;
}

/** Adagrad state and the per-cascade sparse update. */
class SparseAdagrad {
  private readonly accSenders: Float64Array;
  private readonly accReceivers: Float64Array;
  private readonly accBias: Float64Array;
  constructor(
    private readonly p: EmbeddedIcParameters,
    private readonly rate: number,
  ) {
    this.accSenders = new Float64Array(p.senders.length);
    this.accReceivers = new Float64Array(p.receivers.length);
    this.accBias = new Float64Array(p.receiverBias.length);
  }

  /** Ascent step on the rows in `rows` (each at most once), then zeroes their gradient. */
  step(grad: EmbeddedIcGradient, rows: ArrayLike<number>): void {
    const d = this.p.dimension;
    const eps = 1e-10;
    const apply = (theta: Float64Array, acc: Float64Array, g: Float64Array, from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const gi = g[i];
        if (gi === 0) continue;
        acc[i] += gi * gi;
        theta[i] += (this.rate * gi) / (Math.sqrt(acc[i]) + eps);
        g[i] = 0;
      }
    };
    for (let r = 0; r < rows.length; r++) {
      const u = rows[r];
      apply(this.p.senders, this.accSenders, grad.senders, u * d, u * d + d);
      apply(this.p.receivers, this.accReceivers, grad.receivers, u * d, u * d + d);
      apply(this.p.receiverBias, this.accBias, grad.receiverBias, u, u + 1);
    }
  }
}

function copyParameters(p: EmbeddedIcParameters): EmbeddedIcParameters {
  return { numUsers: p.numUsers, dimension: p.dimension, senders: p.senders.slice(), receivers: p.receivers.slice(), receiverBias: p.receiverBias.slice() };
}

/** Mean log-likelihood per cascade with the given (fixed) negatives. */
export function meanLogLikelihood(p: EmbeddedIcParameters, cascades: Int32Array[], negatives: { negatives: Int32Array; weight: number }[], parents?: ParentRule): number {
  if (cascades.length === 0) return NaN;
  const scratch = new LikelihoodScratch();
  let sum = 0;
  for (let c = 0; c < cascades.length; c++) {
    const r = cascadeLogLikelihood(p, cascades[c], negatives[c].negatives, negatives[c].weight, undefined, scratch, parents);
    sum += r.infected + r.escaped;
  }
  return sum / cascades.length;
}

/** Negatives for every cascade from one stream (fixed for the validation monitor). */
export function negativesFor(numUsers: number, cascades: Int32Array[], count: number, rng: Rng): { negatives: Int32Array; weight: number }[] {
  const stamp = new Int32Array(numUsers);
  return cascades.map((users, c) => sampleNegatives(numUsers, users, count, rng, stamp, c + 1));
}

export async function trainEmbeddedIc(numUsers: number, train: Int32Array[], validation: Int32Array[], o: TrainOptions): Promise<TrainResult> {
  const p = initialParameters(numUsers, o.dimension, o.rng.derive('init'));
  const grad = zeroGradient(p);
  const optimizer = new SparseAdagrad(p, o.learningRate);
  const scratch = new LikelihoodScratch();
  const stamp = new Int32Array(numUsers);
  let mark = 0;
  // Fixed for the whole run, so the monitor compares epochs on the same estimate.
  const negativeWeight = o.negativeWeight ?? 1;
  const validationNegatives = negativesFor(numUsers, validation, o.negativeSamples, o.rng.derive('validation-negatives')).map((n) => ({ negatives: n.negatives, weight: n.weight * negativeWeight }));
  const rowsMark = new Int32Array(numUsers);
  const rows = new Int32Array(numUsers);
  let rowCounter = 0;
  let pairs = 0;
  const usable = train.filter((users) => users.length >= 2);

  const monitors: Monitor[] = [{ name: 'logLikelihood', direction: 'max', evaluate: () => meanLogLikelihood(p, validation, validationNegatives, o.parents) }];
  if (o.monitor === 'macroF1' || o.monitor === 'microF1') {
    if (!o.simulator) throw new Error('trainEmbeddedIc: an F1 monitor needs options.simulator');
    const validationCascades = validation.map((users, i) => ({ id: `validation:${i}`, events: Array.from(users, (user, time) => ({ user, time })) }));
    const simulations = o.monitorSimulations ?? 100;
    const build = o.simulator;
    monitors.push({
      name: o.monitor,
      direction: 'max',
      evaluate: async () => {
        const model = build(p);
        try {
          const r = await evaluateMicroscopic(model, validationCascades, { rng: o.rng.derive('validation-simulations'), simulations, signal: o.signal });
          const also = { macroF1: r.macroF1, microF1: r.microF1, earlyMacroF1: r.earlyMacroF1, earlyMicroF1: r.earlyMicroF1 };
          delete (also as Record<string, number>)[o.monitor!];
          return { value: o.monitor === 'macroF1' ? r.macroF1 : r.microF1, also };
        } finally {
          model.dispose();
        }
      },
    });
  }
  const result = await fit<Int32Array, EmbeddedIcParameters>({
    name: 'embedded-ic',
    epochs: o.maxEpochs,
    rng: o.rng,
    plan: (epoch) => {
      const rng = epoch.rng;
      const order = rng.shuffle(usable.slice());
      pairs = 0;
      return {
        batches: order,
        step: (users) => {
          mark = mark >= 0x3fffffff ? (stamp.fill(0), 1) : mark + 1;
          const sampled = sampleNegatives(numUsers, users, o.negativeSamples, rng, stamp, mark);
          const negatives = sampled.negatives;
          const weight = sampled.weight * negativeWeight;
          const r = cascadeLogLikelihood(p, users, negatives, weight, grad, scratch, o.parents);
          pairs += (users.length * (users.length - 1)) / 2 + users.length * negatives.length;
          // The rows with a gradient: the cascade's users and its negatives (distinct).
          let nRows = 0;
          const rowStamp = (rowCounter = rowCounter === 0x7fffffff ? (rowsMark.fill(0), 1) : rowCounter + 1);
          for (let i = 0; i < users.length; i++) if (rowsMark[users[i]] !== rowStamp) ((rowsMark[users[i]] = rowStamp), (rows[nRows++] = users[i]));
          for (let i = 0; i < negatives.length; i++) if (rowsMark[negatives[i]] !== rowStamp) ((rowsMark[negatives[i]] = rowStamp), (rows[nRows++] = negatives[i]));
          optimizer.step(grad, rows.subarray(0, nRows));
          // train.loss: the mean negative log-likelihood per cascade (sampled negatives).
          return { loss: -(r.infected + r.escaped), weight: 1 };
        },
      };
    },
    monitors: validation.length > 0 ? monitors : [],
    select: validation.length > 0 ? (o.monitor ?? 'logLikelihood') : null,
    patience: o.patience,
    weights: {
      snapshot: () => copyParameters(p),
      restore: (s) => {
        p.senders.set(s.senders);
        p.receivers.set(s.receivers);
        p.receiverBias.set(s.receiverBias);
      },
    },
    context: { signal: o.signal, progress: o.progress, metrics: o.metrics, logger: o.logger },
    scope: o.scope,
    nonFiniteHint: 'lower learningRate',
  });
  return { parameters: p, fit: result, pairsPerEpoch: pairs };
}
