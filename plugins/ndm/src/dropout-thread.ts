import type { Worker } from 'node:worker_threads';
import { CascadeError } from '@cascade-lab/core';
import { moduleWorker } from '@cascade-lab/simulation';
import { keepFlags, type KeepFlagJob } from './dropout-flags.js';

/**
 * A worker thread that makes the dropout keep flags of upcoming training steps while the calling
 * thread runs the current one (issue 22: on Memetracker the flags are 35 M draws an epoch, about
 * 0.4 s of a 2.6 s epoch on the calling thread; TensorFlow leaves part of the second core idle).
 * The flags depend only on the jobs (seeds and shapes), so they are the same bits whichever thread
 * makes them. `request` answers null until the thread has started (the caller makes those flags
 * itself), so start-up never stalls a step. Idle, the thread does not keep the process alive.
 */
export class DropoutThread {
  private worker: Worker | null = null;
  private ready = false;
  private failed: Error | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(flags: Uint8Array[]): void; reject(error: Error): void }>();
  private readyWaiters: ((ready: boolean) => void)[] = [];

  /** Resolves true once the thread runs (false if it failed or was closed); starts it. */
  whenReady(): Promise<boolean> {
    this.start();
    if (this.ready || this.failed) return Promise.resolve(this.ready);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private settleWaiters(): void {
    for (const w of this.readyWaiters.splice(0)) w(this.ready);
  }

  /** Starts the thread (idempotent). */
  start(): void {
    if (this.worker || this.failed) return;
    const entry = new URL(import.meta.url.endsWith('.ts') ? './dropout-worker.ts' : './dropout-worker.js', import.meta.url);
    const worker = moduleWorker(entry);
    this.worker = worker;
    worker.unref();
    worker.on('message', (msg: { ready?: true; id?: number; flags?: Uint8Array[]; error?: string }) => {
      if (msg.ready) {
        this.ready = this.worker === worker;
        this.settleWaiters();
        return;
      }
      const job = this.pending.get(msg.id!);
      if (!job) return;
      this.pending.delete(msg.id!);
      if (this.pending.size === 0) worker.unref();
      if (msg.flags) job.resolve(msg.flags);
      else job.reject(new CascadeError('INTERNAL', `ndm dropout thread: ${msg.error}`));
    });
    const fail = (error: Error): void => {
      this.failed ??= error;
      this.ready = false;
      for (const job of this.pending.values()) job.reject(new CascadeError('INTERNAL', `ndm dropout thread failed: ${error.message}`, { cause: error }));
      this.pending.clear();
      this.settleWaiters();
    };
    worker.on('error', fail);
    worker.on('exit', (code: number) => fail(new Error(`exited with code ${code}`)));
  }

  /** The flags of `jobs`, made on the thread; null while it is not running (make them with `keepFlags`). */
  request(jobs: KeepFlagJob[]): Promise<Uint8Array[]> | null {
    if (!this.ready || !this.worker) return null;
    const id = this.nextId++;
    const worker = this.worker;
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, jobs });
    });
  }

  /** Stops the thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.ready = false;
    this.failed ??= new Error('closed');
    this.settleWaiters();
    if (worker) await worker.terminate();
  }
}

/** The flags of `jobs`, from `thread` when it is running, else made here. */
export function keepFlagsOf(jobs: KeepFlagJob[], thread: DropoutThread | null): Promise<Uint8Array[]> | Uint8Array[] {
  return thread?.request(jobs) ?? jobs.map(keepFlags);
}
