import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { silentLogger, type Logger } from '@cascade-lab/core';
import { TrackingError } from '../errors.js';
import { prepareParams, prepareTags } from '../flatten.js';
import { splitLogBatch, type BatchChunk } from '../batching.js';
import { listFiles, normaliseArtifactPath } from '../paths.js';
import { MetricValidator, describeConfig } from '../run-common.js';
import { MLFLOW_TAGS, collectSystemTags } from '../system-tags.js';
import { LocalStore } from '../local/store.js';
import { LocalTracker, defaultExperiment } from '../local/tracker.js';
import type { EndOptions, EndResult, EndStatus, KeyValue, MetricPoint, RunStatus, StartRunOptions, TrackedRun, Tracker } from '../types.js';
import type { CallOptions, MlflowClient } from './client.js';
import type { MlflowExperiment, MlflowRunInfo } from './types.js';

export interface MlflowTrackerOptions {
  client: MlflowClient;
  /** Default experiment name (default `$MLFLOW_EXPERIMENT_NAME`, else `cascade-lab`). */
  experiment?: string;
  /** Restore a deleted experiment of the same name (default true) instead of failing. */
  restoreDeletedExperiments?: boolean;
  /**
   * Where a run's unsent data goes when the server stays unreachable at its end (or the process
   * exits): default the local store at `$CASCADE_RUNS_DIR` or `./runs`.
   */
  spillStore?: LocalStore;
  logger?: Logger;
  /** Buffered metrics are sent this often (ms; default 5000) and whenever 1000 are waiting. */
  flushIntervalMs?: number;
  maxBufferedMetrics?: number;
  /** How long `end()` keeps retrying before spilling (ms; default 120000). */
  endDeadlineMs?: number;
  /**
   * Fail at once instead of keeping data locally: `check()` makes a single attempt and throws,
   * and a run that finds the server down throws from its next call (`tracking.failFast`).
   */
  failFast?: boolean;
}

const isTransient = (e: unknown): e is TrackingError => e instanceof TrackingError && e.transient;

/** Tracker that logs to an MLflow tracking server through `MlflowClient`. */
export class MlflowTracker implements Tracker {
  readonly kind = 'mlflow' as const;
  readonly client: MlflowClient;
  private readonly experiments = new Map<string, Promise<MlflowExperiment>>();

  constructor(private readonly options: MlflowTrackerOptions) {
    this.client = options.client;
  }

  get location(): string {
    return this.client.trackingUri;
  }

  /** Gets or creates the experiment once per tracker. */
  experiment(name: string): Promise<MlflowExperiment> {
    let p = this.experiments.get(name);
    if (!p) {
      p = this.client.getOrCreateExperiment(name, { restoreDeleted: this.options.restoreDeletedExperiments ?? true });
      this.experiments.set(name, p);
      p.catch(() => this.experiments.delete(name));
    }
    return p;
  }

  async check(experiment?: string): Promise<void> {
    const name = experiment ?? this.options.experiment ?? defaultExperiment();
    try {
      if (this.options.failFast) await this.client.ping();
      await this.experiment(name);
    } catch (err) {
      if (!isTransient(err) || this.options.failFast) throw err;
      this.warnOffline();
    }
  }

  private offline?: LocalTracker;
  private warnedOffline = false;

  private warnOffline(): void {
    if (this.warnedOffline) return;
    this.warnedOffline = true;
    const root = this.spillStore().root;
    this.options.logger?.warn(
      `MLflow at ${this.client.trackingUri} is unreachable: new runs are recorded in the local store ${root} until it answers; \`cascade mlflow sync --uri ${this.client.trackingUri} --dir ${root}\` uploads them (set tracking.failFast to stop instead)`,
    );
  }

  private spillStore(): LocalStore {
    return (this.options.spillStore ??= new LocalStore(LocalStore.defaultRoot()));
  }

  /** A run started while the server is down lives in the local store; sync uploads it later. */
  private startOffline(opts: StartRunOptions, experimentName: string): Promise<TrackedRun> {
    this.warnOffline();
    this.offline ??= new LocalTracker({ root: this.spillStore().root, experiment: experimentName, logger: this.options.logger });
    const parent = typeof opts.parent === 'string' ? opts.parent : opts.parent?.runId;
    const localParent = parent !== undefined && this.offline.store.hasRun(parent);
    return this.offline.startRun({
      ...opts,
      experiment: experimentName,
      parent: localParent ? parent : undefined,
      tags: { ...opts.tags, ...(parent !== undefined && !localParent ? { 'cascade.remoteParentRunId': parent } : {}) },
    });
  }

