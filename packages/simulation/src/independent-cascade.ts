/**
 * Discrete-time independent cascade (Kempe, Kleinberg, Tardos 2003; the generation process behind
 * Embedded IC, NDM paper §5.3): at step 0 the seeds are active; a user activated at step t gets one
 * chance, at step t+1, to activate each inactive out-neighbour v with probability p(u -> v).
 *
 * Users activated in the same step have no order in the model. By default (`order: 'random'`) the
 * engine lists them in a uniformly random order (a partial Fisher-Yates draw), so that truncating
 * the output at the budget, or reading its first 5 users for the early stage, picks a uniformly
 * random subset of that step's users rather than those with the smallest indices. Two alternatives
 * order a step by the edges that activated its users (`WithinStepOrder`); neither changes which
 * users a step activates (every user's activation in a step is still "at least one of the attempts
 * on it succeeded", each attempt an independent draw with probability p), only their listing.
 */
import type { Rng } from '@cascade-lab/core';
import type { TransmissionGraph } from './graph.js';

/** Reusable per-thread buffers: no allocation per simulation. */
export class IndependentCascadeScratch {
  readonly stamp: Int32Array;
  readonly current: Int32Array;
  readonly next: Int32Array;
  /** Step of activation (counted from 1 within a simulation) and sort key, for the ordered listings. */
  readonly step: Int32Array;
  readonly key: Float64Array;
  mark = 0;
  constructor(numNodes: number) {
    this.stamp = new Int32Array(numNodes);
    this.current = new Int32Array(numNodes);
    this.next = new Int32Array(numNodes);
    this.step = new Int32Array(numNodes);
    this.key = new Float64Array(numNodes);
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
 * How the users activated in one IC step are listed (the step's set is the same for all three):
 * - `random`: a uniformly random order (the default);
 * - `probability`: by the probability of the likeliest successful attempt on the user, most
 *   probable first (ties in a uniformly random order): a step's surest receivers come first;
 * - `time`: by a continuous activation time inside the step. Each edge is read as a delay
 *   tau ~ Exponential(rate) with rate = -ln(1 - p), so that P(tau < 1) = p, the IC attempt; a
 *   successful attempt is one with tau < 1 and its tau is drawn from that law conditioned on
 *   tau < 1, by inversion: tau = ln(1 - U p) / ln(1 - p) (tau = 0 when p = 1). A user's time is the
 *   earliest tau of the successful attempts on it, the step's users are listed by it. This is the
 *   discrete IC seen as a continuous-time cascade observed once per step.
 */
export const WITHIN_STEP_ORDERS = ['random', 'probability', 'time'] as const;
export type WithinStepOrder = (typeof WITHIN_STEP_ORDERS)[number];

/** Delay inside a step of a successful attempt of probability p, from a uniform u in [0, 1) (see `WithinStepOrder`). */
export function conditionalDelay(p: number, u: number): number {
  if (p >= 1) return 0;
  return Math.log1p(-u * p) / Math.log1p(-p);
}

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
  order: WithinStepOrder = 'random',
): number {
  if (order !== 'random') return simulateOrdered(graph, seeds, budget, rng, out, offset, scratch, maxSteps, order);
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

/**
 * `simulateIndependentCascade` with a step listed by `probability` or `time`. Every attempt on a
 * user not active before this step is drawn, also on users an earlier attempt of the same step
 * already activated (their key is the best over all successful attempts); the set of users a step
 * activates has the same law as in the random listing.
 */
function simulateOrdered(
  graph: TransmissionGraph,
  seeds: readonly number[],
  budget: number,
  rng: Rng,
  out: Int32Array,
  offset: number,
  scratch: IndependentCascadeScratch,
  maxSteps: number,
  order: 'probability' | 'time',
): number {
  const { offsets, targets, weights } = graph;
  const { stamp, step: stepOf, key } = scratch;
  const mark = scratch.newMark();
  let current = scratch.current;
  let next = scratch.next;
  let nCurrent = 0;
  for (const s of seeds) {
    if (stamp[s] !== mark) {
      stamp[s] = mark;
      stepOf[s] = 0;
      current[nCurrent++] = s;
    }
  }
  const byTime = order === 'time';
  let added = 0;
  for (let step = 0; nCurrent > 0 && added < budget && step < maxSteps; step++) {
    const now = step + 1;
    let nNext = 0;
    for (let i = 0; i < nCurrent; i++) {
      const u = current[i];
      for (let e = offsets[u], end = offsets[u + 1]; e < end; e++) {
        const v = targets[e];
        const fresh = stamp[v] !== mark;
        if (!fresh && stepOf[v] !== now) continue; // active before this step
        const p = weights[e];
        const draw = rng.nextUint32() * TWO_TO_MINUS_32;
        if (!(draw < p)) continue;
        // Given success, draw / p is uniform on [0, 1): it draws the delay without another number.
        const k = byTime ? conditionalDelay(p, draw / p) : -p;
        if (fresh) {
          stamp[v] = mark;
          stepOf[v] = now;
          key[v] = k;
          next[nNext++] = v;
        } else if (k < key[v]) key[v] = k;
      }
    }
    const take = Math.min(nNext, budget - added);
    if (!byTime) {
      // Random order first, so that the stable sort below breaks ties of equal p at random.
      for (let i = 0; i + 1 < nNext; i++) {
        const j = i + rng.int(nNext - i);
        const tmp = next[i];
        next[i] = next[j];
        next[j] = tmp;
      }
    }
    // Stable sort by key: insertion sort for the few users of a typical step, the (stable, since
    // ES2019) array sort for a large one.
    if (nNext > 32) {
      next.set(Array.from(next.subarray(0, nNext)).sort((a, b) => key[a] - key[b]));
    } else {
      for (let i = 1; i < nNext; i++) {
        const v = next[i];
        const kv = key[v];
        let j = i - 1;
        while (j >= 0 && key[next[j]] > kv) {
          next[j + 1] = next[j];
          j--;
        }
        next[j + 1] = v;
      }
    }
    for (let i = 0; i < take; i++) out[offset + added++] = next[i];
    const swap = current;
    current = next;
    next = swap;
    nCurrent = nNext;
  }
  return added;
}
