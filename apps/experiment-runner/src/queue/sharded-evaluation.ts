/**
 * A sharded microscopic evaluation (issue 20): `cascade run` / `cascade evaluate` with `--queue`
 * and `evaluation.shards: N` split the test cascades into N consecutive ranges, one job each on the
 * queue that `cascade worker`s serve, and merge the shards' rows into the run's metrics.
 *
 * Why the merged metrics equal a local evaluation to the last digit: cascade i always draws its
 * simulations from `rng.derive('simulation').derive('cascade:<i>')` of the evaluation's generator
 * (whose state travels in the job), whatever the shard or the batching (the plugin contract, checked
 * by core's conformance kit); each shard returns its cascades' counts and rows as JSON (doubles
 * survive it exactly); the merge concatenates them in test order and computes the F1s and hits@k
 * with the same functions as a local evaluation (`mergeMicroscopicShards`). Edge scores are not per
 * cascade: this process scores them once, with the model it holds, while the shards run.
 *
 * The model reaches the workers as the files of the saved model folder, through Redis
 * (queue/model-bundle.ts), and is loaded there with the plugin's `load`.
 */
import { stringify } from 'yaml';
import { CancelledError, CascadeError, throwIfCancelled, type Logger, type MicroscopicModel, type ProgressReporter, type Rng } from '@cascade-lab/core';
import type { LoadedMicroscopicDataset } from '@cascade-lab/data';
import { mergeMicroscopicShards, microscopicNetworkEvaluation, type EvaluationOutcome, type MicroscopicShardResult } from '@cascade-lab/evaluation';
import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { ResolvedExperiment } from '../experiment/config.js';
import { settingsOf } from '../experiment/evaluate.js';
import { redact, type QueueTarget } from './connection.js';
import { cancelKey, CANCELLED_PREFIX, KEEP_SECONDS, QUEUE_PREFIX, SHARD_ATTEMPTS, shardJobId, TRIALS_QUEUE, type QueuedShard, type ShardJobResult, type TrialProgress } from './jobs.js';
import { modelKey, uploadModel } from './model-bundle.js';

/** A sharded evaluation's model stays in Redis at most this long (it is deleted once merged). */
const MODEL_TTL_SECONDS = 24 * 3600;
const WAITING = new Set(['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children', 'wait']);

export interface ShardedEvaluationInput {
  target: QueueTarget;
  shards: number;
  exp: ResolvedExperiment;
  data: LoadedMicroscopicDataset;
  /** The model in this process (edge scores) and its saved folder (what the workers load). */
  model: MicroscopicModel;
  modelDir: string;
  /** The evaluation's generator (the run's `evaluation` stream): its state goes to every shard. */
  rng: Rng;
  /** Folder relative dataset paths resolve against (the workers get it as it is). */
  baseDir: string;
  /** Names the jobs and the model in Redis: unique per evaluation (the run name and id). */
  evaluationId: string;
  progress: ProgressReporter;
  signal: AbortSignal;
  logger: Logger;
  /** How often job states are read (ms, default 500). */
  pollMs?: number;
}

