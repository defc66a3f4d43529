/**
 * What travels through Redis: the BullMQ queue of sweep trials, its job data, progress and result.
 * One job per trial, with the trial's config hash as job id, so a trial is never queued twice.
 */
import type { TrialJob } from '../sweep/protocol.js';

/** BullMQ key prefix of every cascade-lab queue (keys `cascade:<queue>:...`). */
export const QUEUE_PREFIX = 'cascade';
/** The queue of sweep trials. */
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