  async startRun(opts: StartRunOptions): Promise<TrackedRun> {
    const experimentName = opts.experiment ?? this.options.experiment ?? defaultExperiment();
    if (this.client.isDown && !this.options.failFast && !(await this.client.outage.checkNow())) return this.startOffline(opts, experimentName);
    try {
      return await this.startOnline(opts, experimentName);
    } catch (err) {
      if (!isTransient(err) || this.options.failFast) throw err;
      return this.startOffline(opts, experimentName);
    }
  }

  private async startOnline(opts: StartRunOptions, experimentName: string): Promise<MlflowRun> {
    const experiment = await this.experiment(experimentName);
    const parentRunId = typeof opts.parent === 'string' ? opts.parent : opts.parent?.runId;
    const tags = prepareTags({
      ...(opts.system === false ? {} : collectSystemTags(opts.system ?? {})),
      ...opts.tags,
      ...(parentRunId ? { [MLFLOW_TAGS.parentRunId]: parentRunId } : {}),
    });
    const run = await this.client.createRun({
      experimentId: experiment.experiment_id,
      runName: opts.name,
      startTime: opts.startTime ?? Date.now(),
      tags,
      userId: tags[MLFLOW_TAGS.user],
    });
    return new MlflowRun(
      {
        client: this.client,
        logger: this.options.logger ?? silentLogger,
        spillStore: this.spillStore(),
        flushIntervalMs: this.options.flushIntervalMs ?? 5000,
        maxBufferedMetrics: this.options.maxBufferedMetrics ?? 1000,
        endDeadlineMs: this.options.endDeadlineMs ?? 120_000,
        failFast: this.options.failFast ?? false,
      },
      run.info,
      { name: opts.name, experimentName, parentRunId },
    );
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

interface RunContext {
  client: MlflowClient;
  logger: Logger;
  spillStore: LocalStore;
  flushIntervalMs: number;
  maxBufferedMetrics: number;
  endDeadlineMs: number;
  failFast: boolean;
}

interface Pending {
  metrics: MetricPoint[];
  params: KeyValue[];
  tags: KeyValue[];
}

const emptyPending = (): Pending => ({ metrics: [], params: [], tags: [] });

/**
 * A run on an MLflow server. Metrics are buffered and sent in batches that respect the log-batch
 * limits; while the server is unreachable they stay buffered (retries with backoff), and if it is
 * still unreachable when the run ends, or the process exits, everything unsent is written to the
 * local store, from where `cascade mlflow sync` finishes the run.
 */
export class MlflowRun implements TrackedRun {
  readonly runId: string;
  readonly experimentId: string;
  readonly name: string;
  readonly parentRunId?: string;
  readonly artifactUri: string;
  private readonly experimentName: string;
  private readonly startTime: number;
  private currentStatus: RunStatus = 'RUNNING';
  private pending: Pending = emptyPending();
  /** Chunks of the flush in progress (from `index` on, not yet confirmed by the server). */
  private inflight?: { chunks: BatchChunk[]; index: number };
  private chain: Promise<void> = Promise.resolve();
  private backgroundFlushing = false;
  private backgroundAbort = new AbortController();
  private backgroundError?: unknown;
  private outage = false;
  private readonly validator = new MetricValidator();
  private readonly timer: NodeJS.Timeout;
  private fullParams: Record<string, string> = {};
  private spill?: { runId: string; dir: string; artifacts: string[] };
  private endPromise?: Promise<EndResult>;
  private closing = false;
  private readonly offRecovery: () => void;

  constructor(
    private readonly ctx: RunContext,
    info: MlflowRunInfo,
    meta: { name: string; experimentName: string; parentRunId?: string },
  ) {
    this.runId = info.run_id;
    this.experimentId = info.experiment_id;
    this.artifactUri = info.artifact_uri ?? '';
    this.startTime = info.start_time ?? Date.now();
    this.name = meta.name;
    this.experimentName = meta.experimentName;
    this.parentRunId = meta.parentRunId;
    this.timer = setInterval(() => {
      if (this.bufferedCount > 0 && !ctx.client.isDown) this.backgroundFlush();
    }, ctx.flushIntervalMs);
    this.timer.unref();
    // The server is back: deliver what waited for it without waiting for the next tick.
    this.offRecovery = ctx.client.outage.onRecovery(() => {
      if (this.bufferedCount > 0) this.backgroundFlush();
    });
  }

  get status(): RunStatus {
    return this.currentStatus;
  }

  get location(): string {
    return this.ctx.client.runPageUrl(this.experimentId, this.runId);
  }

  /** Metrics, params and tags waiting to be sent (for progress displays and tests). */
  get bufferedCount(): number {
    return this.pending.metrics.length + this.pending.params.length + this.pending.tags.length;
  }

  private assertOpen(): void {
    if (this.closing || this.currentStatus !== 'RUNNING')
      throw new TrackingError(`run ${this.runId} (${this.name}) has already ended (${this.currentStatus === 'RUNNING' ? 'ending' : this.currentStatus})`);
    if (this.ctx.failFast && this.ctx.client.isDown) throw this.ctx.client.outage.error(`run ${this.name}`);
  }

  // ------------------------------------------------------------ params, tags, metrics

  async logParams(params: Record<string, unknown>): Promise<void> {
    this.assertOpen();
    const prepared = prepareParams(params);
    if (Object.keys(prepared.shortened).length > 0) {
      this.fullParams = { ...this.fullParams, ...prepared.shortened };
      await this.logText(JSON.stringify(this.fullParams, null, 2) + '\n', 'params-full.json');
    }
    await this.sendOrQueue({ params: Object.entries(prepared.params).map(([key, value]) => ({ key, value })) });
  }

  async logConfig(config: Record<string, unknown>, hash?: string): Promise<void> {
    const record = describeConfig(config, hash);
    await this.logParams(config);
    await this.logText(record.json + '\n', 'config.json');
    await this.setTags(record.tags);
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    this.assertOpen();
    const prepared = prepareTags(tags);
    const list = Object.entries(prepared).map(([key, value]) => ({ key, value }));
    // A queued older value of the same tag must not overwrite this one later.
    this.pending.tags = this.pending.tags.filter((t) => !(t.key in prepared));
    await this.sendOrQueue({ tags: list });
  }

  /** Sends params/tags now; if the server is unreachable they join the buffer (never lost). */
  private async sendOrQueue(items: { params?: KeyValue[]; tags?: KeyValue[] }): Promise<void> {
    try {
      await this.ctx.client.logBatch(this.runId, items, { signal: this.backgroundAbort.signal });
    } catch (err) {
      if (!isTransient(err) || this.ctx.failFast) throw err;
      this.pending.params.push(...(items.params ?? []));
      this.pending.tags.push(...(items.tags ?? []));
      this.noteOutage(err);
    }
  }

  logMetric(key: string, value: number, step?: number, timestamp?: number): void {
    this.assertOpen();
    this.pending.metrics.push(this.validator.point(key, value, step, timestamp));
    if (this.pending.metrics.length >= this.ctx.maxBufferedMetrics) this.backgroundFlush();
  }

  logMetrics(values: Record<string, number>, step?: number, timestamp?: number): void {
    const t = timestamp ?? Date.now();
    for (const [k, v] of Object.entries(values)) this.logMetric(k, v, step, t);
  }

  /** The client has already said (once, for every run) that the server is down. */
  private noteOutage(err: TrackingError): void {
    if (this.outage) return;
    this.outage = true;
    this.ctx.logger.debug(`run ${this.name}: keeping ${this.bufferedCount} metrics/params/tags buffered (${err.message})`);
  }

  private backgroundFlush(): void {
    if (this.backgroundFlushing) return;
    this.backgroundFlushing = true;
    this.flush({ signal: this.backgroundAbort.signal })
      .catch((err) => {
        if (this.backgroundAbort.signal.aborted) return;
        if (isTransient(err) && !this.ctx.failFast) return;
        this.backgroundError ??= err;
        this.ctx.logger.error((err as Error).message);
      })
      .finally(() => {
        this.backgroundFlushing = false;
      });
  }

  /** Sends everything buffered. Serialised: concurrent calls queue behind each other. */
  flush(options: CallOptions = {}): Promise<void> {
    const p = this.chain.then(() => this.flushNow(options));
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async flushNow(options: CallOptions): Promise<void> {
    if (this.bufferedCount === 0) return;
    const items = this.pending;
    this.pending = emptyPending();
    const chunks = splitLogBatch(this.runId, items);
    for (let i = 0; i < chunks.length; i++) {
      this.inflight = { chunks, index: i };
      try {
        await this.ctx.client.sendLogBatch(chunks[i], options);
      } catch (err) {
        this.inflight = undefined;
        // Cancelled by end() (which sends the rest itself): not an outage, nothing lost.
        const cancelled = options.signal?.aborted === true;
        const transient = cancelled || isTransient(err);
        this.requeue(chunks.slice(transient ? i : i + 1));
        if (transient) {
          if (!cancelled) this.noteOutage(err as TrackingError);
          throw err;
        }
        const c = chunks[i];
        throw new TrackingError(
          `MLflow rejected ${c.metrics.length} metrics, ${c.params.length} params and ${c.tags.length} tags of run ${this.name} (${this.runId}): ${(err as Error).message}`,
          { errorCode: (err as TrackingError).errorCode, httpStatus: (err as TrackingError).httpStatus, cause: err },
        );
      }
    }
    this.inflight = undefined;
    if (this.outage) {
      this.outage = false;
      this.ctx.logger.debug(`buffered data of run ${this.name} delivered`);
    }
  }

  private requeue(chunks: BatchChunk[]): void {
    const back = emptyPending();
    for (const c of chunks) {
      back.metrics.push(...c.metrics);
      back.params.push(...c.params);
      back.tags.push(...c.tags);
    }
    const newerTags = new Set(this.pending.tags.map((t) => t.key));
    this.pending = {
      metrics: [...back.metrics, ...this.pending.metrics],
      params: [...back.params, ...this.pending.params],
      tags: [...back.tags.filter((t) => !newerTags.has(t.key)), ...this.pending.tags],
    };
  }

  // ------------------------------------------------------------ artifacts

  async logArtifact(localPath: string, artifactPath?: string): Promise<void> {
    this.assertOpen();
    const target = normaliseArtifactPath(artifactPath ?? basename(localPath));
    try {
      await this.ctx.client.uploadArtifact(this.artifactUri, localPath, target, { signal: this.backgroundAbort.signal });
    } catch (err) {
      this.spillArtifact(err, target, (dest) => copyFileSync(localPath, dest));
    }
  }

  async logArtifacts(localDir: string, artifactDir?: string): Promise<void> {
    for (const file of await listFiles(localDir)) await this.logArtifact(join(localDir, file), artifactDir ? `${artifactDir}/${file}` : file);
  }

  async logText(content: string | Uint8Array, artifactPath: string): Promise<void> {
    this.assertOpen();
    const target = normaliseArtifactPath(artifactPath);
    try {
      await this.ctx.client.uploadArtifactBytes(this.artifactUri, content, target, { signal: this.backgroundAbort.signal });
    } catch (err) {
      this.spillArtifact(err, target, (dest) => writeFileSync(dest, content));
    }
  }

  /** An upload failed: rethrow unless the server is merely unreachable, else keep the artifact in the spill run for replay. */
  private spillArtifact(err: unknown, target: string, write: (dest: string) => void): void {
    if (!isTransient(err) || this.ctx.failFast) throw err;
    this.noteOutage(err);
    const spill = this.ensureSpillRun();
    const dest = join(spill.dir, 'artifacts', ...target.split('/'));
    mkdirSync(dirname(dest), { recursive: true });
    write(dest);
    spill.artifacts.push(target);
  }

  // ------------------------------------------------------------ ending

  end(status: EndStatus = 'FINISHED', options: EndOptions = {}): Promise<EndResult> {
    this.endPromise ??= this.finish(status, options);
    return this.endPromise;
  }

  private async finish(status: EndStatus, options: EndOptions): Promise<EndResult> {
    // Already closed by spillSync (exit hook): the rest waits in the local store for sync.
    if (this.currentStatus !== 'RUNNING') return { status: this.currentStatus as EndStatus, spilledTo: this.spill?.dir };
    this.closing = true;
    clearInterval(this.timer);
    this.offRecovery();
    const endTime = options.endTime ?? Date.now();
    const deadline = Date.now() + (options.deadlineMs ?? this.ctx.endDeadlineMs);
    // A background flush may be sleeping in a long backoff: cut it short, its data is requeued.
    this.backgroundAbort.abort(new TrackingError('flush interrupted by end()', { networkCode: 'ERR_CANCELED' }));
    let error: unknown = this.backgroundError;
    // Known down: one quick look, then straight to the local store (no deadline-long wait).
    if (this.ctx.client.isDown && !(await this.ctx.client.outage.checkNow()))
      return this.spillAtEnd(status, endTime, this.ctx.client.outage.error(`run ${this.name}`));
    for (;;) {
      try {
        await this.flush({ deadline });
        break;
      } catch (err) {
        if (isTransient(err)) return this.spillAtEnd(status, endTime, err);
        error ??= err;
        if (this.bufferedCount === 0) break;
      }
    }
    if (this.spill && this.spill.artifacts.length > 0) {
      try {
        await this.uploadSpilledArtifacts(deadline);
      } catch (err) {
        if (isTransient(err)) return this.spillAtEnd(status, endTime, err);
        error ??= err;
      }
    }
    try {
      await this.ctx.client.updateRun(this.runId, { status, endTime }, { deadline });
    } catch (err) {
      if (isTransient(err)) return this.spillAtEnd(status, endTime, err);
      error ??= err;
    }
    this.currentStatus = status;
    if (error) throw error;
    this.ctx.logger.debug(`run ${this.name} (${this.runId}) ended ${status}`);
    return { status };
  }

  private async uploadSpilledArtifacts(deadline: number): Promise<void> {
    const spill = this.spill!;
    while (spill.artifacts.length > 0) {
      const path = spill.artifacts[0];
      await this.ctx.client.uploadArtifact(this.artifactUri, join(spill.dir, 'artifacts', ...path.split('/')), path, { deadline });
      spill.artifacts.shift();
    }
    // Everything in the spill directory reached the server: it has nothing left to sync.
    rmSync(spill.dir, { recursive: true, force: true });
    this.spill = undefined;
  }

  private spillAtEnd(status: EndStatus, endTime: number, cause: TrackingError): EndResult {
    const dir = this.spillSync(status, endTime);
    this.ctx.logger.warn(
      `MLflow at ${this.ctx.client.trackingUri} is unreachable (${cause.message}); run ${this.name} (${this.runId}) ends ${status} locally in ${dir}; run \`cascade mlflow sync\` to finish it on the server`,
    );
    return { status, spilledTo: dir };
  }

  private ensureSpillRun(): { runId: string; dir: string; artifacts: string[] } {
    if (this.spill) return this.spill;
    const store = this.ctx.spillStore;
    const runId = store.newRunId(this.name, this.startTime);
    store.createRun({
      runId,
      name: this.name,
      experiment: this.experimentName,
      status: 'RUNNING',
      startTime: this.startTime,
      remote: { trackingUri: this.ctx.client.trackingUri, experimentId: this.experimentId, runId: this.runId },
    });
    store.writeSyncState(runId, {
      targets: { [this.ctx.client.trackingUri]: { experimentId: this.experimentId, runId: this.runId, state: 'partial', updatedAt: Date.now() } },
    });
    this.spill = { runId, dir: store.runDir(runId), artifacts: [] };
    return this.spill;
  }

  spillSync(status: EndStatus, endTime: number = Date.now()): string | undefined {
    if (this.currentStatus !== 'RUNNING') return this.spill?.dir;
    clearInterval(this.timer);
    this.offRecovery();
    this.closing = true;
    const items = emptyPending();
    if (this.inflight) {
      for (const c of this.inflight.chunks.slice(this.inflight.index)) {
        items.metrics.push(...c.metrics);
        items.params.push(...c.params);
        items.tags.push(...c.tags);
      }
    }
    items.metrics.push(...this.pending.metrics);
    items.params.push(...this.pending.params);
    items.tags.push(...this.pending.tags);
    const store = this.ctx.spillStore;
    const spill = this.ensureSpillRun();
    store.writeParams(spill.runId, { ...store.readParams(spill.runId), ...Object.fromEntries(items.params.map((p) => [p.key, p.value])) });
    store.writeTags(spill.runId, { ...store.readTags(spill.runId), ...Object.fromEntries(items.tags.map((t) => [t.key, t.value])) });
    store.appendMetrics(spill.runId, items.metrics);
    store.updateMeta(spill.runId, { status, endTime });
    this.pending = emptyPending();
    this.currentStatus = status;
    return spill.dir;
  }
}
