/**
 * Simulations that carry the LSTM state forward: the prefix-sharing sampler of
 * @cascade-lab/simulation (NDM paper §5.3: sample the next user from the softmax, infected users
 * excluded, until `</s>` or the budget) with one LSTM step per new (prefix, user) pair. All
 * simulations of a step advance in one compiled call; simulations that share a prefix (all of a
 * request's at the first step) share one state. No prefix is ever read again.
 */
import { CascadeError, PAD_USER, Rng, RESERVED_USERS, type InfectionSimulator, type SimulationRequest, type SimulationResult } from '@cascade-lab/core';
import { PrefixSharingSampler, type PrefixStepper } from '@cascade-lab/simulation';
import { GraphFunction, gridSize, tf } from '@cascade-lab/tensor-ops';
import { LstmNetwork, type LstmArchitecture } from './network.js';

/** Distinct prefixes, host side: LSTM state and next-user logits of each, and its infected users. */
export interface LstmStates {
  count: number;
  /** [count, H] */
  h: Float32Array;
  c: Float32Array;
  /** [count, U]: h W + b, before masking. */
  logits: Float32Array;
  /** The users each state has seen (seeds and sampled), in order. */
  prefixes: Int32Array[];
}

export class LstmStepper implements PrefixStepper<LstmStates> {
  readonly numUsers: number;
  private readonly hidden: number;
  /** (h, c, users) -> (h', c', logits(h')) for a batch of states, one graph per gridded row count. */
  private readonly graph: GraphFunction;

  constructor(readonly network: LstmNetwork) {
    this.numUsers = network.architecture.numUsers;
    this.hidden = network.architecture.hiddenSize;
    this.graph = new GraphFunction(
      ([h, c, users]) => {
        const next = network.step(users as tf.Tensor1D, { h: h as tf.Tensor2D, c: c as tf.Tensor2D });
        return [next.h, next.c, network.logits(next.h)];
      },
      { name: 'lstm simulation step', captureExternal: true },
    );
  }

  checkSeeds(seeds: readonly number[]): void {
    if (seeds.length === 0) throw new CascadeError('USAGE', 'lstm simulator: a request needs at least one seed user');
    for (const s of seeds) {
      if (!Number.isInteger(s) || s < RESERVED_USERS || s >= this.numUsers) throw new CascadeError('USAGE', `lstm simulator: seed ${s} is not a user index in ${RESERVED_USERS}..${this.numUsers - 1}`);
    }
  }

  /** One LSTM step for `n` rows: row i from (h, c) row `from[i]` with `users[i]`. */
  private advance(h: Float32Array, c: Float32Array, from: Int32Array, users: Int32Array): { h: Float32Array; c: Float32Array; logits: Float32Array } {
    const n = from.length;
    const H = this.hidden;
    const U = this.numUsers;
    // At least two rows: for one row the backend multiplies a vector by a matrix in another order,
    // so a state alone in a call (a cascade simulated by itself, a last state) would round
    // differently from the same state among others (simulator-rows.test.ts).
    const rows = gridSize(Math.max(2, n));
    const hIn = new Float32Array(rows * H);
    const cIn = new Float32Array(rows * H);
    const uIn = new Int32Array(rows).fill(PAD_USER);
    for (let i = 0; i < n; i++) {
      hIn.set(h.subarray(from[i] * H, (from[i] + 1) * H), i * H);
      cIn.set(c.subarray(from[i] * H, (from[i] + 1) * H), i * H);
      uIn[i] = users[i];
    }
    const inputs = [tf.tensor2d(hIn, [rows, H]), tf.tensor2d(cIn, [rows, H]), tf.tensor1d(uIn, 'int32')];
    const outputs = this.graph.call(inputs);
    try {
      return {
        h: (outputs[0].dataSync() as Float32Array).slice(0, n * H),
        c: (outputs[1].dataSync() as Float32Array).slice(0, n * H),
        logits: (outputs[2].dataSync() as Float32Array).slice(0, n * U),
      };
    } finally {
      tf.dispose(inputs);
      tf.dispose(outputs);
    }
  }

