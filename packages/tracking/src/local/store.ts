import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureDir } from '../dirs.js';
import { TrackingError } from '../errors.js';
import { decodeMetricValue, encodeMetricValue } from '../encoding.js';
import { sha256Hex } from '../hash.js';
import type { MetricPoint, RunStatus } from '../types.js';

/** Version of the directory layout below; bumped on incompatible changes. */
export const LOCAL_STORE_FORMAT = 1;

/**
 * `meta.json` of a local run.
 *
 * Layout of a store (default `./runs`, or `$CASCADE_RUNS_DIR`):
 * ```
 * <root>/<runId>/meta.json          this object
 *               /params.json        {"model.heads": "8", ...}   flat, string values
 *               /tags.json          {"mlflow.user": "ana", ...}
 *               /metrics/<key>.jsonl one point a line: {"step":0,"timestamp":1700000000000,"value":0.5}
 *                                   (key URI-encoded; values NaN/Infinity as strings)
 *               /artifacts/...      files as logged
 *               /sync.json          where `cascade mlflow sync` put the run (per server)
 * ```
 */
export interface LocalRunMeta {
  formatVersion: number;
  runId: string;
  name: string;
  experiment: string;
  status: RunStatus;
  /** ms since the epoch. */
  startTime: number;
  endTime?: number;
  /** Local id of the parent run (nested runs). */
  parentRunId?: string;
  /** Process that owns the run while it is RUNNING. */
  pid?: number;
  host?: string;
  /**
   * Set when this directory holds what an MLflow run could not send before its process exited
   * (server unreachable): only the unsent remainder is here; sync completes that remote run.
   */
  remote?: { trackingUri: string; experimentId: string; runId: string };
}

export interface SyncTarget {
  experimentId: string;
  runId: string;
  /** `partial`: the remote run exists but is not complete yet; `complete`: fully uploaded. */
  state: 'partial' | 'complete';
  updatedAt: number;
}

/** `sync.json`: remote copies of this run, by tracking URI (without credentials). */
export interface SyncState {
  targets: Record<string, SyncTarget>;
}

export interface LocalRunSummary {
  meta: LocalRunMeta;
  /** Last point of each metric. */
  latest: Record<string, MetricPoint>;
  sync: SyncState;
}

const METRIC_FILE_BYTES = 200;

/** File name for a metric key; keys whose encoding is too long get a hashed name plus a header line. */
export function metricFileName(key: string): { file: string; header: boolean } {
  const encoded = encodeURIComponent(key);
  if (Buffer.byteLength(encoded) <= METRIC_FILE_BYTES) return { file: `${encoded}.jsonl`, header: false };
  return { file: `${encoded.slice(0, 100).replace(/%[0-9A-F]?$/, '')}~${sha256Hex(key).slice(0, 16)}.jsonl`, header: true };
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, file);
}

