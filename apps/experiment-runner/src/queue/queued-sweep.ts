/**
 * `cascade sweep CONFIG --queue redis://...`: the sweep's pending trials become jobs of the BullMQ
 * queue (`trials`), one per trial with the id `<sweep>.<config hash>` (adding an id that exists is a
 * no-op, so a trial is never queued twice), and `cascade worker` processes on any machine run them.
 * This process owns the parent run (as a local sweep does), follows the jobs by polling their state
 * (which survives a Redis restart, unlike pub/sub events), shows progress, and fills the trial table.
 *
 * Ctrl-C: by default the jobs stay queued (workers finish them; rerunning the sweep follows them
 * again); with `--cancel-on-exit` waiting jobs are removed and running ones are asked to stop.
 */
import { CancelledError, type Logger } from '@cascade-lab/core';
import { createTracker, withRun } from '@cascade-lab/tracking';
import { Queue, type Job, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { runSourceFor, SWEEP_TAGS, type RunSource } from '../report/runs.js';
import type { ResolvedSweep, SweepTrial } from '../sweep/config.js';
import type { SweepDisplay } from '../sweep/display.js';
import type { TrialOutcome } from '../sweep/pool.js';
import { closeDeadParents, concludeSweep, jobFor, planSweep, TableUploads, type SweepOutcome } from '../sweep/run-sweep.js';
import type { TrialRow } from '../sweep/table.js';
import { redact, type QueueTarget } from './connection.js';
import { CANCELLED_PREFIX, cancelKey, KEEP_SECONDS, QUEUE_PREFIX, TRIAL_ATTEMPTS, TRIALS_QUEUE, type QueuedTrial, type TrialJobResult, type TrialProgress } from './jobs.js';

export interface QueuedSweepOptions {
  target: QueueTarget;
  logger: Logger;
  display: SweepDisplay;
  trackingUri?: string;
  /** Ctrl-C removes waiting jobs and stops running ones (default: they stay queued). */
  cancelOnExit?: boolean;
  /** Cancellation from outside; when absent, SIGINT/SIGTERM stop following (twice: at once). */
  signal?: AbortSignal;
  /** How often job states are read (ms, default 500). */
  pollMs?: number;
  /** With `cancelOnExit`: how long to wait for running trials to close their runs (ms, default 30 s). */
  graceMs?: number;
}

/** The job id of a trial: its sweep and its config hash (the trial's identity in the tracking too). */
export function trialJobId(sweepName: string, hash: string): string {
  // BullMQ job ids may not contain ':' (its key separator) nor be plain integers.
  return `${sweepName.replace(/[^A-Za-z0-9_.-]+/g, '_')}.${hash}`;
}

const WAITING = new Set(['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children', 'wait']);

export async function runQueuedSweep(sweep: ResolvedSweep, options: QueuedSweepOptions): Promise<SweepOutcome> {
  const { logger, display, target } = options;
  const pollMs = options.pollMs ?? 500;
  const trackingUri = options.trackingUri ?? sweep.trackingUri;
  const tracker = createTracker({ trackingUri, runsDir: sweep.runsDir, experiment: sweep.experiment, logger });
  const queue = new Queue<QueuedTrial, TrialJobResult>(TRIALS_QUEUE, { connection: target.connection as ConnectionOptions, prefix: QUEUE_PREFIX });
  const redis = new Redis({ ...target.connection, lazyConnect: true });
  let down = false;
  const onRedisError = (e: Error) => {
    if (!down) logger.warn(`queue ${target.display}: ${redact(e.message, target)} (reconnecting; the sweep waits)`);
    down = true;
  };
  queue.on('error', onRedisError);
  redis.on('error', onRedisError);
  redis.on('ready', () => {
    if (down) logger.info(`queue ${target.display}: connected again`);
    down = false;
  });

  const controller = new AbortController();
  const outer = options.signal;
  const onOuter = () => controller.abort(outer?.reason ?? 'cancelled');
  outer?.addEventListener('abort', onOuter, { once: true });
  if (outer?.aborted) onOuter();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      logger.warn(
        options.cancelOnExit
          ? `${sig}: stopping the sweep and cancelling its jobs (--cancel-on-exit): waiting jobs are removed, running trials close their runs as KILLED (${sig} again to exit now)`
          : `${sig}: no longer following the sweep; its jobs STAY QUEUED and workers finish them (use --cancel-on-exit to cancel them instead; ${sig} again to exit now)`,
      );
      controller.abort(`interrupted by ${sig}`);
    } else process.exit(130);
  };
  const handleSignals = outer === undefined;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  // Redis commands wait through an outage; a Ctrl-C must not.
  const guarded = <T>(p: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new CancelledError(String(controller.signal.reason ?? 'cancelled')));
      if (controller.signal.aborted) return onAbort();
      controller.signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => controller.signal.removeEventListener('abort', onAbort));
    });

  try {
    const source = runSourceFor(tracker);
    const plan = await planSweep(sweep, source);
    await closeDeadParents(sweep, source, logger);
    const rows = plan.rows;
    const pending = rows.filter((r) => r.state === 'pending');
    const skipped = rows.length - pending.length;
    if (skipped) logger.info(`${skipped} of ${rows.length} trials already finished in earlier runs of this sweep: skipped`);
    await guarded(queue.waitUntilReady());

    return await withRun(
      tracker,
      {
        name: sweep.config.name,
        experiment: sweep.experiment,
        signal: controller.signal,
        handleSignals: false,
        logger,
        tags: {
          [SWEEP_TAGS.sweep]: sweep.config.name,
          [SWEEP_TAGS.role]: 'parent',
          [SWEEP_TAGS.sweepPid]: String(process.pid),
          [SWEEP_TAGS.sweepQueue]: target.display,
          'cascade.sweep.file': sweep.file,
          'cascade.sweep.base': sweep.baseFile,
          ...(sweep.config.description ? { 'mlflow.note.content': sweep.config.description } : {}),
        },
      },
      async (parent, signal) => {
        await parent.logParams({ sweep: { name: sweep.config.name, base: sweep.baseFile, trials: rows.length, pending: pending.length, queue: target.display } });
        await parent.logText(sweep.text, 'sweep.yaml');
        const uploads = new TableUploads(parent, sweep.config.name, rows, logger);
        await uploads.push();

        const dataFor = (row: TrialRow): QueuedTrial => {
          const trial = sweep.trials[row.index];
          return { sweep: sweep.config.name, index: row.index, label: trial.label, seed: trial.seed, job: jobFor(sweep, trial, parent.runId, trackingUri) };
        };
        const enqueue = async (row: TrialRow): Promise<void> => {
          const id = trialJobId(sweep.config.name, row.hash);
          await redis.del(cancelKey(id));
          await queue.add(sweep.config.name, dataFor(row), { jobId: id, attempts: TRIAL_ATTEMPTS, removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS } });
        };
        let following = 0;
        for (const row of pending) {
          const id = trialJobId(sweep.config.name, row.hash);
          const existing = await guarded(queue.getJob(id));
          if (existing) {
            const state = await guarded(existing.getState());
            if (WAITING.has(state) || state === 'active') {
              following++;
              continue;
            }
            // An ended job of a trial that did not finish in the tracking: queue it afresh.
            await guarded(existing.remove());
          }
          await guarded(enqueue(row));
        }
        logger.info(`queued ${pending.length - following} trial job(s) on ${target.display}${following ? `; following ${following} job(s) queued earlier` : ''}; start workers with \`cascade worker --queue <url>\``);

        const active = new Map<number, number>();
        const freeSlot = (): number => {
          const used = new Set(active.values());
          let s = 0;
          while (used.has(s)) s++;
          return s;
        };
        const started = (row: TrialRow): number => {
          let slot = active.get(row.index);
          if (slot === undefined) {
            active.set(row.index, (slot = freeSlot()));
            row.state = 'running';
            display.trialStarted(describe(sweep.trials[row.index]), slot);
          }
          return slot;
        };
        const ended = (row: TrialRow, outcome: TrialOutcome): void => {
          const slot = started(row);
          active.delete(row.index);
          row.state = outcome.status;
          row.runId = outcome.runId ?? row.runId;
          row.metrics = outcome.metrics;
          row.error = outcome.error;
          row.seconds = outcome.seconds;
          display.trialEnded(describe(sweep.trials[row.index]), slot, outcome);
          const done = rows.filter((r) => r.state === 'FINISHED').length;
          parent.logMetrics({ 'evaluation.trialsFinished': done + skipped, 'evaluation.trialsFailed': rows.filter((r) => r.state === 'FAILED').length }, done + skipped);
          void uploads.push();
        };

        const unfinished = new Set(pending.map((r) => r.index));
        display.begin(pending.length, skipped);
        try {
          while (unfinished.size > 0 && !signal.aborted) {
            for (const index of [...unfinished]) {
              if (signal.aborted) break;
              const row = rows[index];
              const id = trialJobId(sweep.config.name, row.hash);
              let job: Job<QueuedTrial, TrialJobResult> | undefined;
              let state: string;
              try {
                job = await guarded(queue.getJob(id));
                state = job ? await guarded(job.getState()) : 'missing';
                // The job may have ended between the two reads: read its result again.
                if (job && (state === 'completed' || state === 'failed')) job = await guarded(queue.getJob(id));
                if (job && state === 'completed' && !job.returnvalue) continue;
              } catch (e) {
                if (e instanceof CancelledError) break;
                throw e;
              }
              if (!job || state === 'unknown' || state === 'missing') {
                // Redis lost the job (restarted without persistence, flushed): queue it again.
                display.log('warn', `warning: the job of ${describe(sweep.trials[index])} is gone from the queue (Redis restarted without persistence?): queued again`);
                await guarded(enqueue(row)).catch((e) => (e instanceof CancelledError ? undefined : Promise.reject(e)));
                continue;
              }
              if (state === 'active') {
                const slot = started(row);
                const progress = job.progress as TrialProgress | number | undefined;
                if (progress && typeof progress === 'object') {
                  if (progress.runId && row.runId !== progress.runId) {
                    row.runId = progress.runId;
                    void uploads.push();
                  }
                  if (progress.task) display.task(describe(sweep.trials[index]), slot, { ...progress.task, label: `${progress.task.label} [${progress.worker}${progress.attempt > 1 ? `, attempt ${progress.attempt}` : ''}]` });
                }
              } else if (state === 'completed') {
                const r = job.returnvalue;
                unfinished.delete(index);
                ended(row, { status: 'FINISHED', runId: r.runId, location: r.location, outputDir: r.outputDir, metrics: r.metrics, summary: r.summary, seconds: r.seconds });
              } else if (state === 'failed') {
                unfinished.delete(index);
                const reason = job.failedReason ?? 'failed';
                const cancelled = reason.startsWith(CANCELLED_PREFIX);
                // A job that failed for good after its workers died has nobody else to close the
                // runs of its attempts.
                await closeOpenTrialRuns(source, sweep, row.hash, `the trial's job failed: ${reason}`, logger);
                const progress = job.progress as TrialProgress | undefined;
                ended(row, { status: cancelled ? 'KILLED' : 'FAILED', runId: (typeof progress === 'object' && progress?.runId) || row.runId, error: reason, seconds: job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : 0 });
              } else if (WAITING.has(state) && active.has(index)) {
                // Back in the queue: its worker died or stopped; another one takes it up.
                active.delete(index);
                row.state = 'pending';
                display.log('warn', `warning: ${describe(sweep.trials[index])} is back in the queue (${job.failedReason ? `attempt failed: ${job.failedReason}` : 'its worker stopped or died'}); another worker takes it up`);
              }
            }
            if (unfinished.size > 0) await sleep(pollMs, signal);
          }
        } finally {
          display.end();
        }

        if (signal.aborted) {
          const left = [...unfinished].map((i) => rows[i]);
          if (options.cancelOnExit) await cancelJobs(left);
          else if (left.length)
            logger.warn(
              `${left.length} trial job(s) stay in the queue ${target.display} and run on the workers (their runs are nested under this parent run, now closed KILLED); ` +
                'run the same sweep command again to follow them, `cascade queue status` to see them, or --cancel-on-exit to cancel them next time',
            );
        }
        for (const r of rows) if (r.state === 'pending' || r.state === 'running') r.state = options.cancelOnExit || !signal.aborted ? 'KILLED' : r.state;
        return concludeSweep(parent, rows, uploads, pending.length, skipped, signal);
      },
    );
  } finally {
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    outer?.removeEventListener('abort', onOuter);
    await queue.close().catch(() => undefined);
    redis.disconnect();
    await tracker.close();
  }

  /** --cancel-on-exit: removes waiting jobs, asks workers to stop running ones, waits for them. */
  async function cancelJobs(left: TrialRow[]): Promise<void> {
    let removed = 0;
    const running: string[] = [];
    for (const row of left) {
      const id = trialJobId(sweep.config.name, row.hash);
      const job = await queue.getJob(id);
      if (!job) continue;
      const state = await job.getState();
      if (state === 'active') {
        await redis.set(cancelKey(id), 'cancelled by the sweep (--cancel-on-exit)', 'EX', 24 * 3600);
        running.push(id);
      } else if (WAITING.has(state)) {
        // A job that a worker takes at this very moment cannot be removed (it is locked): stop it.
        try {
          await job.remove();
          removed++;
        } catch {
          await redis.set(cancelKey(id), 'cancelled by the sweep (--cancel-on-exit)', 'EX', 24 * 3600);
          running.push(id);
        }
      }
    }
    logger.warn(`cancelled the sweep's jobs: ${removed} waiting job(s) removed from the queue, ${running.length} running trial(s) asked to stop (their runs close KILLED)`);
    const deadline = Date.now() + (options.graceMs ?? 30_000);
    while (running.length && Date.now() < deadline) {
      const states = await Promise.all(running.map(async (id) => (await queue.getJob(id))?.getState() ?? 'missing'));
      if (states.every((s) => s !== 'active')) return;
      await sleep(500);
    }
    if (running.length && Date.now() >= deadline) logger.warn('some running trials did not stop in time; their workers stop them when they see the request');
  }
}

/** Closes RUNNING runs of one trial FAILED (runs whose worker died and that no attempt took over). */
async function closeOpenTrialRuns(source: RunSource, sweep: ResolvedSweep, hash: string, reason: string, logger: Logger): Promise<void> {
  try {
    const open = await source.list({ experiment: sweep.experiment, tags: { [SWEEP_TAGS.sweep]: sweep.config.name, [SWEEP_TAGS.role]: 'trial', [SWEEP_TAGS.trialHash]: hash }, statuses: ['RUNNING'] });
    for (const r of open) await source.closeAbandoned(r.runId, 'FAILED', reason);
  } catch (e) {
    logger.warn(`could not close the open runs of trial ${hash}: ${(e as Error).message}`);
  }
}

function describe(trial: SweepTrial): string {
  return `${trial.label} seed=${trial.seed}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
