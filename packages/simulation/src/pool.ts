/**
 * A pool of worker threads that run engine tasks (see tasks.ts). The tensor backends used by
 * models are single-threaded in Node (WASM has no threads there), so parallel simulation means
 * threads; results never depend on the pool size, because each simulation draws from its own
 * stream.
 *
 * Workers are started on first use. They import the engines from `dist/` when this module runs
 * compiled, and from the TypeScript sources through tsx when it runs from `src/` (Jest), with
 * `@cascade-lab/*` mapped to the sources (tsconfig.worker-src.json). A process started with
 * `--import tsx` (benchmarks, examples) also gets tsx in its workers, so next-user model modules
 * may be `.ts` files there.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { CancelledError, CascadeError, ERROR_CODES, type ErrorCode, type ExecutionSettings } from '@cascade-lab/core';
import type { EngineTask, EngineTaskResult } from './tasks.js';
import { moduleWorker, underTsx } from './module-worker.js';

export interface SimulationPoolOptions {
  /** Number of worker threads (default: available cores - 1, at least 1). */
  workers?: number;
  /** Register tsx in the workers (default: when running from sources or under tsx). */
  typescript?: boolean;
}

/** A message from a worker. */
export type WorkerReply =
  | { id: number; ok: true; result: EngineTaskResult }
  | { id: number; ok: false; error: { name: string; message: string; code?: string; stack?: string } };

interface Job {
  id: number;
  task: EngineTask;
  resolve(result: EngineTaskResult): void;
  reject(error: unknown): void;
  settled: boolean;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  /** Whether this worker has answered at least once (a worker that dies before is a start-up failure). */
  answered: boolean;
}

const fromSources = import.meta.url.endsWith('.ts');

function reviveError(e: { name: string; message: string; code?: string; stack?: string }): Error {
  const err = e.code && e.code in ERROR_CODES ? new CascadeError(e.code as ErrorCode, e.message) : new Error(e.message);
  if (e.stack) err.stack = `${err.name}: ${e.message}\n    [in simulation worker]\n${e.stack.split('\n').slice(1).join('\n')}`;
  return err;
}

export class SimulationPool {
  readonly size: number;
  private readonly typescript: boolean;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private broken: CascadeError | undefined;
  private readonly exited = new WeakSet<Worker>();

  constructor(options: SimulationPoolOptions = {}) {
    const n = options.workers ?? Math.max(1, availableParallelism() - 1);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`SimulationPool: workers must be a positive integer, got ${n}`);
    this.size = n;
    this.typescript = options.typescript ?? (fromSources || underTsx());
  }

  private spawn(): Worker {
    return moduleWorker(new URL(fromSources ? './worker.ts' : './worker.js', import.meta.url), {
      typescript: this.typescript,
      tsconfig: fromSources ? fileURLToPath(new URL('../tsconfig.worker-src.json', import.meta.url)) : undefined,
    });
  }

  private addSlot(): Slot {
    const slot: Slot = { worker: this.spawn(), job: undefined, answered: false };
    this.attach(slot);
    this.slots.push(slot);
    return slot;
  }

  private attach(slot: Slot): void {
    const w = slot.worker;
    w.on('message', (msg: WorkerReply) => {
      if (slot.worker !== w) return;
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      slot.job = undefined;
      slot.answered = true;
      if (!job.settled) {
        job.settled = true;
        if (msg.ok) job.resolve(msg.result);
        else job.reject(reviveError(msg.error));
      }
      this.dispatch();
    });
    let failed = false;
    const fail = (error: Error): void => {
      if (failed || slot.worker !== w) return;
      failed = true;
      const job = slot.job;
      slot.job = undefined;
      const failure = new CascadeError('INTERNAL', `simulation worker failed${slot.answered ? '' : ' to start'}: ${error.message}`, { cause: error });
      if (job && !job.settled) {
        job.settled = true;
        job.reject(failure);
      }
      if (this.closed) return;
      if (!slot.answered) {
        // It would fail again: stop here rather than respawn forever.
        this.broken = failure;
        for (const queued of this.queue.splice(0)) {
          if (!queued.settled) {
            queued.settled = true;
            queued.reject(failure);
          }
        }
        return;
      }
      // A worker that worked before died (e.g. out of memory): replace it and go on with the queue.
      slot.worker = this.spawn();
      slot.answered = false;
      this.attach(slot);
      this.dispatch();
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      this.exited.add(w);
      if (!this.closed) fail(new Error(`worker exited with code ${code}`));
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === undefined);
      if (!slot && this.slots.length < this.size) slot = this.addSlot();
      if (!slot) break;
      const job = this.queue.shift()!;
      if (job.settled) continue;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, task: job.task });
    }
    // Idle workers must not keep the process alive.
    for (const s of this.slots) if (s.job === undefined) s.worker.unref();
  }

  /** Runs a task on the next free worker. Rejects with CancelledError when `signal` fires first. */
  run(task: EngineTask, signal?: AbortSignal): Promise<EngineTaskResult> {
    if (this.closed) return Promise.reject(new CascadeError('INTERNAL', 'SimulationPool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    if (signal?.aborted) return Promise.reject(new CancelledError());
    return new Promise<EngineTaskResult>((resolve, reject) => {
      const job: Job = { id: this.nextId++, task, resolve, reject, settled: false };
      if (signal) {
        const onAbort = (): void => {
          if (job.settled) return;
          job.settled = true; // a running job finishes in its worker; its result is dropped
          reject(new CancelledError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.resolve = (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        };
        job.reject = (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        };
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Stops every worker; queued tasks are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      if (!job.settled) {
        job.settled = true;
        job.reject(new CascadeError('INTERNAL', 'SimulationPool closed'));
      }
    }
    for (const slot of this.slots) {
      const job = slot.job;
      slot.job = undefined;
      if (job && !job.settled) {
        job.settled = true;
        job.reject(new CascadeError('INTERNAL', 'SimulationPool closed while a task was running'));
      }
    }
    await Promise.all(this.slots.filter((s) => !this.exited.has(s.worker)).map((s) => s.worker.terminate()));
  }
}

/**
 * The pool a simulator should use under these execution settings (the config's `execution.workers`,
 * which reaches plugins through TrainContext/InferenceContext): `undefined` for one worker (simulate
 * in this thread), else a pool of that many threads. The caller owns it and closes it on dispose.
 * Results are the same either way: every simulation draws from its own stream.
 */
export function simulationPoolFor(execution: Pick<ExecutionSettings, 'workers'>, options: Omit<SimulationPoolOptions, 'workers'> = {}): SimulationPool | undefined {
  return execution.workers > 1 ? new SimulationPool({ ...options, workers: execution.workers }) : undefined;
}