/** Queues the shards, waits for them (re-queuing any Redis lost), and merges them. */
export async function evaluateOnQueue(input: ShardedEvaluationInput): Promise<EvaluationOutcome> {
  const { target, shards, exp, logger, signal } = input;
  if (!Number.isInteger(shards) || shards < 1) throw new CascadeError('USAGE', `evaluation.shards must be a positive integer, got ${shards}`);
  if (exp.plugin.task !== 'microscopic') throw new CascadeError('USAGE', `evaluation sharding splits the microscopic protocol only; model ${exp.plugin.name} is ${exp.plugin.task}`);
  const started = performance.now();
  const queue = new Queue<QueuedShard, ShardJobResult>(TRIALS_QUEUE, { connection: target.connection as ConnectionOptions, prefix: QUEUE_PREFIX });
  const redis = new Redis({ ...target.connection, lazyConnect: true });
  let down = false;
  const onError = (e: Error) => {
    if (!down) logger.warn(`queue ${target.display}: ${redact(e.message, target)} (reconnecting; the evaluation waits)`);
    down = true;
  };
  queue.on('error', onError);
  redis.on('error', onError);
  redis.on('ready', () => {
    if (down) logger.info(`queue ${target.display}: connected again`);
    down = false;
  });
  // Redis commands wait through an outage; a Ctrl-C must not.
  const guarded = <T>(p: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new CancelledError(String(signal.reason ?? 'cancelled')));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });

  const key = modelKey(input.evaluationId);
  const ids = Array.from({ length: shards }, (_, k) => shardJobId(input.evaluationId, k, shards));
  const dataFor = (shard: number): QueuedShard => ({
    kind: 'shard',
    evaluation: input.evaluationId,
    shard,
    shards,
    config: stringify(exp.resolved),
    hash: exp.hash,
    baseDir: input.baseDir,
    rngState: input.rng.state(),
    modelKey: key,
  });
  const enqueue = async (shard: number): Promise<void> => {
    await redis.del(cancelKey(ids[shard]));
    await queue.add(`evaluation ${input.evaluationId}`, dataFor(shard), { jobId: ids[shard], attempts: SHARD_ATTEMPTS, removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS } });
  };
  const upload = async () => uploadModel(redis, key, input.modelDir, MODEL_TTL_SECONDS);

  const results = new Map<number, MicroscopicShardResult>();
  let task: ReturnType<ProgressReporter['start']> | undefined;
  try {
    await guarded(queue.waitUntilReady());
    const sent = await guarded(upload());
    for (let k = 0; k < shards; k++) {
      // A job of the same id left by an earlier attempt of this evaluation is replaced.
      const old = await guarded(queue.getJob(ids[k]));
      if (old) await guarded(old.remove());
      await guarded(enqueue(k));
    }
    logger.info(
      `evaluation ${input.evaluationId}: ${shards} shard job(s) of ${Math.min(input.data.test.length, exp.config.evaluation.maxTestCascades ?? Infinity)} test cascades queued on ${target.display} ` +
        `(model: ${sent.files} file(s), ${(sent.bytes / 1e6).toFixed(1)} MB); start workers with \`cascade worker --queue <url>\``,
    );
    // Not per cascade: scored here while the workers simulate.
    const network = await microscopicNetworkEvaluation(input.model, input.data);
    task = input.progress.start(`evaluation on ${shards} shard job(s)`, shards);
    const reported = new Map<number, string>();
    while (results.size < shards) {
      throwIfCancelled(signal);
      for (let k = 0; k < shards; k++) {
        if (results.has(k)) continue;
        let job: Job<QueuedShard, ShardJobResult> | undefined = await guarded(queue.getJob(ids[k]));
        const state = job ? await guarded(job.getState()) : 'missing';
        if (job && (state === 'completed' || state === 'failed')) job = await guarded(queue.getJob(ids[k]));
        if (!job || state === 'unknown' || state === 'missing') {
          logger.warn(`evaluation ${input.evaluationId}: shard ${k + 1}/${shards} is gone from the queue (Redis restarted without persistence?): queued again`);
          if (!(await guarded(redis.exists(key)))) await guarded(upload());
          await guarded(enqueue(k));
          continue;
        }
        if (state === 'completed') {
          if (!job.returnvalue) continue;
          results.set(k, job.returnvalue.result);
          task.tick(1, `shard ${k + 1} done on ${job.returnvalue.worker} in ${job.returnvalue.seconds.toFixed(1)} s`);
        } else if (state === 'failed') {
          const reason = job.failedReason ?? 'failed';
          if (reason.startsWith(CANCELLED_PREFIX)) throw new CancelledError(`evaluation shard ${k + 1} of ${shards} was ${reason}`);
          throw new CascadeError('MODEL', `evaluation shard ${k + 1} of ${shards} failed on the queue: ${reason}`);
        } else if (state === 'active') {
          const p = job.progress as TrialProgress | number | undefined;
          const line = typeof p === 'object' && p ? `shard ${k + 1} on ${p.worker}${p.attempt > 1 ? ` (attempt ${p.attempt})` : ''}${p.task ? `: ${p.task.label} ${p.task.value}${p.task.total !== undefined ? `/${p.task.total}` : ''}` : ''}` : `shard ${k + 1} running`;
          if (reported.get(k) !== line) {
            reported.set(k, line);
            task.status(line);
          }
        } else if (WAITING.has(state) && reported.has(k)) {
          reported.delete(k);
          logger.warn(`evaluation ${input.evaluationId}: shard ${k + 1}/${shards} is back in the queue (${job.failedReason ? `attempt failed: ${job.failedReason}` : 'its worker stopped or died'}); another worker takes it up`);
        }
      }
      if (results.size < shards) await sleep(input.pollMs ?? 500, signal);
    }
    task.done();
    task = undefined;
    const outcome = mergeMicroscopicShards([...results.values()], settingsOf(exp.config.evaluation), { network, seconds: (performance.now() - started) / 1000 });
    outcome.summary += `\n(merged from ${shards} shard job(s) on ${target.display})`;
    return outcome;
  } finally {
    task?.done();
    // The evaluation is over (merged, failed or cancelled): nobody needs its shards any more.
    if (results.size < shards) await cancelShards(queue, redis, ids, logger, input.evaluationId).catch(() => undefined);
    // Merged: the rows are in the run now; drop them from Redis (they hold every per-simulation count).
    else for (const id of ids) await queue.remove(id).catch(() => undefined);
    await redis.del(key).catch(() => undefined);
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

/** Removes the shards still waiting and asks the workers running the others to stop them. */
async function cancelShards(queue: Queue<QueuedShard, ShardJobResult>, redis: Redis, ids: string[], logger: Logger, evaluation: string): Promise<void> {
  let removed = 0;
  let stopped = 0;
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (!job) continue;
    const state = await job.getState();
    if (WAITING.has(state)) {
      try {
        await job.remove();
        removed++;
        continue;
      } catch {
        // Taken by a worker at this moment: stop it instead.
      }
    }
    if (state === 'active' || WAITING.has(state)) {
      await redis.set(cancelKey(id), `cancelled: evaluation ${evaluation} stopped`, 'EX', 24 * 3600);
      stopped++;
    }
  }
  if (removed || stopped) logger.warn(`evaluation ${evaluation}: ${removed} waiting shard job(s) removed, ${stopped} running one(s) asked to stop`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
