import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { CascadeError, type Logger } from '@cascade-lab/core';
import {
  LocalStore,
  LocalTracker,
  MlflowTracker,
  decodeMetricValue,
  MLFLOW_TAGS,
  CASCADE_TAGS,
  type MlflowClient,
  type MlflowRunRecord,
  type RunStatus,
  type Tracker,
} from '@cascade-lab/tracking';

/** Tags the sweep runner writes (see `cascade sweep`); the report reads them back. */
export const SWEEP_TAGS = {
  /** Sweep name, on the parent run and on every trial run. */
  sweep: 'cascade.sweep',
  /** `parent` or `trial`. */
  role: 'cascade.sweep.role',
  /** Identity of a trial: hash of its resolved config (see `SweepTrial.hash`). */
  trialHash: 'cascade.trial.hash',
  /** The trial's label without its seed: the row of a report (e.g. `heads=4`). */
  trialLabel: 'cascade.trial.label',
  /** JSON object of the trial's overrides (dot path -> value), seed excluded. */
  trialOverrides: 'cascade.trial.overrides',
  /** Position of the trial in the expanded sweep (0-based). */
  trialIndex: 'cascade.trial.index',
  /** Process id of the trial process (with `cascade.host`: lets a rerun wait for a live leftover). */
  trialPid: 'cascade.trial.pid',
  /** Process id of the sweep process, on the parent run (with `cascade.host`: a rerun closes a dead sweep's parent). */
  sweepPid: 'cascade.sweep.pid',
  /** The job queue of a queued sweep (`redis://host:port`, never with credentials), on the parent run. */
  sweepQueue: 'cascade.sweep.queue',
  /** On a trial run of a queued sweep: the worker (`host:pid`) and the attempt (1, 2, ...). */
  queueWorker: 'cascade.queue.worker',
  queueAttempt: 'cascade.queue.attempt',
} as const;

/** A run as the sweep and the report need it, whether it lives in MLflow or in the local store. */
export interface RunRecord {
  runId: string;
  name: string;
  /** Experiment name. */
  experiment: string;
  status: RunStatus;
  /** ms since the epoch. */
  startTime: number;
  parentRunId?: string;
  tags: Record<string, string>;
  /** Flattened config params (`model.hyperparameters.heads` -> `"8"`). */
  params: Record<string, string>;
  /** Last value of every metric. */
  metrics: Record<string, number>;
  /** MLflow run page or local directory. */
  location: string;
}

/** Which runs to read. Tag filters are exact matches. */
export interface RunFilter {
  /** MLflow experiment name (local store: the run's `experiment`). */
  experiment: string;
  tags?: Record<string, string>;
  /** Only runs in one of these states (default: all). */
  statuses?: RunStatus[];
}

/** Reads runs from wherever a tracker writes them. */
export interface RunSource {
  readonly kind: 'mlflow' | 'local';
  readonly location: string;
  list(filter: RunFilter): Promise<RunRecord[]>;
  /** One run by id, or undefined when there is none. */
  get(runId: string): Promise<RunRecord | undefined>;
  /**
   * Closes a run its own process could not close (it was killed or crashed): the status, the end
   * time and a `cascade.error` tag saying why. A run that is no longer RUNNING is left as it is.
   */
  closeAbandoned(runId: string, status: 'FAILED' | 'KILLED', reason: string): Promise<void>;
  /** One artifact file of a run (`predictions.jsonl`), or undefined when the run has none there. */
  readArtifact(runId: string, path: string): Promise<Buffer | undefined>;
  /**
   * Adds the files under `localDir` to a run's artifacts under `artifactDir`, also to a run that has
   * ended (a report logged to a sweep's parent run).
   */
  addArtifacts(runId: string, localDir: string, artifactDir: string): Promise<void>;
}

/** Files under a directory, relative, with `/`. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const full = join(d, e);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** The run source behind a tracker made by `createTracker` (MLflow server or local store). */
export function runSourceFor(tracker: Tracker, logger?: Logger): RunSource {
  if (tracker instanceof MlflowTracker) return new MlflowRunSource(tracker.client);
  if (tracker instanceof LocalTracker) return new LocalRunSource(tracker.store, logger);
  throw new CascadeError('INTERNAL', `cannot read runs back from a ${tracker.kind} tracker of type ${tracker.constructor.name}`);
}

