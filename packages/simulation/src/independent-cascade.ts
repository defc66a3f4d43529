/**
 * Discrete-time independent cascade (Kempe, Kleinberg, Tardos 2003; the generation process behind
 * Embedded IC, NDM paper §5.3): at step 0 the seeds are active; a user activated at step t gets one
 * chance, at step t+1, to activate each inactive out-neighbour v with probability p(u -> v).
 *
 * Users activated in the same step have no order in the model; the engine lists them in a uniformly
 * random order (a partial Fisher-Yates draw), so that truncating the output at the budget, or
 * reading its first 5 users for the early stage, picks a uniformly random subset of that step's
 * users rather than those with the smallest indices.
 */
import type { Rng } from '@cascade-lab/core';
import type { TransmissionGraph } from './graph.js';

/** Reusable per-thread buffers: no allocation per simulation. */
export class IndependentCascadeScratch {
  readonly stamp: Int32Array;
  readonly current: Int32Array;
  readonly next: Int32Array;
  mark = 0;
  constructor(numNodes: number) {
    this.stamp = new Int32Array(numNodes);
    this.current = new Int32Array(numNodes);
    this.next = new Int32Array(numNodes);
  }
  /** A fresh "infected" marker; clears the stamps when the counter would overflow. */
  newMark(): number {
    if (this.mark === 0x7fffffff) {
      this.stamp.fill(0);
      this.mark = 0;
    }
    return ++this.mark;
  }
}

const TWO_TO_MINUS_32 = 2.3283064365386963e-10;

/**
 * One independent-cascade simulation from `seeds`. Writes the users it activates, in activation
 * order, to `out[offset .. offset + budget)` and returns how many it wrote (the rest of the row is
 * left untouched: callers pre-fill -1). Stops when `budget` users are active besides the seeds,
 * after `maxSteps` steps, or when a step activates nobody.
 */
export function simulateIndependentCascade(
  graph: TransmissionGraph,
  seeds: readonly number[],
  budget: number,
  rng: Rng,
  out: Int32Array,
  offset: number,
  scratch: IndependentCascadeScratch,
  maxSteps = Infinity,
): number {
  const { offsets, targets, weights } = graph;
  const stamp = scratch.stamp;
  const mark = scratch.newMark();
  let current = scratch.current;
  let next = scratch.next;
  let nCurrent = 0;
  for (const s of seeds) {
    if (stamp[s] !== mark) {
      stamp[s] = mark;
      current[nCurrent++] = s;
    }
  }
  let added = 0;
  for (let step = 0; nCurrent > 0 && added < budget && step < maxSteps; step++) {
    let nNext = 0;
    for (let i = 0; i < nCurrent; i++) {
      const u = current[i];
      for (let e = offsets[u], end = offsets[u + 1]; e < end; e++) {
        const v = targets[e];
        // One 32-bit uniform per attempt: p = 1 always passes, p = 0 never does.
        if (stamp[v] !== mark && rng.nextUint32() * TWO_TO_MINUS_32 < weights[e]) {
          stamp[v] = mark;
          next[nNext++] = v;
        }
      }
    }
    // Random order within the step; only the users that fit in the budget need drawing.
    const take = Math.min(nNext, budget - added);
    for (let i = 0; i < take; i++) {
      const j = i + rng.int(nNext - i);
      const tmp = next[i];
      next[i] = next[j];
      next[j] = tmp;
      out[offset + added++] = next[i];
    }
    const swap = current;
    current = next;
    next = swap;
    nCurrent = nNext;
  }
  return added;
}
