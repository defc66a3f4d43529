/**
 * A trial process of `cascade sweep` (started by pool.ts with `child_process.fork`). Each trial gets
 * a fresh process, so it has its own tensor backend instance and nothing (kernels, leaked tensors,
 * global RNG state) carries over from the trial before it.
 *
 * The trial stops (its run closed KILLED) on `cancel`, on SIGINT/SIGTERM, and when the sweep process
 * goes away (the IPC channel closes: the sweep was killed), so no trial outlives its sweep.
 */
import 'reflect-metadata';
import { CancelledError, CascadeError, createContainer, isCascadeError, PluginRegistry, Rng, throwIfCancelled, type Logger, type MicroscopicModel, type ProgressReporter, type ProgressTask } from '@cascade-lab/core';
import { claimPiece, runMicroscopicShard } from '@cascade-lab/evaluation';
import { initBackend } from '@cascade-lab/tensor-ops';
import { createTracker, type StartRunOptions, type TrackedRun, type Tracker } from '@cascade-lab/tracking';
import type { LoadedMicroscopicDataset } from '@cascade-lab/data';
import { executionOf, loadExperiment } from '../experiment/config.js';
import { settingsOf } from '../experiment/evaluate.js';
import { loadDataFor, runExperiment } from '../experiment/run.js';
import { pluginModules } from '../plugin-modules.js';
import { SWEEP_TAGS } from '../report/runs.js';
import type { FromTrial, ShardJob, ToTrial, TrialJob } from './protocol.js';

/** How long a trial may take to close its run after losing its sweep before it exits anyway. */
const ORPHAN_GRACE_MS = 15_000;

function send(message: FromTrial): void {
  // Without a callback, a send on a channel that just closed throws asynchronously and kills the
  // process before its run is closed; with one, losing the sweep is handled like a cancel.
  if (process.connected) process.send!(message, undefined, {}, (err) => err && stop('lost the sweep process'));
}

const ipcLogger: Logger = {
  debug: (message) => send({ type: 'log', level: 'debug', message }),
  info: (message) => send({ type: 'log', level: 'info', message }),
  warn: (message) => send({ type: 'log', level: 'warn', message }),
  error: (message) => send({ type: 'log', level: 'error', message }),
};

/** Progress forwarded to the sweep's display, at most every 250 ms per task (plus start and end). */
class IpcProgress implements ProgressReporter {
  private nextId = 1;
  start(label: string, total?: number): ProgressTask {
    const id = this.nextId++;
    let value = 0;
    let status: string | undefined;
    let last = 0;
    let finished = false;
    const post = (done: boolean, force = false): void => {
      const now = Date.now();
      if (!force && !done && now - last < 250) return;
      last = now;
      send({ type: 'task', id, label, total, value, status, done });
    };
    post(false, true);
    return {
      tick(n = 1, s?: string) {
        value += n;
        if (s !== undefined) status = s;
        post(false);
      },
      status(s: string) {
        status = s;
        post(false);
      },
      done() {
        if (finished) return;
        finished = true;
        post(true);
      },
    };
  }
}

