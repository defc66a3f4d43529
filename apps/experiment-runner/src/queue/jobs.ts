/**
 * What travels through Redis: the BullMQ queue of sweep trials, its job data, progress and result.
 * One job per trial, with the trial's config hash as job id, so a trial is never queued twice.
 */
import type { RngState } from '@cascade-lab/core';
import type { MicroscopicShardResult } from '@cascade-lab/evaluation';
import type { TrialJob } from '../sweep/protocol.js';

/** BullMQ key prefix of every cascade-lab queue (keys `cascade:<queue>:...`). */
export const QUEUE_PREFIX = 'cascade';
/** The queue of sweep trials (and of evaluation shards, see `QueuedShard`). */
export const TRIALS_QUEUE = 'trials';
/** Redis key a sweep sets to ask the worker running a job to stop it (`--cancel-on-exit`). */
export const cancelKey = (jobId: string): string => `${QUEUE_PREFIX}:cancel:${jobId}`;

/** Tries of a trial job: a retry happens only when its worker died or stopped, never on a model error. */
export const TRIAL_ATTEMPTS = 3;
/** Finished and failed jobs are kept this long (for `cascade queue status`), then removed by BullMQ. */
export const KEEP_SECONDS = 7 * 24 * 3600;

export interface QueuedTrial {
  sweep: string;
  index: number;
  label: string;
  seed: number;
  job: TrialJob;
}

/** Job progress as the worker reports it (the sweep shows it). */
export interface TrialProgress {
  worker: string;
  attempt: number;
  runId?: string;
  task?: { label: string; total?: number; value: number; status?: string; done: boolean };
}

/** A finished trial job's return value. */
export interface TrialJobResult {
  runId: string;
  location: string;
  outputDir: string;
  metrics: Record<string, number>;
  summary: string;
  seconds: number;
  worker: string;
}

/** A job's error message starts with this when its trial was cancelled (not a model error). */
export const CANCELLED_PREFIX = 'cancelled: ';

/**
 * Evaluation shards (issue 20) travel on the same queue as trials, so one `cascade worker` serves
 * both; their job data has `kind: 'shard'` (a trial's has no kind).
 */
export interface QueuedShard {
  kind: 'shard';
  /** The evaluation's id (`<run name>-<run id tail>`): job ids, `cascade queue status`, the model's key. */
  evaluation: string;
  shard: number;
  shards: number;
  /** The evaluation's resolved config (YAML): the worker needs no config file. */
  config: string;
  /** Its hash: a worker whose code resolves the config differently refuses the job. */
  hash: string;
  /** Folder relative dataset paths are resolved against (the coordinator's). */
  baseDir: string;
  /** The evaluation's generator (`Rng.state()` of the run's `evaluation` stream). */
  rngState: RngState;
  /** Redis key of the saved model's files (see queue/model-bundle.ts). */
  modelKey: string;
}

export type QueuedJob = QueuedTrial | QueuedShard;

export const isShardJob = (data: QueuedJob): data is QueuedShard => (data as QueuedShard).kind === 'shard';

/** A finished shard job's return value. */
export interface ShardJobResult {
  result: MicroscopicShardResult;
  worker: string;
  seconds: number;
}

/** Tries of a shard job: again only when its worker died or stopped. */
export const SHARD_ATTEMPTS = 3;

/** The job id of shard k (0-based) of N of an evaluation (1-based in the id, for people). */
export const shardJobId = (evaluation: string, shard: number, shards: number): string => `eval.${evaluation}.${shard + 1}-of-${shards}`;
