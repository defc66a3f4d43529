/**
 * The prefix-sharing sampler: the sequential protocol (sample the next user among those not yet
 * infected, until `</s>`, nobody is left or the budget is used; NDM paper §5.3) for models whose
 * next-user distribution depends only on the prefix of infected users. Simulations that share a
 * prefix share one state, so one model step per distinct prefix serves all of them (all 1000
 * simulations of a request share the first), and requests of similar budget advance together in
 * batches of up to `batchRows` simulations.
 *
 * Randomness follows the shared contract: request k draws from `simulationRequestStream(rng,
 * request, k)`, its simulation s from `simulationStream(·, s)`, one uniform per step, and the draw
 * uses the arithmetic of {@link sampleSequences} (r = u * total, subtract the positive weights in
 * user order, stop when r < 0), so the rows equal the sequential engine's bit for bit when the model
 * gives the same weights.
 */
import { CascadeError, END_USER, simulationRequestStream, throwIfCancelled, type InfectionSimulator, type Rng, type SimulationRequest, type SimulationResult } from '@cascade-lab/core';
import { simulationStream } from './streams.js';

/**
 * A model's incremental computation over prefix states. `S` holds any number of distinct prefixes
 * (states); the model decides what a state keeps.
 */
export interface PrefixStepper<S> {
  /** Size of the user vocabulary (the row length of `weights`). */
  readonly numUsers: number;
  /** Throws a CascadeError when a seed is not a user the model can start from. */
  checkSeeds(seeds: readonly number[]): void;
  /** One state per seed list (state i: seedLists[i]). */
  roots(seedLists: readonly (readonly number[])[]): S;
  /** Number of states in `states`. */
  count(states: S): number;
  /**
   * Unnormalised next-user weights of every state, `rows[state * stride + user]` for users below
   * numUsers (`stride`: numUsers when absent, else at least numUsers; a stepper may pad its rows),
   * 0 for users that may not be infected (the prefix's, padding), and each row's sum in user order
   * in float64.
   */
  weights(states: S): Promise<{ rows: Float32Array; totals: Float64Array; stride?: number }>;
  /**
   * The states after one more user: simulation i moves from state `parent[i]` by adding `user[i]`
   * (-1: it does not continue). Equal (parent, user) pairs must share one new state. Returns the
   * new states and each simulation's state (-1 where it does not continue).
   */
  extend(states: S, parent: Int32Array, user: Int32Array): { states: S; stateOf: Int32Array };
}

export interface PrefixSharingOptions {
  /** Simulations advanced together in one step (memory/speed: the config's `execution.batchRows`). Default 4096. */
  batchRows?: number;
  /** Name in error messages (e.g. `ndm simulator`). */
  name?: string;
}

/**
 * One draw from unnormalised weights `weights[base .. base + numUsers)` with sum `total`, in the
 * sequential engine's arithmetic; -1 when nothing has a positive weight.
 */
export function drawFromWeights(weights: Float32Array, base: number, numUsers: number, total: number, u01: number): number {
  if (!(total > 0)) return -1;
  let r = u01 * total;
  let last = -1;
  for (let v = 0; v < numUsers; v++) {
    const w = weights[base + v];
    if (w > 0) {
      last = v;
      r -= w;
      if (r < 0) return v;
    }
  }
  return last;
}

export class PrefixSharingSampler<S> implements InfectionSimulator {
  readonly batchRows: number;
  private readonly name: string;

  constructor(
    readonly stepper: PrefixStepper<S>,
    options: PrefixSharingOptions = {},
  ) {
    this.batchRows = options.batchRows ?? 4096;
    this.name = options.name ?? 'prefix-sharing sampler';
    if (!Number.isInteger(this.batchRows) || this.batchRows < 1) throw new RangeError(`${this.name}: batchRows must be a positive integer, got ${this.batchRows}`);
  }

