/**
 * Where a registered dataset's files come from, in this order:
 * 1. the cache (`$CASCADE_CACHE_DIR`, default `~/.cache/cascade-lab/datasets`), `<cache>/<name>/`,
 *    when every needed file is there and matches its checksum;
 * 2. the local data directory `$CASCADE_DATA_DIR` (laid out like the project's shared data:
 *    `<dir>/micro/irvine/...`), logged when used; a file there that does not match its checksum is an
 *    error (load modified data with `path:` and `format:` instead);
 * 3. a download into the cache, each file checked against its sha256 before it is kept.
 * Offline, the error says which files to put where by hand.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CascadeError, silentLogger, throwIfCancelled, type Logger } from '@cascade-lab/core';
import { idx2uFromPickle } from './formats/pickle.js';
import { Vocabulary, writeIdx2u } from './vocabulary.js';
import type { DatasetEntry, RegistryFile } from './registry.js';

export interface DatasetStoreOptions {
  /** Cache folder. Default `$CASCADE_CACHE_DIR`, else `~/.cache/cascade-lab/datasets`. */
  cacheDir?: string;
  /** Local data folder. Default `$CASCADE_DATA_DIR` (none when unset). */
  dataDir?: string;
  /** Allow downloads. Default true. */
  download?: boolean;
  logger?: Logger;
  /** The fetch implementation (default: Node's global fetch). */
  fetch?: typeof globalThis.fetch;
  /** Per-request timeout. Default 60 s. */
  timeoutMs?: number;
  /** Retries after a network error or a 5xx/429 answer. Default 2. */
  retries?: number;
  /** First retry delay, doubled each time. Default 500 ms. */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

export interface ResolvedDataset {
  dir: string;
  origin: 'cache' | 'data-dir' | 'download';
}

/** A DATA_CHECKSUM error: a file's bytes differ from the registered sha256. */
export class DataChecksumError extends CascadeError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
    hint?: string,
  ) {
    super('DATA_CHECKSUM', `${file}: sha256 ${actual} does not match the registered ${expected}`, { hint });
  }
}

export function defaultCacheDir(): string {
  const env = process.env.CASCADE_CACHE_DIR;
  if (env) return path.resolve(env);
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'cascade-lab', 'datasets');
}

