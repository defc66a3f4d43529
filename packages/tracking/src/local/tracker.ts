import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { silentLogger, type Logger } from '@cascade-lab/core';
import { TrackingError } from '../errors.js';
import { prepareParams, prepareTags } from '../flatten.js';
import { listFiles, normaliseArtifactPath } from '../paths.js';
import { MetricValidator, checkParamConflicts, describeConfig } from '../run-common.js';
import { MLFLOW_TAGS, collectSystemTags } from '../system-tags.js';
import type { EndOptions, EndResult, EndStatus, MetricPoint, RunStatus, StartRunOptions, TrackedRun, Tracker } from '../types.js';
import { LocalStore, type LocalRunMeta } from './store.js';

export interface LocalTrackerOptions {
  /** Store directory (default `LocalStore.defaultRoot()`: `$CASCADE_RUNS_DIR` or `./runs`). */
  root?: string;
  /** Default experiment name for runs (default `$MLFLOW_EXPERIMENT_NAME`, else `cascade-lab`). */
  experiment?: string;
  logger?: Logger;
  /** Buffered metrics are appended to their files this often (ms; default 2000) and at 1000 points. */
  flushIntervalMs?: number;
}

export function defaultExperiment(env: NodeJS.ProcessEnv = process.env): string {
  return env.MLFLOW_EXPERIMENT_NAME || 'cascade-lab';
}

/** Tracker writing to the embedded local store (the default when no tracking URI is set). */
export class LocalTracker implements Tracker {
  readonly kind = 'local' as const;
  readonly store: LocalStore;
  private readonly options: LocalTrackerOptions;

  constructor(options: LocalTrackerOptions = {}) {
    this.store = new LocalStore(options.root ?? LocalStore.defaultRoot());
    this.options = options;
  }

  get location(): string {
    return this.store.root;
  }

  async startRun(opts: StartRunOptions): Promise<LocalRun> {
    const parentRunId = typeof opts.parent === 'string' ? opts.parent : opts.parent?.runId;
    if (parentRunId !== undefined && !this.store.hasRun(parentRunId))
      throw new TrackingError(`parent run ${JSON.stringify(parentRunId)} is not in the local store ${this.store.root}`);
    const startTime = opts.startTime ?? Date.now();
    const tags = prepareTags({
      ...(opts.system === false ? {} : collectSystemTags(opts.system ?? {})),
      ...opts.tags,
      [MLFLOW_TAGS.runName]: opts.name,
      ...(parentRunId ? { [MLFLOW_TAGS.parentRunId]: parentRunId } : {}),
    });
    const runId = this.store.newRunId(opts.name, startTime);
    const meta = this.store.createRun({
      runId,
      name: opts.name,
      experiment: opts.experiment ?? this.options.experiment ?? defaultExperiment(),
      status: 'RUNNING',
      startTime,
      parentRunId,
    });
    this.store.writeTags(runId, tags);
    this.store.writeParams(runId, {});
    return new LocalRun(this.store, meta, this.options.logger ?? silentLogger, this.options.flushIntervalMs ?? 2000);
  }

  async check(): Promise<void> {
    this.store.checkWritable();
  }

  async close(): Promise<void> {}
}

/** A run in the local store. Params, tags and artifacts are written at once; metrics are buffered. */
export class LocalRun implements TrackedRun {
  private meta: LocalRunMeta;
  private buffer: MetricPoint[] = [];
  private readonly validator = new MetricValidator();
  private timer?: NodeJS.Timeout;
  private fullParams: Record<string, string> = {};
  private endResult?: EndResult;

  constructor(
    readonly store: LocalStore,
    meta: LocalRunMeta,
    private readonly logger: Logger,
    flushIntervalMs: number,
  ) {
    this.meta = meta;
    this.timer = setInterval(() => this.flushSync(), flushIntervalMs);
    this.timer.unref();
  }

