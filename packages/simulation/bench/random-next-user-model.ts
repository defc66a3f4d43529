/**
 * A fixed random next-user model for the benchmark: logits of the next user are one of 16 fixed
 * random rows, chosen by the last infected user, so every step costs what a real model's output
 * costs the sampler (a full row of logits per simulation) and no more.
 */
import { Rng } from '@cascade-lab/core';
import type { NextUserModel } from '@cascade-lab/simulation';

export function createRandomNextUserModel(options: { numUsers: number; seed?: number }): NextUserModel<{ last: Int32Array }> {
  const n = options.numUsers;
  const rng = Rng.fromSeed(options.seed ?? 1);
  const rows = Array.from({ length: 16 }, () => Float32Array.from({ length: n }, () => rng.normal(0, 2)));
  return {
    numUsers: n,
    scoreKind: 'logits',
    start: (seeds, batch) => ({ last: new Int32Array(batch).fill(seeds[seeds.length - 1]) }),
    next(state, lastSampled) {
      if (lastSampled) for (let b = 0; b < lastSampled.length; b++) if (lastSampled[b] >= 0) state.last[b] = lastSampled[b];
      const out = new Float32Array(state.last.length * n);
      for (let b = 0; b < state.last.length; b++) out.set(rows[state.last[b] & 15], b * n);
      return out;
    },
  };
}