  async simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    requests.forEach((r) => {
      this.stepper.checkSeeds(r.seeds);
      if (!Number.isInteger(r.budget) || r.budget < 0) throw new CascadeError('USAGE', `${this.name}: budget must be a non-negative integer, got ${r.budget}`);
      if (!Number.isInteger(r.simulations) || r.simulations < 0) throw new CascadeError('USAGE', `${this.name}: simulations must be a non-negative integer, got ${r.simulations}`);
    });
    const results: SimulationResult[] = requests.map((r) => ({ simulations: r.simulations, budget: r.budget, sequences: new Int32Array(r.simulations * r.budget).fill(-1) }));
    // Requests of similar budget form a group that advances step by step together.
    const order = requests.map((_, i) => i).sort((a, b) => requests[a].budget - requests[b].budget);
    let group: number[] = [];
    let rows = 0;
    for (const k of order) {
      if (group.length > 0 && rows + requests[k].simulations > this.batchRows) {
        await this.simulateGroup(group, requests, results, rng, signal);
        group = [];
        rows = 0;
      }
      group.push(k);
      rows += requests[k].simulations;
    }
    if (group.length > 0) await this.simulateGroup(group, requests, results, rng, signal);
    return results;
  }

  private async simulateGroup(group: number[], requests: SimulationRequest[], results: SimulationResult[], rng: Rng, signal?: AbortSignal): Promise<void> {
    const U = this.stepper.numUsers;
    // Simulation i of the group: request group[simRequest[i]], simulation simIndex[i] of it.
    const simRequest: number[] = [];
    const simIndex: number[] = [];
    const streams: Rng[] = [];
    // Let Ctrl-C (the abort signal) and progress output through during long simulations: every
    // 4096 simulations of a loop, give the event loop a turn once 50 ms have passed since the last.
    let lastYield = performance.now();
    // Checked without an await on the fast path (an await per simulation would cost a microtask each).
    const due = (i: number): boolean => (i & 4095) === 4095 && performance.now() - lastYield > 50;
    const yieldNow = async (): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve));
      throwIfCancelled(signal);
      lastYield = performance.now();
    };
    for (let g = 0; g < group.length; g++) {
      const k = group[g];
      const requestRng = simulationRequestStream(rng, requests[k], k);
      for (let s = 0; s < requests[k].simulations; s++) {
        simRequest.push(g);
        simIndex.push(s);
        streams.push(simulationStream(requestRng, s));
        if (due(streams.length - 1)) await yieldNow();
      }
    }
    const n = simRequest.length;
    let states = this.stepper.roots(group.map((k) => requests[k].seeds));
    let stateOf: Int32Array = Int32Array.from(simRequest);
    const maxBudget = Math.max(0, ...group.map((k) => requests[k].budget));
    const sampled = new Int32Array(n);
    for (let step = 0; step < maxBudget; step++) {
      throwIfCancelled(signal);
      if (performance.now() - lastYield > 50) {
        // Let Ctrl-C (the abort signal) and progress output through during long simulations.
        await new Promise((resolve) => setImmediate(resolve));
        throwIfCancelled(signal);
        lastYield = performance.now();
      }
      if (this.stepper.count(states) === 0) break;
      const { rows, totals, stride = U } = await this.stepper.weights(states);
      sampled.fill(-1);
      for (let i = 0; i < n; i++) {
        if (due(i)) await yieldNow();
        const st = stateOf[i];
        if (st < 0) continue;
        const k = group[simRequest[i]];
        const budget = requests[k].budget;
        if (step >= budget) continue;
        const v = drawFromWeights(rows, st * stride, U, totals[st], streams[i].next());
        if (v < 0 || v === END_USER) continue;
        results[k].sequences[simIndex[i] * budget + step] = v;
        // A simulation at its budget needs no further state.
        if (step + 1 < budget) sampled[i] = v;
      }
      const next = this.stepper.extend(states, stateOf, sampled);
      states = next.states;
      stateOf = next.stateOf;
    }
  }
}