  get runId(): string {
    return this.meta.runId;
  }
  get name(): string {
    return this.meta.name;
  }
  get parentRunId(): string | undefined {
    return this.meta.parentRunId;
  }
  get experimentId(): string | undefined {
    return undefined;
  }
  get status(): RunStatus {
    return this.meta.status;
  }
  get location(): string {
    return this.store.runDir(this.meta.runId);
  }

  private assertOpen(): void {
    if (this.meta.status !== 'RUNNING') throw new TrackingError(`run ${this.meta.runId} (${this.meta.name}) has already ended (${this.meta.status})`);
  }

  async logParams(params: Record<string, unknown>): Promise<void> {
    this.assertOpen();
    const prepared = prepareParams(params);
    const existing = this.store.readParams(this.runId);
    checkParamConflicts(existing, prepared.params);
    this.store.writeParams(this.runId, { ...existing, ...prepared.params });
    if (Object.keys(prepared.shortened).length > 0) {
      this.fullParams = { ...this.fullParams, ...prepared.shortened };
      await this.logText(JSON.stringify(this.fullParams, null, 2) + '\n', 'params-full.json');
    }
  }

  async logConfig(config: Record<string, unknown>, hash?: string): Promise<void> {
    const record = describeConfig(config, hash);
    await this.logParams(config);
    await this.logText(record.json + '\n', 'config.json');
    await this.setTags(record.tags);
  }

  logMetric(key: string, value: number, step?: number, timestamp?: number): void {
    this.assertOpen();
    this.buffer.push(this.validator.point(key, value, step, timestamp));
    if (this.buffer.length >= 1000) this.flushSync();
  }

  logMetrics(values: Record<string, number>, step?: number, timestamp?: number): void {
    const t = timestamp ?? Date.now();
    for (const [k, v] of Object.entries(values)) this.logMetric(k, v, step, t);
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    this.assertOpen();
    const prepared = prepareTags(tags);
    this.store.writeTags(this.runId, { ...this.store.readTags(this.runId), ...prepared });
  }

  private artifactTarget(artifactPath: string): string {
    return join(this.store.artifactsDir(this.runId), ...normaliseArtifactPath(artifactPath).split('/'));
  }

  async logArtifact(localPath: string, artifactPath?: string): Promise<void> {
    this.assertOpen();
    const target = this.artifactTarget(artifactPath ?? basename(localPath));
    await mkdir(dirname(target), { recursive: true });
    await copyFile(localPath, target).catch((err: NodeJS.ErrnoException) => {
      throw new TrackingError(`cannot copy artifact ${localPath}: ${err.code ?? err.message}`);
    });
  }

  async logArtifacts(localDir: string, artifactDir?: string): Promise<void> {
    for (const file of await listFiles(localDir))
      await this.logArtifact(join(localDir, file), artifactDir ? `${artifactDir}/${file}` : file);
  }

  async logText(content: string | Uint8Array, artifactPath: string): Promise<void> {
    this.assertOpen();
    const target = this.artifactTarget(artifactPath);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }

  private flushSync(): void {
    if (this.buffer.length === 0) return;
    const points = this.buffer;
    this.buffer = [];
    this.store.appendMetrics(this.runId, points);
  }

  async flush(): Promise<void> {
    this.flushSync();
  }

  async end(status: EndStatus = 'FINISHED', options: EndOptions = {}): Promise<EndResult> {
    if (this.endResult) return this.endResult;
    // Already closed by spillSync (exit hook): keep that status.
    if (this.meta.status !== 'RUNNING') return (this.endResult = { status: this.meta.status as EndStatus });
    this.spillSync(status, options.endTime);
    this.endResult = { status };
    this.logger.debug(`run ${this.name} (${this.runId}) ended ${status}: ${this.location}`);
    return this.endResult;
  }

  spillSync(status: EndStatus, endTime: number = Date.now()): string | undefined {
    if (this.meta.status !== 'RUNNING') return undefined;
    if (this.timer) clearInterval(this.timer);
    this.flushSync();
    this.meta = this.store.updateMeta(this.runId, { status, endTime });
    return this.location;
  }
}
