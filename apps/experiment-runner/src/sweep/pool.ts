/**
 * Runs trials in parallel child processes, one fresh process per trial and at most `workers` at a
 * time. A process that fails or dies fails its trial only; the others go on.
 *
 * Trial processes run `worker.js` from `dist/` when this module runs compiled, and `worker.ts`
 * through tsx when it runs from the TypeScript sources (Jest, `node --import tsx`), with the
 * workspace packages mapped to their sources (tsconfig.sources.json).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inheritedNodeFlags, type LogLevel } from '@cascade-lab/core';
import type { MicroscopicShardResult } from '@cascade-lab/evaluation';
import type { FromTrial, ShardJob, TrialJob } from './protocol.js';

const fromSources = import.meta.url.endsWith('.ts');

export type TrialStatus = 'FINISHED' | 'FAILED' | 'KILLED';

export interface TrialOutcome {
  status: TrialStatus;
  runId?: string;
  location?: string;
  outputDir?: string;
  metrics?: Record<string, number>;
  summary?: string;
  /** Error message of a failed or killed trial. */
  error?: string;
  errorCode?: string;
  seconds: number;
  /** The trial process died before closing its run (`runId`): the sweep must close it. */
  abandoned?: boolean;
  /** The process ended without reporting a result (killed, crashed). */
  died?: boolean;
  /** An evaluation shard's result (a `ShardJob`; it opens no run). */
  shard?: MicroscopicShardResult;
  /** The results of the pieces an evaluation process claimed (a `ShardJob` with `pieces`). */
  pieces?: MicroscopicShardResult[];
}

export interface TrialTaskUpdate {
  /** The task's id within its process (a process numbers its tasks from 1). */
  id?: number;
  label: string;
  total?: number;
  value: number;
  status?: string;
  done: boolean;
}

/** What the pool reports while it works; `slot` is the worker position (0..workers-1). */
export interface PoolEvents {
  trialStarted?(index: number, slot: number): void;
  runStarted?(index: number, runId: string, location: string): void;
  task?(index: number, slot: number, update: TrialTaskUpdate): void;
  log?(index: number, level: Exclude<LogLevel, 'silent'>, message: string): void;
  trialEnded?(index: number, slot: number, outcome: TrialOutcome): void;
}

export interface PoolOptions {
  /** Parallel trial processes (default: available cores). */
  workers?: number;
  events?: PoolEvents;
  /** After a cancel, how long trials may take to close their runs before they are killed (ms). */
  graceMs?: number;
}

/** Default parallelism: one trial process per core. */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

function spawnTrialProcess(): ChildProcess {
  const entry = fileURLToPath(new URL(fromSources ? './worker.ts' : './worker.js', import.meta.url));
  const execArgv = inheritedNodeFlags();
  const env = { ...process.env };
  if (fromSources) {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    execArgv.push('--import', pathToFileURL(tsx).href);
    env.TSX_TSCONFIG_PATH = fileURLToPath(new URL('./tsconfig.sources.json', import.meta.url));
  }
  return fork(entry, [], { execArgv, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
}

/** Keeps the last `max` characters a stream wrote (for the error of a process that died). */
function tailOf(stream: NodeJS.ReadableStream | null, max = 4000): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-max);
  });
  return () => text.trim();
}

export class TrialPool {
  readonly workers: number;
  private readonly events: PoolEvents;
  private readonly graceMs: number;
  private readonly live = new Map<number, ChildProcess>();
  private cancelled = false;
  private killTimer?: NodeJS.Timeout;