function readJson<T>(file: string, fallback: T): T {
  if (!existsSync(file)) return fallback;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new TrackingError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

function parsePointLine(line: string, file: string, lineNo: number): { key?: string; point?: Omit<MetricPoint, 'key'> } {
  let obj: { key?: string; step?: number; timestamp?: number; value?: number | string };
  try {
    obj = JSON.parse(line);
  } catch {
    throw new TrackingError(`${file}:${lineNo}: not a JSON line`);
  }
  if (obj.value === undefined && typeof obj.key === 'string') return { key: obj.key };
  if (typeof obj.step !== 'number' || typeof obj.timestamp !== 'number' || obj.value === undefined)
    throw new TrackingError(`${file}:${lineNo}: a metric point needs step, timestamp and value`);
  return { point: { step: obj.step, timestamp: obj.timestamp, value: decodeMetricValue(obj.value) } };
}

/** The embedded run store: plain files, one directory per run (layout: see `LocalRunMeta`). */
export class LocalStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** `$CASCADE_RUNS_DIR`, else `<cwd>/runs`. */
  static defaultRoot(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
    return resolve(cwd, env.CASCADE_RUNS_DIR || 'runs');
  }

  /** A sortable, readable id: `20261125-175456-<name slug>-<8 hex>` (UTC time). */
  newRunId(name: string, startTime: number = Date.now()): string {
    const d = new Date(startTime).toISOString(); // 2026-11-25T17:54:56.123Z
    const stamp = `${d.slice(0, 10).replace(/-/g, '')}-${d.slice(11, 19).replace(/:/g, '')}`;
    const slug = name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40)
      .replace(/-+$/, '');
    return [stamp, slug, randomBytes(4).toString('hex')].filter(Boolean).join('-');
  }

  runDir(runId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId === '.' || runId === '..') throw new TrackingError(`invalid local run id ${JSON.stringify(runId)}`);
    return join(this.root, runId);
  }

  artifactsDir(runId: string): string {
    return join(this.runDir(runId), 'artifacts');
  }

  /** Creates the store directory if needed and proves it writable (TrackingError naming it otherwise). */
  checkWritable(): void {
    ensureDir(this.root, { what: 'runs directory', writable: true });
  }

  hasRun(runId: string): boolean {
    try {
      return existsSync(join(this.runDir(runId), 'meta.json'));
    } catch {
      return false;
    }
  }

  createRun(meta: Omit<LocalRunMeta, 'formatVersion' | 'pid' | 'host'> & { pid?: number; host?: string }): LocalRunMeta {
    const dir = this.runDir(meta.runId);
    if (existsSync(join(dir, 'meta.json'))) throw new TrackingError(`local run ${meta.runId} already exists in ${this.root}`);
    mkdirSync(join(dir, 'metrics'), { recursive: true });
    mkdirSync(join(dir, 'artifacts'), { recursive: true });
    const full: LocalRunMeta = { formatVersion: LOCAL_STORE_FORMAT, pid: process.pid, host: hostname(), ...meta };
    writeJsonAtomic(join(dir, 'meta.json'), full);
    return full;
  }

  readMeta(runId: string): LocalRunMeta {
    const file = join(this.runDir(runId), 'meta.json');
    if (!existsSync(file)) throw new TrackingError(`no local run ${JSON.stringify(runId)} in ${this.root}`);
    const meta = readJson<LocalRunMeta>(file, undefined as never);
    if (meta.formatVersion !== LOCAL_STORE_FORMAT)
      throw new TrackingError(`${file}: local store format ${meta.formatVersion}, this version reads ${LOCAL_STORE_FORMAT}`);
    return meta;
  }

  updateMeta(runId: string, patch: Partial<LocalRunMeta>): LocalRunMeta {
    const meta = { ...this.readMeta(runId), ...patch };
    writeJsonAtomic(join(this.runDir(runId), 'meta.json'), meta);
    return meta;
  }

  readParams(runId: string): Record<string, string> {
    return readJson(join(this.runDir(runId), 'params.json'), {});
  }

  writeParams(runId: string, params: Record<string, string>): void {
    writeJsonAtomic(join(this.runDir(runId), 'params.json'), params);
  }

  readTags(runId: string): Record<string, string> {
    return readJson(join(this.runDir(runId), 'tags.json'), {});
  }

  writeTags(runId: string, tags: Record<string, string>): void {
    writeJsonAtomic(join(this.runDir(runId), 'tags.json'), tags);
  }

  /** Appends points to their metrics' files (synchronously: usable from an `exit` handler). */
  appendMetrics(runId: string, points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    const dir = join(this.runDir(runId), 'metrics');
    mkdirSync(dir, { recursive: true });
    const byKey = new Map<string, string[]>();
    for (const p of points) {
      let lines = byKey.get(p.key);
      if (!lines) byKey.set(p.key, (lines = []));
      lines.push(JSON.stringify({ step: p.step, timestamp: p.timestamp, value: encodeMetricValue(p.value) }));
    }
    for (const [key, lines] of byKey) {
      const { file, header } = metricFileName(key);
      const path = join(dir, file);
      if (header && !existsSync(path)) lines.unshift(JSON.stringify({ key }));
      appendFileSync(path, lines.join('\n') + '\n');
    }
  }

  /** Metric keys of a run with their files. */
  metricFiles(runId: string): { key: string; file: string }[] {
    const dir = join(this.runDir(runId), 'metrics');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()
      .map((f) => {
        const file = join(dir, f);
        if (f.includes('~')) {
          const first = readFileSync(file, 'utf8').split('\n', 1)[0];
          const key = parsePointLine(first, file, 1).key;
          if (!key) throw new TrackingError(`${file}:1: a hashed metric file must start with {"key": ...}`);
          return { key, file };
        }
        return { key: decodeURIComponent(f.slice(0, -'.jsonl'.length)), file };
      });
  }

  metricKeys(runId: string): string[] {
    return this.metricFiles(runId).map((m) => m.key);
  }

  /** Every point of one metric, in logged order. */
  readMetricHistory(runId: string, key: string): MetricPoint[] {
    const { file } = metricFileName(key);
    const path = join(this.runDir(runId), 'metrics', file);
    if (!existsSync(path)) return [];
    const points: MetricPoint[] = [];
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() === '') return;
        const parsed = parsePointLine(line, path, i + 1);
        if (parsed.point) points.push({ key, ...parsed.point });
      });
    return points;
  }

  /** The last point of every metric (reads only each file's tail). */
  latestMetrics(runId: string): Record<string, MetricPoint> {
    const out: Record<string, MetricPoint> = {};
    for (const { key, file } of this.metricFiles(runId)) {
      const line = lastLine(file);
      if (!line) continue;
      const parsed = parsePointLine(line, file, 0);
      if (parsed.point) out[key] = { key, ...parsed.point };
    }
    return out;
  }

  /** Artifact files of a run, as paths relative to its artifacts directory (with `/`). */
  listArtifactFiles(runId: string): string[] {
    const root = this.artifactsDir(runId);
    if (!existsSync(root)) return [];
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile()) out.push(relative(root, full).split(sep).join('/'));
      }
    };
    walk(root);
    return out;
  }

  readSyncState(runId: string): SyncState {
    return readJson<SyncState>(join(this.runDir(runId), 'sync.json'), { targets: {} });
  }

  writeSyncState(runId: string, state: SyncState): void {
    writeJsonAtomic(join(this.runDir(runId), 'sync.json'), state);
  }

  /** Every run in the store, oldest first. Directories without `meta.json` are ignored. */
  listRuns(): LocalRunMeta[] {
    if (!existsSync(this.root)) return [];
    const metas: LocalRunMeta[] = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !existsSync(join(this.root, entry.name, 'meta.json'))) continue;
      metas.push(this.readMeta(entry.name));
    }
    return metas.sort((a, b) => a.startTime - b.startTime || a.runId.localeCompare(b.runId));
  }

  summaries(): LocalRunSummary[] {
    return this.listRuns().map((meta) => ({ meta, latest: this.latestMetrics(meta.runId), sync: this.readSyncState(meta.runId) }));
  }
}

function lastLine(file: string): string | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    let chunk = 4096;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      const lines = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
      // The first line of a partial read may be cut; accept it only when the read began at 0.
      if (lines.length >= 2 || start === 0) return lines[lines.length - 1];
      chunk *= 4;
    }
  } finally {
    closeSync(fd);
  }
}
