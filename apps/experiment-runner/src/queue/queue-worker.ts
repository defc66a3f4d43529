/**
 * `cascade worker --queue redis://...`: takes trial jobs from the queue and runs each the way a
 * local sweep does (a fresh trial process per job, `sweep/pool.ts` and `sweep/worker.ts`), logging
 * to the tracking the job names (the sweep's MLflow server or local store; `--tracking-uri` and
 * MLFLOW_TRACKING_URI on the worker override it). Evaluation shards (`cascade run|evaluate --queue`
 * with `evaluation.shards`) come on the same queue: the worker fetches the evaluation's saved model
 * from Redis once (queue/model-bundle.ts), and a fresh process per shard loads it and runs its part
 * of the protocol; the result goes back as the job's return value (no run is opened).
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
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, UnrecoverableError, type Job, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '@cascade-lab/core';
import { createTracker } from '@cascade-lab/tracking';
import { runSourceFor, SWEEP_TAGS, type RunRecord } from '../report/runs.js';
import { TrialPool, type TrialOutcome } from '../sweep/pool.js';
import type { ShardJob, TrialJob } from '../sweep/protocol.js';
import { redact, type QueueTarget } from './connection.js';
import {
  CANCELLED_PREFIX,
  cancelKey,
  isShardJob,
  KEEP_SECONDS,
  QUEUE_PREFIX,
  TRIALS_QUEUE,
  type QueuedJob,
  type QueuedShard,
  type QueuedTrial,
  type ShardJobResult,
  type TrialJobResult,
  type TrialProgress,
} from './jobs.js';
import { downloadModel } from './model-bundle.js';

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

  const processor = async (job: Job<QueuedJob, TrialJobResult | ShardJobResult>): Promise<TrialJobResult | ShardJobResult> => {
    activeJobs++;
    try {
      return isShardJob(job.data) ? await runShardJob(job as Job<QueuedShard, ShardJobResult>) : await runJob(job as Job<QueuedTrial, TrialJobResult>);
    } finally {
      activeJobs--;
      lastActivity = Date.now();
    }
  };

  /**
   * Runs a trial or shard job in a fresh child process (`TrialPool`), posting its progress to the
   * job and stopping it when the job's cancel key appears.
   */
  const inPool = async (job: Job, work: { index: number; job: TrialJob | ShardJob }, what: string, attempt: number): Promise<{ outcome: TrialOutcome; cancelReason?: string }> => {
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
    try {
      const outcomes = await pool.run([work]);
      return { outcome: outcomes.get(work.index)!, cancelReason };
    } finally {
      clearInterval(watch);
      pools.delete(pool);
    }
  };

  // The saved models of evaluations whose shards this worker ran: fetched once per evaluation,
  // kept while shards of it may come (the last few evaluations), removed when the worker stops.
  let modelsRoot: string | undefined;
  const models = new Map<string, { dir: Promise<string>; users: number }>();
  const KEEP_MODELS = 4;
  const modelFor = (key: string, what: string): { dir: Promise<string>; release: () => void } => {
    let entry = models.get(key);
    if (!entry) {
      modelsRoot ??= mkdtempSync(join(tmpdir(), 'cascade-worker-models-'));
      const dir = join(modelsRoot, String(models.size) + '-' + key.replace(/[^A-Za-z0-9_.-]+/g, '_'));
      const fetching = downloadModel(redis, key, dir).then((found) => {
        if (!found) throw new UnrecoverableError(`the saved model of ${what} is no longer in Redis (${key}): its evaluation was cancelled, or ended more than a day ago`);
        return dir;
      });
      entry = { dir: fetching, users: 0 };
      models.set(key, entry);
      fetching.catch(() => models.delete(key));
    } else {
      // Most recently used last.
      models.delete(key);
      models.set(key, entry);
    }
    const held = entry;
    held.users++;
    return {
      dir: held.dir,
      release: () => {
        held.users--;
        for (const [k, e] of models) {
          if (models.size <= KEEP_MODELS) break;
          if (e.users > 0) continue;
          models.delete(k);
          void e.dir.then((d) => rmSync(d, { recursive: true, force: true }), () => undefined);
        }
      },
    };
  };

  /** One shard of a sharded evaluation (issue 20): the model from Redis, a fresh process, the shard's rows back. */
  const runShardJob = async (job: Job<QueuedShard, ShardJobResult>): Promise<ShardJobResult> => {
    const data = job.data;
    const attempt = (job.attemptsStarted ?? job.attemptsMade + 1) || 1;
    const what = `evaluation ${data.evaluation} shard ${data.shard + 1}/${data.shards}`;
    logger.info(`${what}: attempt ${attempt} starts on ${me}`);
    const model = modelFor(data.modelKey, what);
    let result: { outcome: TrialOutcome; cancelReason?: string };
    try {
      const modelDir = await model.dir.catch((e) => {
        summary.failed++;
        logger.warn(`${what}: ${(e as Error).message}`);
        throw e;
      });
      const shardJob: ShardJob = { kind: 'shard', config: data.config, hash: data.hash, label: `evaluation ${data.evaluation}`, baseDir: data.baseDir, modelDir, shard: data.shard, shards: data.shards, rngState: data.rngState, onOrphan: 'exit' };
      result = await inPool(job, { index: data.shard, job: shardJob }, what, attempt);
    } finally {
      model.release();
    }
    const { outcome, cancelReason } = result;
    logger.info(`${what}: ${outcome.status} after ${outcome.seconds.toFixed(1)} s${outcome.error ? `: ${outcome.error.split('\n')[0]}` : ''}`);
    if (outcome.status === 'FINISHED' && outcome.shard) {
      summary.finished++;
      return { result: outcome.shard, worker: me, seconds: outcome.seconds };
    }
    summary.failed++;
    if (outcome.status === 'KILLED' && cancelReason !== undefined) throw new UnrecoverableError(`${CANCELLED_PREFIX}${cancelReason}`);
    if (outcome.status === 'KILLED' && stopping) throw new Error(`the worker ${me} stopped during the shard; it runs again on another worker`);
    // The shard process died without an answer: retried; a model or config error: the same again.
    if (outcome.died) throw new Error(outcome.error ?? 'the shard process died');
    throw new UnrecoverableError(outcome.error ?? 'the shard failed');
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

    const { outcome, cancelReason } = await inPool(job, { index: data.index, job: trial }, what, attempt);
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

  const worker = new Worker<QueuedJob, TrialJobResult | ShardJobResult>(TRIALS_QUEUE, processor, {
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
  logger.info(`worker ${me} takes trial and evaluation-shard jobs from ${target.display} (concurrency ${options.concurrency ?? 1})`);
  try {
    await worker.run();
  } finally {
    if (idle) clearInterval(idle);
    options.signal?.removeEventListener('abort', onAbort);
    if (!stopping) await worker.close();
    redis.disconnect();
    if (modelsRoot) rmSync(modelsRoot, { recursive: true, force: true });
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
