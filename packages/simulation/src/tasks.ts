/**
 * Engine work as plain, structured-cloneable messages: a slice of one request's simulations. The
 * same `runEngineTask` runs them in the calling thread or in a worker thread, which is what makes
 * the results independent of the number of workers.
 */
import { CascadeError, Rng, type RngState } from '@cascade-lab/core';
import { ContinuousTimeScratch, simulateContinuousTime, type ContinuousTimeNetwork } from './continuous-time.js';
import type { TransmissionGraph } from './graph.js';
import { IndependentCascadeScratch, simulateIndependentCascade, type WithinStepOrder } from './independent-cascade.js';
import { sampleWalks, type WalkGraph, type WalkOptions } from './random-walks.js';
import { sampleSequences, type EndUserPolicy, type NextUserModel } from './sequential.js';
import { simulationStream } from './streams.js';

/**
 * Where a worker thread finds a next-user model: an ES module exporting a factory
 * `(options) => NextUserModel | Promise<NextUserModel>`. Large arrays in `options` should live on
 * a SharedArrayBuffer (they are then shared, not copied, with each worker).
 */
export interface NextUserModelModule {
  /** `file:` URL or absolute path of the module (`.js`, or `.ts` when running under tsx). */
  module: string;
  /** Name of the factory export (default `createNextUserModel`). */
  exportName?: string;
  /** The factory's argument (structured-cloneable). */
  options?: unknown;
}

interface TaskBase {
  seeds: number[];
  budget: number;
  /** State of the request's stream; simulation s uses `Rng.fromState(rngState).derive(s)`. */
  rngState: RngState;
  /** Simulations from .. to-1. */
  from: number;
  to: number;
}

export interface IndependentCascadeTask extends TaskBase {
  kind: 'independent-cascade';
  graph: TransmissionGraph;
  maxSteps: number;
  /** How a step's users are listed (default 'random'). */
  order?: WithinStepOrder;
}

export interface ContinuousTimeTask extends TaskBase {
  kind: 'continuous-time';
  network: ContinuousTimeNetwork;
  horizon: number;
  recordTimes: boolean;
}

export interface SequentialTask extends TaskBase {
  kind: 'sequential';
  model: NextUserModelModule;
  /** Identifies the model instance a worker may cache between tasks. */
  modelKey: string;
  endUser: EndUserPolicy;
  maxBatch?: number;
}

/** Random walks on several graphs (DeepCas §4.1), graph i from `Rng.fromState(rngStates[i])`. */
export interface RandomWalksTask {
  kind: 'random-walks';
  graphs: WalkGraph[];
  options: WalkOptions;
  rngStates: RngState[];
}

/** A slice of one request's simulations. */
export type SimulationTask = IndependentCascadeTask | ContinuousTimeTask | SequentialTask;

export type EngineTask = SimulationTask | RandomWalksTask;

export interface EngineTaskResult {
  /**
   * `(to - from) x budget` rows, -1 after a simulation stopped; random walks: each graph's K x T
   * walk positions in turn (`WALK_END` after a walk stopped).
   */
  sequences: Int32Array;
  /** Infection times, same layout (NaN after a stop); continuous-time tasks with recordTimes only. */
  times?: Float64Array;
}

/** Per-thread caches: scratch buffers by graph size, loaded models by key. */
export class EngineContext {
  private readonly icScratch = new Map<number, IndependentCascadeScratch>();
  private readonly ctScratch = new Map<number, ContinuousTimeScratch>();
  private readonly models = new Map<string, Promise<NextUserModel>>();

  independentCascadeScratch(numNodes: number): IndependentCascadeScratch {
    let s = this.icScratch.get(numNodes);
    if (!s) this.icScratch.set(numNodes, (s = new IndependentCascadeScratch(numNodes)));
    return s;
  }

  continuousTimeScratch(numNodes: number): ContinuousTimeScratch {
    let s = this.ctScratch.get(numNodes);
    if (!s) this.ctScratch.set(numNodes, (s = new ContinuousTimeScratch(numNodes)));
    return s;
  }

  model(key: string, spec: NextUserModelModule): Promise<NextUserModel> {
    let m = this.models.get(key);
    if (!m) {
      m = loadNextUserModel(spec);
      this.models.set(key, m);
      m.catch(() => this.models.delete(key));
    }
    return m;
  }
}

/** Imports the module of a spec and calls its factory. */
export async function loadNextUserModel(spec: NextUserModelModule): Promise<NextUserModel> {
  const exportName = spec.exportName ?? 'createNextUserModel';
  const href = spec.module.startsWith('file:') || spec.module.includes('://') ? spec.module : (await import('node:url')).pathToFileURL(spec.module).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(href)) as Record<string, unknown>;
  } catch (e) {
    throw new CascadeError('MODEL', `cannot import next-user model module ${spec.module}: ${(e as Error).message}`, { cause: e });
  }
  const factory = mod[exportName];
  if (typeof factory !== 'function') throw new CascadeError('MODEL', `module ${spec.module} has no function export "${exportName}"`);
  return (await (factory as (o: unknown) => NextUserModel | Promise<NextUserModel>)(spec.options)) as NextUserModel;
}

/** Runs one engine task: a slice of one request's simulations, or the random walks of some graphs. */
export async function runEngineTask(task: EngineTask, context: EngineContext, signal?: AbortSignal): Promise<EngineTaskResult> {
  if (task.kind === 'random-walks') {
    const kt = task.options.walksPerGraph * task.options.walkLength;
    const out = new Int32Array(task.graphs.length * kt);
    task.graphs.forEach((g, i) => out.set(sampleWalks(g, task.options, Rng.fromState(task.rngStates[i])), i * kt));
    return { sequences: out };
  }
  const n = task.to - task.from;
  const requestRng = Rng.fromState(task.rngState);
  switch (task.kind) {
    case 'independent-cascade': {
      const out = new Int32Array(n * task.budget).fill(-1);
      const scratch = context.independentCascadeScratch(task.graph.numNodes);
      for (let s = task.from; s < task.to; s++) {
        simulateIndependentCascade(task.graph, task.seeds, task.budget, simulationStream(requestRng, s), out, (s - task.from) * task.budget, scratch, task.maxSteps, task.order ?? 'random');
      }
      return { sequences: out };
    }
    case 'continuous-time': {
      const out = new Int32Array(n * task.budget).fill(-1);
      const times = task.recordTimes ? new Float64Array(n * task.budget).fill(NaN) : undefined;
      const scratch = context.continuousTimeScratch(task.network.graph.numNodes);
      for (let s = task.from; s < task.to; s++) {
        simulateContinuousTime(task.network, task.seeds, task.budget, task.horizon, simulationStream(requestRng, s), out, times, (s - task.from) * task.budget, scratch);
      }
      return { sequences: out, times };
    }
    case 'sequential': {
      const model = await context.model(task.modelKey, task.model);
      const sequences = await sampleSequences(model, task.seeds, task.budget, requestRng, task.from, task.to, { endUser: task.endUser, maxBatch: task.maxBatch, signal });
      return { sequences };
    }
    default:
      throw new CascadeError('INTERNAL', `unknown engine task ${(task as { kind: string }).kind}`);
  }
}