const quote = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class MlflowRunSource implements RunSource {
  readonly kind = 'mlflow' as const;
  private readonly experimentNames = new Map<string, Promise<string>>();
  constructor(private readonly client: MlflowClient) {}

  private experimentName(id: string): Promise<string> {
    let p = this.experimentNames.get(id);
    if (!p) this.experimentNames.set(id, (p = this.client.getExperiment(id).then((e) => e.name)));
    return p;
  }

  get location(): string {
    return this.client.trackingUri;
  }

  async list(filter: RunFilter): Promise<RunRecord[]> {
    const experiment = await this.client.getExperimentByName(filter.experiment);
    if (!experiment) return [];
    const clauses = Object.entries(filter.tags ?? {}).map(([k, v]) => `tags.\`${k}\` = ${quote(v)}`);
    if (filter.statuses?.length === 1) clauses.push(`attributes.status = ${quote(filter.statuses[0])}`);
    const runs = await this.client.searchAllRuns({
      experimentIds: [experiment.experiment_id],
      filter: clauses.length ? clauses.join(' and ') : undefined,
      runViewType: 'ACTIVE_ONLY',
      orderBy: ['attributes.start_time ASC'],
    });
    this.experimentNames.set(experiment.experiment_id, Promise.resolve(experiment.name));
    const records = await Promise.all(runs.map((r) => this.record(r)));
    return records.filter((r) => !filter.statuses || filter.statuses.includes(r.status));
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    try {
      return await this.record(await this.client.getRun(runId));
    } catch (e) {
      if ((e as { errorCode?: string }).errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw e;
    }
  }

  async closeAbandoned(runId: string, status: 'FAILED' | 'KILLED', reason: string): Promise<void> {
    const run = await this.client.getRun(runId);
    if (run.info.status !== 'RUNNING') return;
    await this.client.setTag(runId, CASCADE_TAGS.error, reason.slice(0, 5000));
    await this.client.updateRun(runId, { status, endTime: Date.now() });
  }

  async readArtifact(runId: string, path: string): Promise<Buffer | undefined> {
    const run = await this.client.getRun(runId);
    try {
      return await this.client.downloadArtifact(run.info.artifact_uri ?? '', path);
    } catch (e) {
      const status = (e as { httpStatus?: number }).httpStatus;
      if (status === 404 || (e as { errorCode?: string }).errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw e;
    }
  }

  async addArtifacts(runId: string, localDir: string, artifactDir: string): Promise<void> {
    const uri = (await this.client.getRun(runId)).info.artifact_uri ?? '';
    for (const f of filesUnder(localDir)) await this.client.uploadArtifact(uri, join(localDir, f), `${artifactDir}/${f}`);
  }

  private async record(run: MlflowRunRecord): Promise<RunRecord> {
    const tags = Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value]));
    return {
      runId: run.info.run_id,
      name: run.info.run_name ?? tags[MLFLOW_TAGS.runName] ?? run.info.run_id,
      experiment: await this.experimentName(run.info.experiment_id),
      status: run.info.status,
      startTime: Number(run.info.start_time ?? 0),
      parentRunId: tags[MLFLOW_TAGS.parentRunId],
      tags,
      params: Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value])),
      metrics: Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, decodeMetricValue(m.value)])),
      location: this.client.runPageUrl(run.info.experiment_id, run.info.run_id),
    };
  }
}

export class LocalRunSource implements RunSource {
  readonly kind = 'local' as const;
  constructor(
    private readonly store: LocalStore,
    private readonly logger?: Logger,
  ) {}

  get location(): string {
    return this.store.root;
  }

  async list(filter: RunFilter): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    for (const meta of this.store.listRuns()) {
      // Spill folders hold the unsent remainder of an MLflow run, not a local run.
      if (meta.remote || meta.experiment !== filter.experiment) continue;
      if (filter.statuses && !filter.statuses.includes(meta.status)) continue;
      const tags = this.store.readTags(meta.runId);
      if (!Object.entries(filter.tags ?? {}).every(([k, v]) => tags[k] === v)) continue;
      try {
        out.push(this.record(meta.runId, tags));
      } catch (err) {
        // One damaged run is named and left out; the report covers the others.
        this.logger?.warn(`skipping local run ${meta.runId}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    if (!this.store.hasRun(runId)) return undefined;
    return this.record(runId, this.store.readTags(runId));
  }

  async closeAbandoned(runId: string, status: 'FAILED' | 'KILLED', reason: string): Promise<void> {
    if (!this.store.hasRun(runId) || this.store.readMeta(runId).status !== 'RUNNING') return;
    this.store.writeTags(runId, { ...this.store.readTags(runId), [CASCADE_TAGS.error]: reason.slice(0, 5000) });
    this.store.updateMeta(runId, { status, endTime: Date.now() });
  }

  async readArtifact(runId: string, path: string): Promise<Buffer | undefined> {
    const file = join(this.store.artifactsDir(runId), ...path.split('/'));
    return existsSync(file) ? readFileSync(file) : undefined;
  }

  async addArtifacts(runId: string, localDir: string, artifactDir: string): Promise<void> {
    const target = join(this.store.artifactsDir(runId), ...artifactDir.split('/'));
    mkdirSync(target, { recursive: true });
    cpSync(localDir, target, { recursive: true });
  }

  private record(runId: string, tags: Record<string, string>): RunRecord {
    const meta = this.store.readMeta(runId);
    const latest = this.store.latestMetrics(runId);
    return {
      runId,
      name: meta.name,
      experiment: meta.experiment,
      status: meta.status,
      startTime: meta.startTime,
      parentRunId: meta.parentRunId,
      tags,
      params: this.store.readParams(runId),
      metrics: Object.fromEntries(Object.entries(latest).map(([k, p]) => [k, p.value])),
      location: this.store.runDir(runId),
    };
  }
}

/** A local store given by directory; fails when the directory does not exist (a typo, not an empty store). */
export function localRunSource(dir: string, logger?: Logger): LocalRunSource {
  if (!existsSync(dir)) throw new CascadeError('USAGE', `no local run store at ${dir}`, { hint: 'runs are kept in $CASCADE_RUNS_DIR or ./runs unless the config says tracking.runsDir' });
  return new LocalRunSource(new LocalStore(dir, { onWarning: (m) => logger?.warn(m) }), logger);
}
