import type { MetricLogger } from '@cascade-lab/core';
import type { SystemTagOptions } from './system-tags.js';

/** Terminal states of a run (MLflow's RunStatus minus RUNNING/SCHEDULED). */
export type EndStatus = 'FINISHED' | 'FAILED' | 'KILLED';
export type RunStatus = 'RUNNING' | 'SCHEDULED' | EndStatus;

/** One point of a metric's history. Timestamps are milliseconds since the epoch. */
export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface StartRunOptions {
  /** Run name shown in the UI (`mlflow.runName`). */
  name: string;
  /** Experiment name; default `$MLFLOW_EXPERIMENT_NAME`, else `cascade-lab`. */
  experiment?: string;
  /** Parent run (a run of the same tracker, or its id) for nested runs (`mlflow.parentRunId`). */
  parent?: TrackedRun | string;
  /** Extra tags; they override the computed system tags. */
  tags?: Record<string, string>;
  /** Start time in ms since the epoch (default now). */
  startTime?: number;
  /**
   * System tags (user, source, git, backend, device, seed, package versions) computed by
   * `collectSystemTags`. Default: computed with these options; `false` adds none.
   */
  system?: SystemTagOptions | false;
}

export interface EndOptions {
  /** Give up on the server after this many ms and keep what is left in the local store. */
  deadlineMs?: number;
  /**
   * When the run's work ended (ms since the epoch; default now). `withRun` passes the moment its
   * body settled, so time spent waiting on an unreachable server is not counted in the run.
   */
  endTime?: number;
}

export interface EndResult {
  status: EndStatus;
  /**
   * Set when the server could not take everything: the local-store directory that now holds the
   * rest; `cascade mlflow sync` finishes the run.
   */
  spilledTo?: string;
}

/**
 * An open run. Metrics are buffered (logMetric never waits on the network) and flushed in
 * batches; params, tags and artifacts are sent when their promise resolves.
 */
export interface TrackedRun extends MetricLogger {
  /** MLflow run id, or the local store's run id. */
  readonly runId: string;
  readonly name: string;
  readonly experimentId?: string;
  readonly parentRunId?: string;
  /** RUNNING until `end` (or a spill) closed it. */
  readonly status: RunStatus;
  /** Where the run lives: the MLflow run page URL or the local run directory. */
  readonly location: string;

  /** Flattens a nested object into dot keys and logs them as params (see `prepareParams`). */
  logParams(params: Record<string, unknown>): Promise<void>;
  /**
   * Logs a config: params (flattened), the full config as `config.json`, `mlflow.note.content`
   * (the config as a JSON block) and the `cascade.configHash` tag: `hash` when given (a config whose
   * identity leaves some of it out, such as execution settings), else the hash of `config`.
   */
  logConfig(config: Record<string, unknown>, hash?: string): Promise<void>;
  /** Buffers one metric point. `step` defaults to 0 (as in MLflow), `timestamp` to now. */
  logMetric(key: string, value: number, step?: number, timestamp?: number): void;
  logMetrics(values: Record<string, number>, step?: number, timestamp?: number): void;
  setTags(tags: Record<string, string>): Promise<void>;
  /** Uploads (streams) one file to `artifactPath` (default: the file's base name). */
  logArtifact(localPath: string, artifactPath?: string): Promise<void>;
  /** Uploads every file under a directory, keeping relative paths under `artifactDir`. */
  logArtifacts(localDir: string, artifactDir?: string): Promise<void>;
  /** Writes text or bytes as an artifact. */
  logText(content: string | Uint8Array, artifactPath: string): Promise<void>;
  /** Sends buffered metrics now. Rejects if they could not be delivered (they stay buffered). */
  flush(): Promise<void>;
  /** Flushes and closes the run with `status` (default FINISHED). Idempotent. */
  end(status?: EndStatus, options?: EndOptions): Promise<EndResult>;
  /**
   * Last resort when the process exits: synchronously writes whatever the server has not received
   * (or the buffered metrics, for a local run) to the local store and marks the run `status`.
   * Returns the directory written, if any.
   */
  spillSync(status: EndStatus): string | undefined;
}

/** Where runs go: an MLflow server, or the embedded local store. */
export interface Tracker {
  readonly kind: 'mlflow' | 'local';
  /** Tracking URI (without credentials) or the local store's directory. */
  readonly location: string;
  startRun(options: StartRunOptions): Promise<TrackedRun>;
  /**
   * Checks, before any work, that runs can be recorded: the server answers and the experiment
   * exists or can be created (MLflow), or the store directory can be created and written (local).
   * Throws a `TrackingError` when they cannot; an MLflow tracker whose server is unreachable
   * instead warns and records the runs in the local store, unless it is fail-fast.
   */
  check(experiment?: string): Promise<void>;
  /** Releases connections and timers; open runs are not ended. */
  close(): Promise<void>;
}
