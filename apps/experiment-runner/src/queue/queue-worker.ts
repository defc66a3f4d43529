/**
 * `cascade worker --queue redis://...`: takes trial jobs from the queue and runs each the way a
 * local sweep does (a fresh trial process per job, `sweep/pool.ts` and `sweep/worker.ts`), logging
 * to the tracking the job names (the sweep's MLflow server or local store; `--tracking-uri` and
 * MLFLOW_TRACKING_URI on the worker override it).
 *
 * Faults (issue 20):
 * - This worker dies (SIGKILL, lost machine): its trial process exits at once (`onOrphan: 'exit'`),
 *   BullMQ's lock on the job expires and another worker's stalled-job check puts it back; the worker
 *   that takes it up closes the lost attempt's run FAILED before it starts its own, so the trial
 *   ends with one FINISHED run and no run is left RUNNING.
 * - A model error (bad hyperparameters, a plugin's CascadeError) fails the job once with its
 *   message (UnrecoverableError: no retry); a trial process that dies is retried.
 * - Redis goes away: ioredis reconnects (commands wait), the trial process runs on meanwhile.
 */
import { hostname } from 'node:os';
import { Worker, UnrecoverableError, type Job, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '@cascade-lab/core';
import { createTracker } from '@cascade-lab/tracking';
import { runSourceFor, SWEEP_TAGS, type RunRecord } from '../report/runs.js';
import { TrialPool, type TrialOutcome } from '../sweep/pool.js';
import type { TrialJob } from '../sweep/protocol.js';
import { redact, type QueueTarget } from './connection.js';
import { CANCELLED_PREFIX, cancelKey, KEEP_SECONDS, QUEUE_PREFIX, TRIALS_QUEUE, type QueuedTrial, type TrialJobResult, type TrialProgress } from './jobs.js';

export interface QueueWorkerOptions {
  target: QueueTarget;
  logger: Logger;
  /** Jobs run at the same time, each in its own process (default 1). */
  concurrency?: number;
  /** Overrides the tracking URI the jobs name. */
  trackingUri?: string;
  /** How long a job's lock lasts without renewal (ms): a dead worker's job is retried after it. */
  lockMs?: number;
  /** After a cancel, how long a trial may take to close its run before it is killed (ms). */
  graceMs?: number;
  /** Stop after this many jobs (tests, benchmarks, batch Jobs). */
  maxJobs?: number;
  /** Stop when the queue stays empty this long (ms), e.g. a Kubernetes Job that should complete. */
  exitWhenIdleMs?: number;
  signal?: AbortSignal;
}

export interface QueueWorkerSummary {
  finished: number;
  failed: number;
}

export const workerId = (): string => `${hostname()}:${process.pid}`;

/** Runs jobs until `signal` aborts (or maxJobs / idle); resolves once the worker is closed. */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  const { target, logger } = options;
  const me = workerId();
  const lockMs = options.lockMs ?? 30_000;
  const pools = new Set<TrialPool>();
  // Reads the sweep's cancel requests (a plain key per job; see jobs.ts).
  const redis = new Redis({ ...target.connection, lazyConnect: true });
  redis.on('error', () => undefined);
  const summary: QueueWorkerSummary = { finished: 0, failed: 0 };
  let stopping = false;
  let lastActivity = Date.now();
  let activeJobs = 0;

  const processor = async (job: Job<QueuedTrial, TrialJobResult>): Promise<TrialJobResult> => {
    activeJobs++;
    try {
      return await runJob(job);
    } finally {
      activeJobs--;
      lastActivity = Date.now();
    }
  };

  const runJob = async (job: Job<QueuedTrial, TrialJobResult>): Promise<TrialJobResult> => {
    const data = job.data;
    const attempt = (job.attemptsStarted ?? job.attemptsMade + 1) || 1;
    const trial: TrialJob = {
      ...data.job,
      trackingUri: options.trackingUri ?? data.job.trackingUri,
      onOrphan: 'exit',
      tags: { ...data.job.tags, [SWEEP_TAGS.queueWorker]: me, [SWEEP_TAGS.queueAttempt]: String(attempt) },
    };
    const what = `${data.sweep} #${data.index} ${data.label} seed=${data.seed}`;
    logger.info(`${what}: attempt ${attempt} starts on ${me}`);
    const done = await takeOver(trial, data, attempt, me, logger);
    if (done) {
      // At-least-once delivery: an attempt whose result did not reach Redis (it went away at that
      // moment) comes back; its trial already FINISHED, so that run is the result.
      logger.warn(`${what}: already FINISHED in run ${done.runId} (an earlier attempt whose result did not reach the queue); not run again`);
      summary.finished++;
      return { runId: done.runId, location: done.location, outputDir: '', metrics: done.metrics, summary: 'finished by an earlier attempt', seconds: 0, worker: me };
    }

    let progress: TrialProgress = { worker: me, attempt };
    let lastPost = 0;
    const post = (force: boolean): void => {
      const now = Date.now();
      if (!force && now - lastPost < 1000) return;
      lastPost = now;
      job.updateProgress(progress as unknown as object).catch((e) => logger.debug(`progress of ${what}: ${redact((e as Error).message, target)}`));
    };
    post(true);
    const pool = new TrialPool({
      workers: 1,
      graceMs: options.graceMs,
      events: {
        runStarted: (_i, runId) => {
          progress = { ...progress, runId };
          post(true);
        },
        task: (_i, _slot, update) => {
          progress = { ...progress, task: { label: update.label, total: update.total, value: update.value, status: update.status, done: update.done } };
          post(false);
        },
        log: (_i, level, message) => {
          if (level === 'warn' || level === 'error') logger[level](`[${what}] ${message}`);
          else logger.debug(`[${what}] ${message}`);
        },
      },
    });
    pools.add(pool);
    let cancelReason: string | undefined;
    const watch = setInterval(() => {
      redis
        .get(cancelKey(job.id!))
        .then((reason) => {
          if (reason !== null && cancelReason === undefined) {
            cancelReason = reason || 'cancelled by the sweep';
            logger.warn(`${what}: ${cancelReason}`);
            pool.cancel(cancelReason);
          }
        })
        .catch(() => undefined);
    }, 1000);
    let outcome: TrialOutcome;
    try {
      const outcomes = await pool.run([{ index: data.index, job: trial }]);
      outcome = outcomes.get(data.index)!;
    } finally {
      clearInterval(watch);
      pools.delete(pool);
    }
    if (outcome.abandoned && outcome.runId) {
      // The trial process died with its run open (out of memory, a crash): close it here.
      const source = runSourceFor(createTracker({ trackingUri: trial.trackingUri, runsDir: trial.runsDir, experiment: trial.experiment, logger }));
      await source.closeAbandoned(outcome.runId, 'FAILED', outcome.error ?? 'the trial process died').catch((e) => logger.warn(`could not close run ${outcome.runId}: ${(e as Error).message}`));
    }
    logger.info(`${what}: ${outcome.status} after ${outcome.seconds.toFixed(1)} s${outcome.error ? `: ${outcome.error.split('\n')[0]}` : ''}`);
    if (outcome.status === 'FINISHED') {
      summary.finished++;
      return { runId: outcome.runId!, location: outcome.location!, outputDir: outcome.outputDir!, metrics: outcome.metrics ?? {}, summary: outcome.summary ?? '', seconds: outcome.seconds, worker: me };
    }
    summary.failed++;
    if (outcome.status === 'KILLED' && cancelReason !== undefined) throw new UnrecoverableError(`${CANCELLED_PREFIX}${cancelReason}`);
    // This worker is stopping: the job goes back to the queue for another worker.
    if (outcome.status === 'KILLED' && stopping) throw new Error(`the worker ${me} stopped during the trial; it runs again on another worker`);
    // The trial process died without a result: retried (up to the job's attempts).
    if (outcome.abandoned || !outcome.runId) throw new Error(outcome.error ?? 'the trial process died');
    // A model or config error: the same job would fail the same way again.
    throw new UnrecoverableError(outcome.error ?? 'the trial failed');
  };

  const worker = new Worker<QueuedTrial, TrialJobResult>(TRIALS_QUEUE, processor, {
    connection: target.connection as ConnectionOptions,
    prefix: QUEUE_PREFIX,
    concurrency: options.concurrency ?? 1,
    lockDuration: lockMs,
    stalledInterval: Math.max(1000, Math.floor(lockMs / 2)),
    // A job whose worker died twice still gets its third try; a third loss fails it.
    maxStalledCount: 2,
    removeOnComplete: { age: KEEP_SECONDS },
    removeOnFail: { age: KEEP_SECONDS },
    autorun: false,
  });
  let reportedDown = false;
  worker.on('error', (e) => {
    if (!reportedDown) logger.warn(`queue ${target.display}: ${redact(e.message, target)} (reconnecting)`);
    reportedDown = true;
  });
  worker.on('ready', () => {
    if (reportedDown) logger.info(`queue ${target.display}: connected again`);
    reportedDown = false;
  });
  let jobsSeen = 0;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(`worker ${me}: ${why}; ${activeJobs ? `stopping ${activeJobs} running trial(s), whose jobs go back to the queue` : 'stopping'}`);
    for (const pool of pools) pool.cancel(why);
    await worker.close();
  };
  worker.on('completed', () => {
    if (options.maxJobs !== undefined && ++jobsSeen >= options.maxJobs) void stop(`ran ${jobsSeen} job(s)`);
  });
  worker.on('failed', (job) => {
    if (job && options.maxJobs !== undefined && ++jobsSeen >= options.maxJobs) void stop(`ran ${jobsSeen} job(s)`);
  });
  const onAbort = () => void stop(String(options.signal?.reason ?? 'stopped'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const idle = options.exitWhenIdleMs
    ? setInterval(() => {
        if (activeJobs === 0 && Date.now() - lastActivity >= options.exitWhenIdleMs!) void stop(`the queue was empty for ${Math.round(options.exitWhenIdleMs! / 1000)} s`);
      }, 500)
    : undefined;
  logger.info(`worker ${me} takes trial jobs from ${target.display} (concurrency ${options.concurrency ?? 1})`);
  try {
    await worker.run();
  } finally {
    if (idle) clearInterval(idle);
    options.signal?.removeEventListener('abort', onAbort);
    if (!stopping) await worker.close();
    redis.disconnect();
  }
  return summary;
}

/**
 * Before an attempt: closes the runs of earlier attempts of this job that are still RUNNING (their
 * worker died with the job and this worker holds its lock now, so they can never finish: FAILED,
 * with why), and returns the trial's FINISHED run if an earlier attempt finished it.
 */
async function takeOver(trial: TrialJob, data: QueuedTrial, attempt: number, me: string, logger: Logger): Promise<RunRecord | undefined> {
  const tracker = createTracker({ trackingUri: trial.trackingUri, runsDir: trial.runsDir, experiment: trial.experiment, logger });
  try {
    const source = runSourceFor(tracker);
    const runs = await source.list({
      experiment: trial.experiment,
      tags: { [SWEEP_TAGS.sweep]: data.sweep, [SWEEP_TAGS.role]: 'trial', [SWEEP_TAGS.trialHash]: trial.hash },
    });
    const finished = runs.find((r) => r.status === 'FINISHED');
    if (finished) return finished;
    for (const r of runs.filter((x) => x.status === 'RUNNING')) {
      const by = r.tags[SWEEP_TAGS.queueWorker] ?? 'an earlier sweep';
      await source.closeAbandoned(r.runId, 'FAILED', `lost: attempt ${r.tags[SWEEP_TAGS.queueAttempt] ?? '?'} on worker ${by} stopped before finishing (its worker died); the trial was taken up again by ${me} as attempt ${attempt}`);
      logger.warn(`closed run ${r.runId} of a lost attempt (worker ${by}) as FAILED`);
    }
    return undefined;
  } finally {
    await tracker.close();
  }
}
