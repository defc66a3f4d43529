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
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new TrackingError(`${file}:${jsonErrorPosition(text, err as Error)}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * `line:col` of a JSON.parse error. V8 gives "at position N" for some errors, nothing for an
 * unexpected token; then the shortest prefix that fails for a reason other than ending too soon
 * ends at the bad character (binary search: a few parses, only when a file is broken).
 */
export function jsonErrorPosition(text: string, err: Error): string {
  const m = /at position (\d+)/.exec(err.message);
  let offset = text.length;
  if (m) offset = Number(m[1]);
  else if (!/Unexpected end of JSON input/.test(err.message)) {
    const failsHere = (k: number): boolean => {
      try {
        JSON.parse(text.slice(0, k));
        return false;
      } catch (e) {
        const msg = (e as Error).message;
        if (/Unexpected end of JSON input/.test(msg)) return false;
        const at = /at position (\d+)/.exec(msg);
        return at ? Number(at[1]) < k : true;
      }
    };
    let lo = 0;
    let hi = text.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (failsHere(mid)) hi = mid;
      else lo = mid;
    }
    offset = hi - 1;
  }
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/**
 * One metric-file line. `onTorn`: this is the file's last line and has no newline; if it does not
 * parse it was cut short by a kill or a full disk: reported through `onTorn` and skipped
 * (undefined) instead of making the whole run unreadable.
 */
function parsePointLine(
  line: string,
  file: string,
  lineNo: number,
  onTorn?: (message: string) => void,
): { key?: string; point?: Omit<MetricPoint, 'key'> } | undefined {
  let obj: { key?: string; step?: number; timestamp?: number; value?: number | string };
  try {
    obj = JSON.parse(line);
  } catch {
    if (onTorn) {
      onTorn(`${file}${lineNo > 0 ? `:${lineNo}` : ''}: skipping its last line, cut short without a newline (the writing process was killed or the disk filled): ${JSON.stringify(line.slice(0, 60))}`);
      return undefined;
    }
    throw new TrackingError(`${file}:${lineNo}: not a JSON line`);
  }
  if (obj === null || typeof obj !== 'object') throw new TrackingError(`${file}:${lineNo}: not a JSON object`);
  if (obj.value === undefined && typeof obj.key === 'string') return { key: obj.key };
  if (typeof obj.step !== 'number' || typeof obj.timestamp !== 'number' || obj.value === undefined)
    throw new TrackingError(`${file}:${lineNo}: a metric point needs step, timestamp and value`);
  return { point: { step: obj.step, timestamp: obj.timestamp, value: decodeMetricValue(obj.value) } };
}

/** A run directory that cannot be read (bad `meta.json`, a metric file broken before its end). */
export interface BrokenRun {
  runId: string;
  dir: string;
  /** `file:line[:col]: what is wrong`. */
  message: string;
}

export interface LocalStoreOptions {
  /**
   * Told about problems a reader skips (a torn last line of a metric file, a run whose files
   * cannot be read), once per file. Default: none (they are still in `broken()`).
   */
  onWarning?: (message: string) => void;
}

/** The embedded run store: plain files, one directory per run (layout: see `LocalRunMeta`). */
export class LocalStore {
  readonly root: string;
  private readonly warned = new Set<string>();
  private readonly brokenRuns = new Map<string, BrokenRun>();

  constructor(
    root: string,
    private readonly options: LocalStoreOptions = {},
  ) {
    this.root = resolve(root);
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.onWarning?.(message);
  }

  /** Runs the last `listRuns()` / `summaries()` had to leave out, with what is wrong with each. */
  broken(): BrokenRun[] {
    return [...this.brokenRuns.values()].sort((a, b) => a.runId.localeCompare(b.runId));
  }

  private markBroken(runId: string, err: unknown): void {
    const message = (err as Error).message;
    this.brokenRuns.set(runId, { runId, dir: join(this.root, runId), message });
    this.warnOnce(`broken:${runId}`, `skipping local run ${runId}: ${message}`);
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
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new TrackingError(`${file}:1:1: meta.json must be a JSON object`);
    if (meta.formatVersion !== LOCAL_STORE_FORMAT)
      throw new TrackingError(`${file}: local store format ${meta.formatVersion}, this version reads ${LOCAL_STORE_FORMAT}`);
    const bad = [
      typeof meta.runId !== 'string' && 'runId',
      typeof meta.name !== 'string' && 'name',
      typeof meta.experiment !== 'string' && 'experiment',
      !['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(meta.status) && 'status',
      typeof meta.startTime !== 'number' && 'startTime',
    ].filter(Boolean);
    if (bad.length > 0) throw new TrackingError(`${file}: missing or invalid ${bad.join(', ')}`);
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
      const exists = existsSync(path);
      if (header && !exists) lines.unshift(JSON.stringify({ key }));
      // After a torn write (killed mid-line) the new points start on a line of their own, so the
      // torn line stays the only bad one and readers can skip it.
      const prefix = exists && !endsWithNewline(path) ? '\n' : '';
      appendFileSync(path, prefix + lines.join('\n') + '\n');
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
          const key = parsePointLine(first, file, 1)?.key;
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
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      // The last line without its newline is a write cut short (kill, full disk): skipped.
      const torn = i === lines.length - 1;
      const parsed = parsePointLine(line, path, i + 1, torn ? (m) => this.warnOnce(`torn:${path}`, m) : undefined);
      if (parsed?.point) points.push({ key, ...parsed.point });
    });
    return points;
  }

  /** The last point of every metric (reads only each file's tail). */
  latestMetrics(runId: string): Record<string, MetricPoint> {
    const out: Record<string, MetricPoint> = {};
    for (const { key, file } of this.metricFiles(runId)) {
      const tail = lastLines(file);
      if (tail.lines.length === 0) continue;
      // Newest first: a torn last line (no newline) is skipped for the complete one before it.
      for (let i = tail.lines.length - 1; i >= 0; i--) {
        const torn = i === tail.lines.length - 1 && !tail.endsWithNewline;
        const lineNo = (): number => countLines(file) - (tail.lines.length - 1 - i);
        let parsed: ReturnType<typeof parsePointLine>;
        try {
          parsed = parsePointLine(tail.lines[i], file, torn ? lineNo() : 0, torn ? (m) => this.warnOnce(`torn:${file}`, m) : undefined);
        } catch (err) {
          // Re-raised with the line's real number (only counted when something is wrong).
          throw new TrackingError((err as Error).message.replace(`${file}:0:`, `${file}:${lineNo()}:`));
        }
        if (parsed === undefined && torn) continue;
        if (parsed?.point) out[key] = { key, ...parsed.point };
        break;
      }
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

  /**
   * Every readable run in the store, oldest first. Directories without `meta.json` are ignored; a
   * run whose `meta.json` cannot be read is left out, warned about and listed by `broken()`, so
   * one damaged run never hides the others.
   */
  listRuns(): LocalRunMeta[] {
    if (!existsSync(this.root)) return [];
    const metas: LocalRunMeta[] = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !existsSync(join(this.root, entry.name, 'meta.json'))) continue;
      try {
        metas.push(this.readMeta(entry.name));
      } catch (err) {
        this.markBroken(entry.name, err);
      }
    }
    return metas.sort((a, b) => a.startTime - b.startTime || a.runId.localeCompare(b.runId));
  }

  /** Each readable run with its latest metrics and sync state; unreadable ones go to `broken()`. */
  summaries(): LocalRunSummary[] {
    const out: LocalRunSummary[] = [];
    for (const meta of this.listRuns()) {
      try {
        out.push({ meta, latest: this.latestMetrics(meta.runId), sync: this.readSyncState(meta.runId) });
      } catch (err) {
        this.markBroken(meta.runId, err);
      }
    }
    return out;
  }
}

/** The last two lines of a file (or one, if that is all) and whether it ends with a newline. */
function lastLines(file: string): { lines: string[]; endsWithNewline: boolean } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    let chunk = 4096;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      const text = buf.toString('utf8');
      const lines = text.split('\n');
      const endsWithNewline = text.endsWith('\n');
      if (endsWithNewline) lines.pop();
      // The first line of a partial read may be cut: keep only lines known to be whole.
      const whole = start === 0 ? lines : lines.slice(1);
      if (whole.length >= 2 || start === 0) return { lines: whole.slice(-2).filter((l) => l.trim() !== ''), endsWithNewline };
      chunk *= 4;
    }
  } finally {
    closeSync(fd);
  }
}

function endsWithNewline(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const buf = Buffer.alloc(1);
    readSync(fd, buf, 0, 1, size - 1);
    return buf[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** Line count as an editor shows it (a last line without newline counts). */
function countLines(file: string): number {
  const text = readFileSync(file, 'utf8');
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}
