/**
 * Stochastic EM for Embedded IC (see model.ts): one pass over the training cascades per epoch, in
 * a seeded random order; per cascade, the E-step posteriors at the current parameters, sampled
 * never-infected users, and one Adagrad step on the rows the cascade touches (sparse: the cost of a
 * cascade of m users with k negatives is O((m^2 / 2 + m k) d), never numUsers^2).
 *
 * Epoch loop: a minimal one (the shared `@cascade-lab/training` loop was not on its branch when this
 * was written): early stopping on the mean validation log-likelihood with `patience`, the best
 * epoch's parameters restored, one derived random stream per epoch, cancellation between cascades.
 */
import { throwIfCancelled, type ProgressReporter, type Rng } from '@cascade-lab/core';
import {
  cascadeLogLikelihood,
  initialParameters,
  LikelihoodScratch,
  sampleNegatives,
  zeroGradient,
  type EmbeddedIcGradient,
  type EmbeddedIcParameters,
} from './model.js';

export interface TrainOptions {
  dimension: number;
  learningRate: number;
  maxEpochs: number;
  patience: number;
  negativeSamples: number;
  rng: Rng;
  signal?: AbortSignal;
  progress?: ProgressReporter;
  /** Called after each epoch (metrics). */
  onEpoch?: (e: EpochReport) => void;
}

export interface EpochReport {
  epoch: number;
  /** Mean training log-likelihood per cascade (sampled negatives, parameters moving during the epoch). */
  trainLogLikelihood: number;
  /** Mean validation log-likelihood per cascade (fixed negatives), NaN without validation cascades. */
  validationLogLikelihood: number;
  seconds: number;
}

export interface TrainResult {
  parameters: EmbeddedIcParameters;
  /** 1-based epoch whose parameters were kept. */
  bestEpoch: number;
  epochs: EpochReport[];
  /** Infected-user predecessor pairs plus (infected user, negative) pairs visited per epoch. */
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
export function meanLogLikelihood(p: EmbeddedIcParameters, cascades: Int32Array[], negatives: { negatives: Int32Array; weight: number }[]): number {
  if (cascades.length === 0) return NaN;
  const scratch = new LikelihoodScratch();
  let sum = 0;
  for (let c = 0; c < cascades.length; c++) {
    const r = cascadeLogLikelihood(p, cascades[c], negatives[c].negatives, negatives[c].weight, undefined, scratch);
    sum += r.infected + r.escaped;
  }
  return sum / cascades.length;
}

/** Negatives for every cascade from one stream (fixed for the validation monitor). */
export function negativesFor(numUsers: number, cascades: Int32Array[], count: number, rng: Rng): { negatives: Int32Array; weight: number }[] {
  const stamp = new Int32Array(numUsers);
  return cascades.map((users, c) => sampleNegatives(numUsers, users, count, rng, stamp, c + 1));
}

export function trainEmbeddedIc(numUsers: number, train: Int32Array[], validation: Int32Array[], o: TrainOptions): TrainResult {
  let p = initialParameters(numUsers, o.dimension, o.rng.derive('init'));
  const grad = zeroGradient(p);
  const optimizer = new SparseAdagrad(p, o.learningRate);
  const scratch = new LikelihoodScratch();
  const stamp = new Int32Array(numUsers);
  let mark = 0;
  const validationNegatives = negativesFor(numUsers, validation, o.negativeSamples, o.rng.derive('validation-negatives'));
  const rowsMark = new Int32Array(numUsers);
  const rows = new Int32Array(numUsers);
  let rowCounter = 0;

  let best = -Infinity;
  let bestEpoch = 0;
  let bestParameters: EmbeddedIcParameters | undefined;
  let sinceBest = 0;
  const epochs: EpochReport[] = [];
  let pairs = 0;
  const order = train.map((_, i) => i);
  const task = o.progress?.start('embedded-ic epochs', o.maxEpochs);
  try {
    for (let epoch = 1; epoch <= o.maxEpochs; epoch++) {
      const t0 = performance.now();
      const rng = o.rng.derive(`epoch:${epoch}`);
      rng.shuffle(order);
      let trainSum = 0;
      pairs = 0;
      for (let n = 0; n < order.length; n++) {
        if ((n & 63) === 0) throwIfCancelled(o.signal);
        const users = train[order[n]];
        if (users.length < 2) continue;
        mark = mark >= 0x3fffffff ? (stamp.fill(0), 1) : mark + 1;
        const { negatives, weight } = sampleNegatives(numUsers, users, o.negativeSamples, rng, stamp, mark);
        const r = cascadeLogLikelihood(p, users, negatives, weight, grad, scratch);
        trainSum += r.infected + r.escaped;
        pairs += (users.length * (users.length - 1)) / 2 + users.length * negatives.length;
        // The rows with a gradient: the cascade's users and its negatives (distinct).
        let nRows = 0;
        const rowStamp = (rowCounter = rowCounter === 0x7fffffff ? (rowsMark.fill(0), 1) : rowCounter + 1);
        for (let i = 0; i < users.length; i++) if (rowsMark[users[i]] !== rowStamp) ((rowsMark[users[i]] = rowStamp), (rows[nRows++] = users[i]));
        for (let i = 0; i < negatives.length; i++) if (rowsMark[negatives[i]] !== rowStamp) ((rowsMark[negatives[i]] = rowStamp), (rows[nRows++] = negatives[i]));
        optimizer.step(grad, rows.subarray(0, nRows));
      }
      const validationLogLikelihood = meanLogLikelihood(p, validation, validationNegatives);
      const report: EpochReport = { epoch, trainLogLikelihood: trainSum / Math.max(1, train.length), validationLogLikelihood, seconds: (performance.now() - t0) / 1000 };
      epochs.push(report);
      o.onEpoch?.(report);
      task?.tick(1, `validation ll ${validationLogLikelihood.toFixed(3)}`);
      if (validation.length === 0) {
        bestEpoch = epoch;
        continue;
      }
      if (validationLogLikelihood > best) {
        best = validationLogLikelihood;
        bestEpoch = epoch;
        bestParameters = copyParameters(p);
        sinceBest = 0;
      } else if (++sinceBest >= o.patience) break;
    }
  } finally {
    task?.done();
  }
  if (bestParameters) p = bestParameters;
  return { parameters: p, bestEpoch, epochs, pairsPerEpoch: pairs };
}
