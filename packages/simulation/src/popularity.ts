/**
 * The "most popular next user" baseline: the next user is drawn with probability proportional to
 * how often users were infected (after the seed) in the training cascades, whatever happened so far
 * (already-infected users are masked by the engine). It never samples `</s>`. A floor for every
 * learned model and a ready example of a `NextUserModel` that runs on worker threads.
 */
import { RESERVED_USERS, type Cascade } from '@cascade-lab/core';
import type { NextUserModel } from './sequential.js';
import type { NextUserModelModule } from './tasks.js';

export interface PopularityModelOptions {
  /** Vocabulary size (reserved indices included). */
  numUsers: number;
  /** Weight of each user index (length numUsers); the reserved ones are ignored. */
  counts: ArrayLike<number>;
}

/** Infection counts of each user after the first position of each cascade. */
export function popularityCounts(cascades: readonly Cascade[], numUsers: number): Float64Array {
  const counts = new Float64Array(new SharedArrayBuffer(numUsers * Float64Array.BYTES_PER_ELEMENT));
  for (const c of cascades) {
    for (let i = 1; i < c.events.length; i++) {
      const u = c.events[i].user;
      if (!Number.isInteger(u) || u < 0 || u >= numUsers) throw new RangeError(`popularityCounts: cascade ${c.id} has user ${u} outside 0..${numUsers - 1}`);
      counts[u]++;
    }
  }
  return counts;
}

/** The model (factory used by worker threads too). */
export function createPopularityModel(options: PopularityModelOptions): NextUserModel<number> {
  const { numUsers } = options;
  if (options.counts.length !== numUsers) throw new RangeError(`createPopularityModel: ${options.counts.length} counts for ${numUsers} users`);
  const weights = new Float32Array(numUsers);
  for (let u = RESERVED_USERS; u < numUsers; u++) {
    const c = options.counts[u];
    if (!(c >= 0 && Number.isFinite(c))) throw new RangeError(`createPopularityModel: count ${c} of user ${u}`);
    weights[u] = c;
  }
  return {
    numUsers,
    scoreKind: 'probabilities',
    start: (_seeds, batch) => batch,
    next(batch) {
      const out = new Float32Array(batch * numUsers);
      for (let b = 0; b < batch; b++) out.set(weights, b * numUsers);
      return out;
    },
  };
}

/** The module form of the model, for a `SequentialSampler` on a `SimulationPool`. */
export function popularityModelModule(options: PopularityModelOptions): NextUserModelModule {
  return { module: import.meta.url, exportName: 'createPopularityModel', options };
}