export function defaultDataDir(): string | undefined {
  const env = process.env.CASCADE_DATA_DIR;
  return env ? path.resolve(env) : undefined;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

const MANIFEST = '.cascade-manifest.json';

interface Manifest {
  name: string;
  files: Record<string, { sha256: string; bytes: number; url?: string; pinned: boolean }>;
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** Files the loader needs (everything but optional ones). */
function required(entry: DatasetEntry): RegistryFile[] {
  return entry.files.filter((f) => !f.optional);
}

/**
 * Checks a folder against the registry: every required file present, and every present file with a
 * known sha256 (registered, or recorded in the cache manifest for files without one) matching.
 */
export async function verifyFolder(entry: DatasetEntry, dir: string): Promise<{ complete: boolean; mismatches: { file: string; expected: string; actual: string }[]; missing: string[] }> {
  const manifest = await readManifest(dir);
  const missing: string[] = [];
  const mismatches: { file: string; expected: string; actual: string }[] = [];
  for (const f of entry.files) {
    const p = path.join(dir, f.path);
    if (!(await exists(p))) {
      if (!f.optional) missing.push(f.path);
      continue;
    }
    const expected = f.sha256 ?? manifest?.files[f.path]?.sha256;
    if (expected === undefined) continue;
    const actual = await sha256File(p);
    if (actual !== expected) mismatches.push({ file: p, expected, actual });
  }
  return { complete: missing.length === 0, mismatches, missing };
}

/** Human instructions for placing a dataset's files by hand. */
export function manualInstructions(entry: DatasetEntry, cacheDir = defaultCacheDir()): string {
  const target = path.join(cacheDir, entry.name);
  const lines = [`Place the files of ${entry.name} in ${target}/ (or set CASCADE_DATA_DIR to a folder holding ${entry.localDir}/):`];
  for (const f of required(entry)) {
    const from = f.url ? `from ${f.url}` : f.derivedFrom ? `(made by \`cascade datasets fetch\` from ${f.derivedFrom.path}; or write "index<TAB>user id" lines yourself)` : '(no download URL; see below)';
    lines.push(`  ${f.path}  ${from}${f.sha256 ? `  sha256 ${f.sha256}` : ''}`);
  }
  if (entry.manual) lines.push(entry.manual);
  return lines.join('\n');
}

/** Finds a registered dataset's folder: cache, then CASCADE_DATA_DIR, then a download. */
export async function resolveDataset(entry: DatasetEntry, options: DatasetStoreOptions = {}): Promise<ResolvedDataset> {
  const log = options.logger ?? silentLogger;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const cached = path.join(cacheDir, entry.name);
  const c = await verifyFolder(entry, cached);
  if (c.complete && c.mismatches.length === 0) {
    log.debug(`dataset ${entry.name}: using the cache ${cached}`);
    return { dir: cached, origin: 'cache' };
  }
  if (c.complete) log.warn(`dataset ${entry.name}: cached copy in ${cached} fails its checksum (${c.mismatches.map((m) => path.basename(m.file)).join(', ')}); looking elsewhere`);

  const dataDir = options.dataDir ?? defaultDataDir();
  if (dataDir) {
    const local = path.join(dataDir, entry.localDir);
    const v = await verifyFolder(entry, local);
    if (v.complete) {
      if (v.mismatches.length > 0) {
        const m = v.mismatches[0];
        throw new DataChecksumError(m.file, m.expected, m.actual, `the copy under CASCADE_DATA_DIR differs from the registered file; to load modified data use \`dataset: { path: ${local}, format: ${entry.format} }\``);
      }
      log.info(`dataset ${entry.name}: using ${local} (from CASCADE_DATA_DIR)`);
      return { dir: local, origin: 'data-dir' };
    }
    log.debug(`dataset ${entry.name}: not complete under CASCADE_DATA_DIR (${local}: missing ${v.missing.join(', ')})`);
  }

  if (options.download === false) {
    throw new CascadeError('DATA_NOT_FOUND', `dataset ${entry.name} is not in the cache${dataDir ? ' nor under CASCADE_DATA_DIR' : ''} and downloads are off`, { hint: manualInstructions(entry, cacheDir) });
  }
  const r = await fetchDataset(entry, options);
  return { dir: r.dir, origin: 'download' };
}

export interface FetchReport {
  dir: string;
  downloaded: string[];
  reused: string[];
  derived: string[];
  /** Optional files that could not be fetched or verified. */
  skipped: string[];
}

/** Downloads a registered dataset into the cache (files already there and valid are kept). */
export async function fetchDataset(entry: DatasetEntry, options: DatasetStoreOptions & { force?: boolean } = {}): Promise<FetchReport> {
  const log = options.logger ?? silentLogger;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir = path.join(cacheDir, entry.name);
  await mkdir(dir, { recursive: true });
  const old = options.force ? undefined : await readManifest(dir);
  const manifest: Manifest = { name: entry.name, files: {} };
  const report: FetchReport = { dir, downloaded: [], reused: [], derived: [], skipped: [] };
  const record = async (f: RegistryFile, sha: string) => {
    manifest.files[f.path] = { sha256: sha, bytes: (await stat(path.join(dir, f.path))).size, url: f.url, pinned: f.sha256 !== undefined };
  };

  for (const f of entry.files) {
    throwIfCancelled(options.signal);
    if (f.derivedFrom) continue;
    const target = path.join(dir, f.path);
    if (!options.force && (await exists(target))) {
      const sha = await sha256File(target);
      const expected = f.sha256 ?? old?.files[f.path]?.sha256;
      if (expected === undefined || sha === expected) {
        report.reused.push(f.path);
        await record(f, sha);
        continue;
      }
      log.warn(`${target}: checksum mismatch, downloading again`);
    }
    if (!f.url) {
      if (f.optional) {
        report.skipped.push(f.path);
        continue;
      }
      throw new CascadeError('DATA_NOT_FOUND', `dataset ${entry.name}: ${f.path} has no download URL`, { hint: manualInstructions(entry, cacheDir) });
    }
    try {
      const sha = await download(f.url, target, f.sha256, options);
      if (f.sha256 === undefined) log.warn(`${entry.name}/${f.path}: no registered checksum; recorded sha256 ${sha} (later loads check against it)`);
      report.downloaded.push(f.path);
      await record(f, sha);
      log.info(`downloaded ${f.url}`);
    } catch (e) {
      if (f.optional) {
        log.warn(`${entry.name}/${f.path} (optional) skipped: ${(e as Error).message}`);
        report.skipped.push(f.path);
        continue;
      }
      if (e instanceof CascadeError) throw e;
      throw new CascadeError('DATA_NOT_FOUND', `dataset ${entry.name}: cannot download ${f.url}: ${describeNetworkError(e)}`, { hint: manualInstructions(entry, cacheDir), cause: e });
    }
  }

  for (const f of entry.files) {
    if (!f.derivedFrom) continue;
    const target = path.join(dir, f.path);
    const from = path.join(dir, f.derivedFrom.path);
    if (!(await exists(from))) {
      if (await exists(target)) {
        report.reused.push(f.path);
        await record(f, await sha256File(target));
        continue;
      }
      throw new CascadeError('DATA_NOT_FOUND', `dataset ${entry.name}: cannot make ${f.path}, ${f.derivedFrom.path} is missing`, { hint: manualInstructions(entry, cacheDir) });
    }
    const users = idx2uFromPickle(await readFile(from), from);
    await writeFile(target, writeIdx2u(new Vocabulary(users)));
    const sha = await sha256File(target);
    if (f.sha256 !== undefined && sha !== f.sha256) {
      await rm(target, { force: true });
      throw new DataChecksumError(target, f.sha256, sha, `${f.path} made from ${f.derivedFrom.path} differs from the registered one`);
    }
    report.derived.push(f.path);
    await record(f, sha);
  }
  await writeFile(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return report;
}

/** `fetch failed (ECONNREFUSED)`: Node's fetch hides the reason in `cause`. */
function describeNetworkError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const why = err.cause?.code ?? err.cause?.message;
  return why && !err.message.includes(why) ? `${err.message} (${why})` : err.message;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Downloads `url` to `target` (via a `.part` file), verifying the sha256 when given. Returns the sha256. */
async function download(url: string, target: string, sha256: string | undefined, options: DatasetStoreOptions): Promise<string> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 2;
  let delay = options.retryDelayMs ?? 500;
  const part = `${target}.part`;
  for (let attempt = 0; ; attempt++) {
    throwIfCancelled(options.signal);
    let retryable = true;
    try {
      const signals = [AbortSignal.timeout(options.timeoutMs ?? 60_000), ...(options.signal ? [options.signal] : [])];
      const res = await doFetch(url, { signal: AbortSignal.any(signals), redirect: 'follow' });
      if (!res.ok || !res.body) {
        retryable = res.status >= 500 || res.status === 429;
        throw new Error(`HTTP ${res.status} ${res.statusText}`);
      }
      const hash = createHash('sha256');
      const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(body, createWriteStream(part));
      const actual = hash.digest('hex');
      if (sha256 !== undefined && actual !== sha256) {
        await rm(part, { force: true });
        throw new DataChecksumError(url, sha256, actual, 'the download differs from the registered file (changed upstream, or corrupted in transit); nothing was kept');
      }
      await rename(part, target);
      return actual;
    } catch (e) {
      await rm(part, { force: true });
      if (e instanceof CascadeError || !retryable || attempt >= retries) throw e;
      await sleep(delay);
      delay *= 2;
    }
  }
}
