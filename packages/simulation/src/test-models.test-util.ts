/** Next-user models for tests (also loaded by worker threads through their module URL). */
import type { NextUserModel } from './sequential.js';

/** The same categorical distribution at every step (weights, not normalised). */
export function createCategoricalModel(options: { weights: number[]; scoreKind?: 'logits' | 'probabilities' }): NextUserModel<number> {
  const numUsers = options.weights.length;
  const kind = options.scoreKind ?? 'probabilities';
  const row = Float64Array.from(options.weights, (w) => (kind === 'logits' ? Math.log(w) : w));
  return {
    numUsers,
    scoreKind: kind,
    start: (_seeds, batch) => batch,
    next(batch) {
      const out = new Float64Array(batch * numUsers);
      for (let b = 0; b < batch; b++) out.set(row, b * numUsers);
      return out;
    },
  };
}

/**
 * A first-order Markov chain over users with fixed pseudo-random logits: the next user's logits
 * depend on the last infected user of that simulation, so the model must keep per-row state.
 */
export function createMarkovModel(options: { numUsers: number; endLogit?: number }): NextUserModel<{ last: Int32Array }> {
  const n = options.numUsers;
  const logit = (from: number, to: number): number => {
    let h = Math.imul(from + 1, 0x9e3779b1) ^ Math.imul(to + 7, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return ((h >>> 0) / 4294967296) * 4 - 2;
  };
  return {
    numUsers: n,
    scoreKind: 'logits',
    start: (seeds, batch) => ({ last: new Int32Array(batch).fill(seeds[seeds.length - 1]) }),
    next(state, lastSampled) {
      if (lastSampled) for (let b = 0; b < lastSampled.length; b++) if (lastSampled[b] >= 0) state.last[b] = lastSampled[b];
      const out = new Float32Array(state.last.length * n);
      for (let b = 0; b < state.last.length; b++) {
        for (let v = 0; v < n; v++) out[b * n + v] = logit(state.last[b], v);
        out[b * n + 1] = options.endLogit ?? -Infinity;
      }
      return out;
    },
  };
}

let nextCalls = 0;
/** Ends its worker thread (process.exit inside a worker ends only the thread) on the given `next` call. */
export function createExitingModel(options: { numUsers: number; exitOnCall: number }): NextUserModel<number> {
  const inner = createCategoricalModel({ weights: Array.from({ length: options.numUsers }, (_, u) => (u < 2 ? 0 : 1)) });
  return {
    ...inner,
    next(batch, last) {
      if (++nextCalls === options.exitOnCall) process.exit(3);
      return inner.next(batch, last);
    },
  };
}
