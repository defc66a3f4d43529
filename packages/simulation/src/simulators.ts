/**
 * The engines behind the contract's `InfectionSimulator` interface, ready for plugins to return
 * from their model: independent cascade over pairwise probabilities, continuous-time cascade over
 * pairwise rates, and sequential sampling from a next-user model. Each runs in the calling thread,
 * or split over a `SimulationPool`'s worker threads, with identical results.
 */
import {
  CascadeError,
  Rng,
  simulationRequestStream,
  throwIfCancelled,
  type InfectionSimulator,
  type SimulationRequest,
  type SimulationResult,
} from '@cascade-lab/core';
import { checkContinuousTimeNetwork, type ContinuousTimeNetwork } from './continuous-time.js';
import type { TransmissionGraph } from './graph.js';
import { WITHIN_STEP_ORDERS, type WithinStepOrder } from './independent-cascade.js';
import type { SimulationPool } from './pool.js';
import { sampleSequences, type EndUserPolicy, type NextUserModel } from './sequential.js';
import { EngineContext, runEngineTask, type SimulationTask, type EngineTaskResult, type NextUserModelModule } from './tasks.js';

export interface SimulatorOptions {
  /** Worker threads to run on; without one, simulations run in the calling thread. */
  pool?: SimulationPool;
  /**
   * Simulations per task sent to a worker (default: a request's simulations split evenly over the
   * pool's workers). Results do not depend on it.
   */
  chunkSize?: number;
}

type TaskBody = SimulationTask extends infer T ? (T extends SimulationTask ? Omit<T, 'seeds' | 'budget' | 'rngState' | 'from' | 'to'> : never) : never;

function checkRequest(r: SimulationRequest, k: number, numUsers: number | undefined): void {
  const where = `simulation request ${k}${r.label ? ` (${r.label})` : ''}`;
  if (!Array.isArray(r.seeds) || r.seeds.length === 0) throw new RangeError(`${where}: needs at least one seed user`);
  for (const s of r.seeds) {
    if (!Number.isInteger(s) || s < 0 || (numUsers !== undefined && s >= numUsers)) throw new RangeError(`${where}: seed ${s} is not a user index${numUsers !== undefined ? ` below ${numUsers}` : ''}`);
  }
  if (!Number.isInteger(r.budget) || r.budget < 0) throw new RangeError(`${where}: budget must be a non-negative integer, got ${r.budget}`);
  if (!Number.isInteger(r.simulations) || r.simulations < 1) throw new RangeError(`${where}: simulations must be a positive integer, got ${r.simulations}`);
}

/** A request's rows, filled slice by slice. */
interface Assembly {
  result: SimulationResult & { times?: Float64Array };
}

/**
 * Splits every request into slices, runs them (pool or inline), and assembles the rows. Request k's
 * randomness is `simulationRequestStream(rng, requests[k], k)`, simulation s's is that stream's
 * `derive(s)`: neither the batching of requests nor the slicing changes a row.
 */