  roots(seedLists: readonly (readonly number[])[]): LstmStates {
    const H = this.hidden;
    const U = this.numUsers;
    const n = seedLists.length;
    const out: LstmStates = { count: n, h: new Float32Array(n * H), c: new Float32Array(n * H), logits: new Float32Array(n * U), prefixes: seedLists.map((s) => Int32Array.from(s)) };
    // Every list steps from the zero state, one seed per step; a list that has ended keeps its state.
    let h = new Float32Array(n * H);
    let c = new Float32Array(n * H);
    const longest = Math.max(0, ...seedLists.map((s) => s.length));
    for (let t = 0; t < longest; t++) {
      const live = seedLists.map((s, i) => (t < s.length ? i : -1)).filter((i) => i >= 0);
      const r = this.advance(h, c, Int32Array.from(live), Int32Array.from(live, (i) => seedLists[i][t]));
      h = h.slice();
      c = c.slice();
      live.forEach((i, k) => {
        h.set(r.h.subarray(k * H, (k + 1) * H), i * H);
        c.set(r.c.subarray(k * H, (k + 1) * H), i * H);
        if (t === seedLists[i].length - 1) out.logits.set(r.logits.subarray(k * U, (k + 1) * U), i * U);
      });
    }
    out.h = h;
    out.c = c;
    return out;
  }

  count(states: LstmStates): number {
    return states.count;
  }

  /** exp(logit - max) of every user not in the state's prefix (padding excluded), row sums in float64. */
  async weights(states: LstmStates): Promise<{ rows: Float32Array; totals: Float64Array }> {
    const U = this.numUsers;
    const rows = new Float32Array(states.count * U);
    const totals = new Float64Array(states.count);
    const blocked = new Uint8Array(U);
    for (let s = 0; s < states.count; s++) {
      const base = s * U;
      blocked[PAD_USER] = 1;
      for (const u of states.prefixes[s]) blocked[u] = 1;
      let max = -Infinity;
      for (let v = 0; v < U; v++) if (!blocked[v] && states.logits[base + v] > max) max = states.logits[base + v];
      let total = 0;
      for (let v = 0; v < U; v++) {
        if (blocked[v]) continue;
        const w = Math.fround(Math.exp(states.logits[base + v] - max));
        rows[base + v] = w;
        total += w;
      }
      totals[s] = total;
      blocked.fill(0);
    }
    return { rows, totals };
  }

  extend(states: LstmStates, parent: Int32Array, user: Int32Array): { states: LstmStates; stateOf: Int32Array } {
    const stateOf = new Int32Array(parent.length).fill(-1);
    const index = new Map<number, number>();
    const from: number[] = [];
    const users: number[] = [];
    for (let i = 0; i < parent.length; i++) {
      if (parent[i] < 0 || user[i] < 0) continue;
      const key = parent[i] * this.numUsers + user[i];
      let k = index.get(key);
      if (k === undefined) {
        k = from.length;
        index.set(key, k);
        from.push(parent[i]);
        users.push(user[i]);
      }
      stateOf[i] = k;
    }
    const n = from.length;
    if (n === 0) return { states: { count: 0, h: new Float32Array(0), c: new Float32Array(0), logits: new Float32Array(0), prefixes: [] }, stateOf };
    const r = this.advance(states.h, states.c, Int32Array.from(from), Int32Array.from(users));
    const prefixes = from.map((p, k) => {
      const prev = states.prefixes[p];
      const next = new Int32Array(prev.length + 1);
      next.set(prev);
      next[prev.length] = users[k];
      return next;
    });
    return { states: { count: n, h: r.h, c: r.c, logits: r.logits, prefixes }, stateOf };
  }
}

/** The trained LSTM as an infection simulator (weights by name, as LstmNetwork.readWeights gives them). */
export class LstmSimulator implements InfectionSimulator {
  readonly network: LstmNetwork;
  readonly stepper: LstmStepper;
  private readonly sampler: PrefixSharingSampler<LstmStates>;

  constructor(architecture: LstmArchitecture, weights: Record<string, Float32Array>, batchRows: number) {
    // The initial values are overwritten at once: any stream will do.
    this.network = new LstmNetwork(architecture, Rng.fromSeed(0));
    this.network.assignWeights(weights);
    this.stepper = new LstmStepper(this.network);
    this.sampler = new PrefixSharingSampler(this.stepper, { batchRows, name: 'lstm simulator' });
  }

  simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    return this.sampler.simulate(requests, rng, signal);
  }

  dispose(): void {
    this.network.dispose();
  }
}