/** Wraps the trial's tracker: the readable run name, the sweep tags, and a `started` message. */
class TrialTracker implements Tracker {
  constructor(
    private readonly inner: Tracker,
    private readonly job: TrialJob,
    private readonly onStart: (run: TrackedRun) => void,
  ) {}
  get kind() {
    return this.inner.kind;
  }
  get location() {
    return this.inner.location;
  }
  async startRun(options: StartRunOptions): Promise<TrackedRun> {
    const system = options.system === false ? false : { ...options.system, sourceName: 'cascade sweep' };
    const tags = { ...options.tags, ...this.job.tags, [SWEEP_TAGS.trialPid]: String(process.pid) };
    const run = await this.inner.startRun({ ...options, system, name: this.job.runName, tags });
    this.onStart(run);
    return run;
  }
  check(experiment?: string): Promise<void> {
    return this.inner.check(experiment);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

type TrialResult = Extract<FromTrial, { type: 'result' }>;

async function runTrial(job: TrialJob, signal: AbortSignal): Promise<TrialResult> {
  let runId: string | undefined;
  try {
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const exp = loadExperiment(job.baseFile, registry, job.overrideArgs);
    if (exp.hash !== job.hash)
      throw new Error(`trial config resolves to hash ${exp.hash}, the sweep expected ${job.hash} (did ${job.baseFile}, a file it includes, or the code, such as a plugin's hyperparameter defaults, change during the sweep? Rerun the sweep to plan it again)`);
    const inner = createTracker({ trackingUri: job.trackingUri, runsDir: job.runsDir, experiment: job.experiment, logger: ipcLogger });
    const tracker = new TrialTracker(inner, job, (run) => {
      runId = run.runId;
      send({ type: 'started', runId: run.runId, location: run.location });
    });
    try {
      // The sweep runs a trial per worker already: a trial evaluates in its own process.
      const outcome = await runExperiment(exp, { logger: ipcLogger, progress: new IpcProgress(), tracker, parentRunId: job.parentRunId, signal, singleProcessEvaluation: true });
      return { type: 'result', ok: true, runId: outcome.runId, location: outcome.location, outputDir: outcome.outputDir, metrics: outcome.metrics, summary: outcome.summary, backend: outcome.backend.name };
    } finally {
      await tracker.close();
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const cancelled = signal.aborted || err instanceof CancelledError;
    return { type: 'result', ok: false, cancelled, runId, error: { name: err.name, code: isCascadeError(err) ? err.code : undefined, message: err.message, stack: err.stack } };
  }
}

type ShardAnswer = Extract<FromTrial, { type: 'shardResult' | 'shardPieces' }> | Extract<FromTrial, { type: 'result'; ok: false }>;

/**
 * One shard of a microscopic evaluation (a queue worker's `ShardJob`, issue 20): the config from the
 * job (its hash checked), the dataset, the saved model through the plugin's `load`, then the shard's
 * part of the protocol with the evaluation's own generator. No run is opened: the evaluation's
 * coordinator (`cascade run` / `cascade evaluate` with --queue) merges the shards into its run.
 */
async function runShard(job: ShardJob, signal: AbortSignal): Promise<ShardAnswer> {
  try {
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const exp = loadExperiment(`${job.label} (the queued config)`, registry, [], { text: job.config });
    if (exp.hash !== job.hash)
      throw new CascadeError('USAGE', `the queued config of ${job.label} resolves to hash ${exp.hash} on this worker, the evaluation's is ${job.hash} (a different version of cascade-lab or of the plugin here?)`);
    if (exp.plugin.task !== 'microscopic') throw new CascadeError('USAGE', `evaluation shards are microscopic only; model ${exp.plugin.name} is ${exp.plugin.task}`);
    const backend = await initBackend(exp.config.backend, { logger: ipcLogger });
    const data = (await loadDataFor(exp, ipcLogger, job.baseDir)) as LoadedMicroscopicDataset;
    const execution = executionOf(exp.config);
    const model = (await exp.plugin.load(job.modelDir, { backend, logger: ipcLogger, signal, execution })) as MicroscopicModel;
    try {
      const ctx = { rng: Rng.fromState(job.rngState), progress: new IpcProgress(), signal, execution };
      if (job.pieces) {
        const { ranges, order, claimDir } = job.pieces;
        const results = [];
        for (const k of order) {
          throwIfCancelled(signal);
          if (!claimPiece(claimDir, k)) continue;
          results.push(await runMicroscopicShard(model, data, settingsOf(exp.config.evaluation), ctx, { shard: k, shards: ranges.length, range: ranges[k] }));
        }
        const cascades = results.reduce((s, r) => s + r.rows.length, 0);
        const seconds = results.reduce((s, r) => s + r.seconds, 0);
        ipcLogger.info(`${job.label}: process ${job.shard + 1} of ${job.shards}: ${results.length} of ${ranges.length} pieces (${results.map((r) => `${r.start}..${r.end - 1}`).join(', ') || 'none'}), ${cascades} evaluated, ${seconds.toFixed(1)} s`);
        return { type: 'shardPieces', results };
      }
      const result = await runMicroscopicShard(model, data, settingsOf(exp.config.evaluation), ctx, { shard: job.shard, shards: job.shards, range: job.range });
      ipcLogger.info(`${job.label}: shard ${job.shard + 1} of ${job.shards}: test cascades ${result.start}..${result.end - 1}, ${result.rows.length} evaluated, ${result.seconds.toFixed(1)} s`);
      return { type: 'shardResult', result };
    } finally {
      model.dispose();
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const cancelled = signal.aborted || err instanceof CancelledError;
    return { type: 'result', ok: false, cancelled, error: { name: err.name, code: isCascadeError(err) ? err.code : undefined, message: err.message, stack: err.stack } };
  }
}

const controller = new AbortController();
function stop(reason: string): void {
  if (!controller.signal.aborted) controller.abort(reason);
}
// stdout/stderr are pipes to the sweep process: once it is gone, a write fails with EPIPE, which
// must not crash the trial before it has closed its run.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => orphaned('lost the sweep process'));
process.on('SIGINT', () => stop('interrupted by SIGINT'));
process.on('SIGTERM', () => stop('interrupted by SIGTERM'));
let onOrphan: TrialJob['onOrphan'];
function orphaned(reason: string): void {
  // A queue worker that died (SIGKILL, a lost machine) loses its job's lock: the job runs again on
  // another worker, which closes this attempt's run FAILED; running on here would race it.
  // SIGKILL, not process.exit: the run's exit hook would close it KILLED on the way out.
  if (onOrphan === 'exit') process.kill(process.pid, 'SIGKILL');
  stop(reason);
}
process.on('disconnect', () => {
  orphaned('the sweep process went away');
  setTimeout(() => process.exit(130), ORPHAN_GRACE_MS).unref();
});
process.on('message', (message: ToTrial) => {
  if (message.type === 'cancel') stop(message.reason);
  else if (message.type === 'shard') {
    onOrphan = message.job.onOrphan;
    void runShard(message.job, controller.signal).then((answer) => {
      const code = answer.type === 'shardResult' || answer.type === 'shardPieces' ? 0 : answer.cancelled ? 130 : 1;
      if (process.connected) process.send!(answer, () => process.exit(code));
      else process.exit(code);
    });
  } else if (message.type === 'run') {
    onOrphan = message.job.onOrphan;
    void runTrial(message.job, controller.signal).then((result) => {
      // The run is closed and the tracker flushed: exit once the result is delivered (engines and
      // backends may hold handles that would keep the process alive).
      const code = result.ok ? 0 : result.cancelled ? 130 : 1;
      if (process.connected) process.send!(result, () => process.exit(code));
      else process.exit(code);
    });
  }
});