  constructor(options: PoolOptions = {}) {
    const n = options.workers ?? defaultWorkers();
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`workers must be a positive integer, got ${n}`);
    this.workers = n;
    this.events = options.events ?? {};
    this.graceMs = options.graceMs ?? 30_000;
  }

  /** Runs every job (index -> job); resolves with every outcome once all trials ended. */
  async run(jobs: { index: number; job: TrialJob | ShardJob }[]): Promise<Map<number, TrialOutcome>> {
    const outcomes = new Map<number, TrialOutcome>();
    const queue = [...jobs];
    const slots = Array.from({ length: Math.min(this.workers, jobs.length) }, (_, slot) => slot);
    await Promise.all(
      slots.map(async (slot) => {
        for (;;) {
          const next = this.cancelled ? undefined : queue.shift();
          if (!next) return;
          this.events.trialStarted?.(next.index, slot);
          const outcome = await this.runOne(next.index, next.job, slot);
          outcomes.set(next.index, outcome);
          this.events.trialEnded?.(next.index, slot, outcome);
        }
      }),
    );
    if (this.killTimer) clearTimeout(this.killTimer);
    return outcomes;
  }

  /** Stops starting trials and asks the running ones to stop (their runs close KILLED). */
  cancel(reason: string): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const child of this.live.values()) if (child.connected) child.send({ type: 'cancel', reason });
    this.killTimer = setTimeout(() => this.kill(), this.graceMs);
    this.killTimer.unref();
  }

  /** Kills the running trial processes at once (their runs are marked KILLED by their exit hooks). */
  kill(): void {
    this.cancelled = true;
    for (const child of this.live.values()) child.kill('SIGKILL');
  }

  private runOne(index: number, job: TrialJob | ShardJob, slot: number): Promise<TrialOutcome> {
    const started = Date.now();
    const seconds = () => (Date.now() - started) / 1000;
    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = spawnTrialProcess();
      } catch (e) {
        resolve({ status: 'FAILED', error: `could not start a trial process: ${(e as Error).message}`, seconds: seconds() });
        return;
      }
      this.live.set(index, child);
      const stderr = tailOf(child.stderr);
      const stdout = tailOf(child.stdout);
      let result: Extract<FromTrial, { type: 'result' }> | undefined;
      let shard: MicroscopicShardResult | undefined;
      let pieces: MicroscopicShardResult[] | undefined;
      let runId: string | undefined;
      let location: string | undefined;
      child.on('message', (msg: FromTrial) => {
        if (msg.type === 'log') this.events.log?.(index, msg.level, msg.message);
        else if (msg.type === 'task') this.events.task?.(index, slot, msg);
        else if (msg.type === 'started') {
          runId = msg.runId;
          location = msg.location;
          this.events.runStarted?.(index, msg.runId, msg.location);
        } else if (msg.type === 'shardResult') shard = msg.result;
        else if (msg.type === 'shardPieces') pieces = msg.results;
        else if (msg.type === 'result') result = msg;
      });
      child.once('error', (e) => {
        if (!result) result = { type: 'result', ok: false, cancelled: false, runId, error: { name: 'Error', message: `trial process error: ${e.message}` } };
      });
      child.once('exit', (code, signal) => {
        this.live.delete(index);
        if (shard && !result) {
          resolve({ status: 'FINISHED', shard, seconds: seconds() });
        } else if (pieces && !result) {
          resolve({ status: 'FINISHED', pieces, seconds: seconds() });
        } else if (result?.ok) {
          resolve({ status: 'FINISHED', runId: result.runId, location: result.location, outputDir: result.outputDir, metrics: result.metrics, summary: result.summary, seconds: seconds() });
        } else if (result) {
          resolve({ status: result.cancelled ? 'KILLED' : 'FAILED', runId: result.runId ?? runId, location, error: result.error.message, errorCode: result.error.code, seconds: seconds() });
        } else {
          const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
          const output = stderr() || stdout();
          resolve({
            status: this.cancelled ? 'KILLED' : 'FAILED',
            runId,
            location,
            error: `trial process ${why} before reporting a result${output ? `:\n${output.split('\n').slice(-15).join('\n')}` : ''}`,
            seconds: seconds(),
            died: true,
            abandoned: runId !== undefined,
          });
        }
      });
      if (this.cancelled) child.send({ type: 'cancel', reason: 'the sweep was cancelled' });
      child.send('kind' in job && job.kind === 'shard' ? { type: 'shard', job } : { type: 'run', job: job as TrialJob });
    });
  }
}