async function runRequests(
  requests: SimulationRequest[],
  rng: Rng,
  signal: AbortSignal | undefined,
  options: SimulatorOptions,
  body: TaskBody,
  numUsers: number | undefined,
  recordTimes: boolean,
  runInline: (task: SimulationTask) => Promise<EngineTaskResult>,
): Promise<Assembly['result'][]> {
  throwIfCancelled(signal);
  requests.forEach((r, k) => checkRequest(r, k, numUsers));
  const pool = options.pool;
  const assemblies: Assembly['result'][] = requests.map((r) => ({
    simulations: r.simulations,
    budget: r.budget,
    sequences: new Int32Array(r.simulations * r.budget).fill(-1),
    times: recordTimes ? new Float64Array(r.simulations * r.budget).fill(NaN) : undefined,
  }));
  const tasks: { k: number; task: SimulationTask }[] = [];
  requests.forEach((r, k) => {
    const rngState = simulationRequestStream(rng, r, k).state();
    const chunk = options.chunkSize ?? (pool ? Math.ceil(r.simulations / pool.size) : r.simulations);
    if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunk}`);
    for (let from = 0; from < r.simulations; from += chunk) {
      const to = Math.min(r.simulations, from + chunk);
      tasks.push({ k, task: { ...body, seeds: [...r.seeds], budget: r.budget, rngState, from, to } as SimulationTask });
    }
  });
  const place = (k: number, task: SimulationTask, res: EngineTaskResult): void => {
    const a = assemblies[k];
    a.sequences.set(res.sequences, task.from * task.budget);
    if (a.times && res.times) a.times.set(res.times, task.from * task.budget);
  };
  if (pool) {
    await Promise.all(tasks.map(({ k, task }) => pool.run(task, signal).then((res) => place(k, task, res))));
  } else {
    for (const { k, task } of tasks) {
      throwIfCancelled(signal);
      place(k, task, await runInline(task));
    }
  }
  throwIfCancelled(signal);
  return assemblies;
}

/**
 * Discrete-time independent cascade over sparse pairwise probabilities (see
 * independent-cascade.ts), as an `InfectionSimulator`: Embedded IC and other pairwise models return
 * one of these.
 */
export class IndependentCascadeSimulator implements InfectionSimulator {
  private readonly context = new EngineContext();
  constructor(
    readonly graph: TransmissionGraph,
    private readonly options: SimulatorOptions & { maxSteps?: number; withinStepOrder?: WithinStepOrder } = {},
  ) {
    const order = options.withinStepOrder ?? 'random';
    if (!WITHIN_STEP_ORDERS.includes(order)) throw new RangeError(`IndependentCascadeSimulator: withinStepOrder must be one of ${WITHIN_STEP_ORDERS.join(', ')}, got ${String(order)}`);
    for (let e = 0; e < graph.weights.length; e++) {
      const p = graph.weights[e];
      if (!(p >= 0 && p <= 1)) throw new RangeError(`IndependentCascadeSimulator: edge ${e} has probability ${p}`);
    }
  }

  simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    const body: TaskBody = { kind: 'independent-cascade', graph: this.graph, maxSteps: this.options.maxSteps ?? Infinity, order: this.options.withinStepOrder ?? 'random' };
    return runRequests(requests, rng, signal, this.options, body, this.graph.numNodes, false, (t) => runEngineTask(t, this.context)).then((rs) =>
      rs.map(({ simulations, budget, sequences }) => ({ simulations, budget, sequences })),
    );
  }
}

/**
 * Continuous-time cascade with per-edge delay distributions (see continuous-time.ts), as an
 * `InfectionSimulator`: NetRate and InfoPath return one of these. `horizon` is in the dataset's
 * time unit (default: no horizon, only the budget stops a simulation).
 */
export class ContinuousTimeSimulator implements InfectionSimulator {
  private readonly context = new EngineContext();
  constructor(
    readonly network: ContinuousTimeNetwork,
    private readonly options: SimulatorOptions & { horizon?: number } = {},
  ) {
    checkContinuousTimeNetwork(network);
    for (let e = 0; e < network.graph.weights.length; e++) {
      const a = network.graph.weights[e];
      if (!(a >= 0 && Number.isFinite(a))) throw new RangeError(`ContinuousTimeSimulator: edge ${e} has rate ${a}`);
    }
    const h = options.horizon ?? Infinity;
    if (!(h >= 0)) throw new RangeError(`ContinuousTimeSimulator: horizon must be >= 0, got ${h}`);
  }

  private run(requests: SimulationRequest[], rng: Rng, signal: AbortSignal | undefined, recordTimes: boolean) {
    const body: TaskBody = { kind: 'continuous-time', network: this.network, horizon: this.options.horizon ?? Infinity, recordTimes };
    return runRequests(requests, rng, signal, this.options, body, this.network.graph.numNodes, recordTimes, (t) => runEngineTask(t, this.context));
  }

  async simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    const rs = await this.run(requests, rng, signal, false);
    return rs.map(({ simulations, budget, sequences }) => ({ simulations, budget, sequences }));
  }

  /** Like `simulate`, with each infection's time (same layout as `sequences`, NaN after a stop). */
  async simulateWithTimes(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<(SimulationResult & { times: Float64Array })[]> {
    const rs = await this.run(requests, rng, signal, true);
    return rs.map(({ simulations, budget, sequences, times }) => ({ simulations, budget, sequences, times: times! }));
  }
}

export interface SequentialSamplerOptions extends SimulatorOptions {
  /** `stop` (default, the protocol): sampling `</s>` ends a simulation; `mask`: never sample it. */
  endUser?: EndUserPolicy;
  /** Most simulations per model batch (see SequentialSamplingOptions). */
  maxBatch?: number;
}

let samplerCounter = 0;

function isModule(m: NextUserModel | NextUserModelModule): m is NextUserModelModule {
  return typeof (m as NextUserModelModule).module === 'string';
}

/**
 * Sequential sampling from a next-user model (see sequential.ts), as an `InfectionSimulator`: NDM
 * and LSTM return one of these. Give a model instance to sample in the calling thread (tensor
 * models), or a `NextUserModelModule` to let each worker thread of a pool build its own copy (models
 * on plain arrays).
 */
export class SequentialSampler implements InfectionSimulator {
  private readonly key = `sampler:${process.pid}:${++samplerCounter}`;
  private readonly context = new EngineContext();

  constructor(
    private readonly model: NextUserModel | NextUserModelModule,
    private readonly options: SequentialSamplerOptions = {},
  ) {
    if (options.pool && !isModule(model)) {
      throw new CascadeError('USAGE', 'SequentialSampler: a model instance cannot move to worker threads', {
        hint: 'pass a NextUserModelModule ({ module, exportName, options }) to sample on a pool, or drop the pool',
      });
    }
  }

  private async numUsers(): Promise<number> {
    return isModule(this.model) ? (await this.context.model(this.key, this.model)).numUsers : this.model.numUsers;
  }

  async simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    const endUser = this.options.endUser ?? 'stop';
    const model = this.model;
    // Seeds are checked against the vocabulary here only when the model lives in this thread; a
    // worker's copy checks them itself.
    const numUsers = this.options.pool ? undefined : await this.numUsers();
    // A model instance never travels to a worker (the constructor refuses a pool for it), so its
    // task description only names it; runInline samples from the instance itself.
    const spec: NextUserModelModule = isModule(model) ? model : { module: '(model instance in this thread)' };
    const body: TaskBody = { kind: 'sequential', model: spec, modelKey: this.key, endUser, maxBatch: this.options.maxBatch };
    const runInline = async (task: SimulationTask): Promise<EngineTaskResult> => {
      if (isModule(model)) return runEngineTask(task, this.context, signal);
      const sequences = await sampleSequences(model, task.seeds, task.budget, Rng.fromState(task.rngState), task.from, task.to, {
        endUser,
        maxBatch: this.options.maxBatch,
        signal,
      });
      return { sequences };
    };
    const rs = await runRequests(requests, rng, signal, this.options, body, numUsers, false, runInline);
    return rs.map(({ simulations, budget, sequences }) => ({ simulations, budget, sequences }));
  }
}
