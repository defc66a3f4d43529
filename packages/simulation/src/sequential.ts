/**
 * Sequential sampling from a next-user distribution (NDM paper §5.3: "for LSTM and our model, we can
 * sequentially sample a user according to the probability distribution of softmax classifier at
 * each step"), batched over simulations.
 *
 * The model is incremental: `start` builds its state for a batch of simulations that share the
 * seeds, and each `next` call feeds the users sampled in the previous step and returns the scores
 * of every user for the next step, so a model can keep its hidden state (LSTM) or cached keys and
 * values (attention) instead of re-reading the whole prefix.
 *
 * The engine owns the protocol: it masks padding and every user already infected in that
 * simulation (seeds included), samples, stops a simulation when it samples `</s>` (END_USER) or
 * when no user is left with a positive probability, and stops at the budget.
 */
import { CascadeError, END_USER, PAD_USER, throwIfCancelled, type Rng } from '@cascade-lab/core';
import { simulationStream } from './streams.js';

/** Scores a model returns: unnormalised log-probabilities, or non-negative weights. */
export type ScoreKind = 'logits' | 'probabilities';

/** What to do with the `</s>` user: end the simulation when sampled (the protocol), or never sample it. */
export type EndUserPolicy = 'stop' | 'mask';

/** An incremental next-user model, run on batches of simulations. */
export interface NextUserModel<State = unknown> {
  /** Size of the user vocabulary (the two reserved indices included): the width of a score row. */
  readonly numUsers: number;
  /** How to read the scores of `next`. */
  readonly scoreKind: ScoreKind;
  /** State for `batch` simulations that all start from `seeds` (infection order). */
  start(seeds: readonly number[], batch: number): State | Promise<State>;
  /**
   * Scores of every user as the next infected one, `batch x numUsers` row-major. `lastSampled` is
   * null on the first call (scores right after the seeds), then the user each simulation added in
   * the previous step, -1 for a simulation that has stopped (its row is ignored). Return a fresh
   * buffer each call: the engine overwrites it while sampling. A row must depend only on that
   * simulation's own history (rows are independent simulations).
   */
  next(state: State, lastSampled: Int32Array | null): Float32Array | Float64Array | Promise<Float32Array | Float64Array>;
  /** Frees the state (tensors). */
  end?(state: State): void;
}

export interface SequentialSamplingOptions {
  /** Default `stop`. */
  endUser?: EndUserPolicy;
  /**
   * Most simulations per model batch; simulations are processed in batches of this size (default:
   * as many as fit a score buffer of 4 M numbers, 16 MB of float32, e.g. 1000 simulations of a
   * 4,000-user vocabulary). Results do not depend on it.
   */
  maxBatch?: number;
  signal?: AbortSignal;
}

/** Default batch: at most 2^22 scores (16 MB of float32) per step. */
export function defaultMaxBatch(numUsers: number): number {
  return Math.max(1, Math.floor(4_194_304 / Math.max(1, numUsers)));
}

function modelError(message: string): CascadeError {
  return new CascadeError('MODEL', message);
}

/**
 * Samples one user from a score row (masked entries already -Infinity / 0); -1 when no user has a
 * positive probability. Overwrites the row with unnormalised probabilities.
 */
function sampleRow(scores: Float32Array | Float64Array, start: number, numUsers: number, kind: ScoreKind, u01: number, where: () => string): number {
  const end = start + numUsers;
  let total = 0;
  if (kind === 'logits') {
    let max = -Infinity;
    for (let i = start; i < end; i++) {
      const v = scores[i];
      if (v > max) max = v;
      else if (v !== v) throw modelError(`next-user model returned a NaN logit for user ${i - start} (${where()})`);
    }
    if (max === -Infinity) return -1;
    if (max === Infinity) throw modelError(`next-user model returned an infinite logit (${where()})`);
    for (let i = start; i < end; i++) {
      const e = Math.exp(scores[i] - max);
      scores[i] = e;
      total += e;
    }
  } else {
    for (let i = start; i < end; i++) {
      const v = scores[i];
      if (!(v >= 0)) throw modelError(`next-user model returned probability ${v} for user ${i - start} (${where()})`);
      total += v;
    }
    if (!(total > 0)) return -1;
    if (total === Infinity) throw modelError(`next-user model probabilities sum to Infinity (${where()})`);
  }
  let r = u01 * total;
  let last = -1;
  for (let i = start; i < end; i++) {
    const w = scores[i];
    if (w > 0) {
      last = i;
      r -= w;
      if (r < 0) return i - start;
    }
  }
  return last - start; // rounding left r >= 0 at the end: the last positive user
}

/**
 * Runs simulations `from .. to-1` of one request and returns their rows (`(to - from) x budget`,
 * -1 after a simulation stops). Simulation s draws from `simulationStream(requestRng, s)` only, so
 * any split of the simulations (batches, worker threads) gives the same rows.
 */
export async function sampleSequences(
  model: NextUserModel,
  seeds: readonly number[],
  budget: number,
  requestRng: Rng,
  from: number,
  to: number,
  options: SequentialSamplingOptions = {},
): Promise<Int32Array> {
  const numUsers = model.numUsers;
  const kind = model.scoreKind;
  if (kind !== 'logits' && kind !== 'probabilities') throw modelError(`next-user model has scoreKind "${String(kind)}" (use logits or probabilities)`);
  for (const s of seeds) if (!Number.isInteger(s) || s < 2 || s >= numUsers) throw new RangeError(`sampleSequences: seed ${s} is not a user index in 2..${numUsers - 1}`);
  const endPolicy = options.endUser ?? 'stop';
  const masked = kind === 'logits' ? -Infinity : 0;
  const maxBatch = Math.max(1, options.maxBatch ?? defaultMaxBatch(numUsers));
  const rows = new Int32Array((to - from) * budget).fill(-1);
  for (let b0 = from; b0 < to; b0 += maxBatch) {
    const b1 = Math.min(to, b0 + maxBatch);
    const batch = b1 - b0;
    const rngs: Rng[] = [];
    for (let s = b0; s < b1; s++) rngs.push(simulationStream(requestRng, s));
    const active = new Uint8Array(batch).fill(1);
    let nActive = batch;
    const state = await model.start(seeds, batch);
    try {
      let last: Int32Array | null = null;
      for (let step = 0; step < budget && nActive > 0; step++) {
        throwIfCancelled(options.signal);
        const scores = await model.next(state, last);
        if (scores.length !== batch * numUsers) throw modelError(`next-user model returned ${scores.length} scores for a batch of ${batch} x ${numUsers} users`);
        const sampled = new Int32Array(batch).fill(-1);
        for (let b = 0; b < batch; b++) {
          if (!active[b]) continue;
          const base = b * numUsers;
          const rowOut = (b0 - from + b) * budget;
          scores[base + PAD_USER] = masked;
          if (endPolicy === 'mask') scores[base + END_USER] = masked;
          for (const s of seeds) scores[base + s] = masked;
          for (let k = 0; k < step; k++) scores[base + rows[rowOut + k]] = masked;
          const u = sampleRow(scores, base, numUsers, kind, rngs[b].next(), () => `simulation ${b0 + b}, step ${step}`);
          if (u < 0 || u === END_USER) {
            active[b] = 0;
            nActive--;
          } else {
            rows[rowOut + step] = u;
            sampled[b] = u;
          }
        }
        last = sampled;
      }
    } finally {
      model.end?.(state);
    }
  }
  return rows;
}
