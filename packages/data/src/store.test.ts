import { once } from 'node:events';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile, copyFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CascadeError, MemoryLogger } from '@cascade-lab/core';
import { dataPath } from './data-dir.test-util.js';
import { DataChecksumError, defaultCacheDir, fetchDataset, getDataset, parseIdx2u, resolveDataset, sha256File, type DatasetEntry } from './index.js';

/** A pickle (protocol 2) of a list of str: PROTO 2, EMPTY_LIST, MARK, BINUNICODE..., APPENDS, STOP. */
function pickleList(items: string[]): Buffer {
  const parts = [Buffer.from([0x80, 2, 0x5d, 0x28])];
  for (const s of items) {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    parts.push(Buffer.from([0x58]), len, b);
  }
  parts.push(Buffer.from([0x65, 0x2e]));
  return Buffer.concat(parts);
}

let server: http.Server;
let base: string;
let tmp: string;
const served = new Map<string, Buffer>();
const hits = new Map<string, number>();
/** Paths answered with HTTP 500 this many times before succeeding. */
const failFirst = new Map<string, number>();

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'cascade-store-'));
  const irvine = await readFile(dataPath('micro/irvine/idx2u.tsv'), 'utf8');
  const users = parseIdx2u(irvine, 'idx2u.tsv').rawIds();
  served.set('/ndm/irvine/cascade.txt', await readFile(dataPath('micro/irvine/cascade.txt')));
  served.set('/ndm/irvine/cascadetest.txt', await readFile(dataPath('micro/irvine/cascadetest.txt')));
  served.set('/ndm/irvine/idx2u.pickle', pickleList(['<blank>', '</s>', ...users]));
  served.set('/tampered/cascade.txt', Buffer.concat([await readFile(dataPath('micro/irvine/cascade.txt')), Buffer.from('1,2\n')]));
  served.set('/plain/a.txt', Buffer.from('a,1 b,2\n'));
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const fails = failFirst.get(url) ?? 0;
    if (fails > 0) {
      failFirst.set(url, fails - 1);
      res.writeHead(500).end('try again');
      return;
    }
    const body = served.get(url);
    if (!body) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.close();
  await rm(tmp, { recursive: true, force: true });
});

/** The registered Irvine entry with its URLs pointing at the local server. */
function localIrvine(prefix = '/ndm/irvine'): DatasetEntry {
  const e = getDataset('irvine');
  return { ...e, files: e.files.map((f) => (f.url ? { ...f, url: `${base}${prefix}/${f.path}` } : f)) };
}

const fast = { retries: 0, timeoutMs: 5000 };
let n = 0;
const freshDir = () => path.join(tmp, `cache${n++}`);

describe('downloads', () => {
  test('fetch: downloads, checks sha256, makes idx2u.tsv from the pickle; a second fetch reuses the files', async () => {
    const cacheDir = freshDir();
    const r = await fetchDataset(localIrvine(), { cacheDir, ...fast });
    expect(r.downloaded.sort()).toEqual(['cascade.txt', 'cascadetest.txt', 'idx2u.pickle']);
    expect(r.derived).toEqual(['idx2u.tsv']);
    const dir = path.join(cacheDir, 'irvine');
    // The derived file equals the registered idx2u.tsv byte for byte (checked by its sha256).
    expect(await sha256File(path.join(dir, 'idx2u.tsv'))).toBe(getDataset('irvine').files.find((f) => f.path === 'idx2u.tsv')!.sha256);
    expect((await readdir(dir)).sort()).toEqual(['.cascade-manifest.json', 'cascade.txt', 'cascadetest.txt', 'idx2u.pickle', 'idx2u.tsv']);
    const before = hits.get('/ndm/irvine/cascade.txt');
    const again = await fetchDataset(localIrvine(), { cacheDir, ...fast });
    expect(again.downloaded).toEqual([]);
    expect(hits.get('/ndm/irvine/cascade.txt')).toBe(before);
  });

  test('checksum mismatch: DataChecksumError, nothing kept', async () => {
    const cacheDir = freshDir();
    const entry = localIrvine();
    entry.files = entry.files.map((f) => (f.path === 'cascade.txt' ? { ...f, url: `${base}/tampered/cascade.txt` } : f));
    const err = await fetchDataset(entry, { cacheDir, ...fast }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataChecksumError);
    expect((err as DataChecksumError).code).toBe('DATA_CHECKSUM');
    expect((err as Error).message).toMatch(/tampered\/cascade\.txt: sha256 [0-9a-f]{64} does not match the registered [0-9a-f]{64}/);
    const left = await readdir(path.join(cacheDir, 'irvine'));
    expect(left.filter((f) => f.startsWith('cascade.txt'))).toEqual([]);
  });

  test('5xx answers are retried; 404 is not', async () => {
    failFirst.set('/plain/a.txt', 2);
    const entry: DatasetEntry = { ...getDataset('irvine'), name: 'plain', files: [{ path: 'a.txt', url: `${base}/plain/a.txt`, role: 'train' }] };
    const cacheDir = freshDir();
    const r = await fetchDataset(entry, { cacheDir, retries: 2, retryDelayMs: 1 });
    expect(r.downloaded).toEqual(['a.txt']);
    const missing: DatasetEntry = { ...entry, name: 'missing', files: [{ path: 'a.txt', url: `${base}/nothing-here`, role: 'train' }] };
    const err = (await fetchDataset(missing, { cacheDir, retries: 3, retryDelayMs: 1 }).catch((e: unknown) => e)) as CascadeError;
    expect(err.code).toBe('DATA_NOT_FOUND');
    expect(err.message).toMatch(/HTTP 404/);
    expect(hits.get('/nothing-here')).toBe(1);
  });

  test('no registered checksum: recorded at download, and a later change is caught', async () => {
    const cacheDir = freshDir();
    const entry: DatasetEntry = { ...getDataset('irvine'), name: 'unpinned', files: [{ path: 'a.txt', url: `${base}/plain/a.txt`, role: 'train' }] };
    const log = new MemoryLogger();
    await fetchDataset(entry, { cacheDir, ...fast, logger: log });
    expect(log.lines.some((l) => l.level === 'warn' && /no registered checksum; recorded sha256/.test(l.message))).toBe(true);
    expect((await resolveDataset(entry, { cacheDir, download: false })).origin).toBe('cache');
    await writeFile(path.join(cacheDir, 'unpinned', 'a.txt'), 'a,1 b,3\n');
    await expect(resolveDataset(entry, { cacheDir, dataDir: path.join(tmp, 'empty'), download: false })).rejects.toMatchObject({ code: 'DATA_NOT_FOUND' });
  });

  test('offline: the error says where to put which file, with URLs and checksums', async () => {
    const entry = localIrvine();
    entry.files = entry.files.map((f) => (f.url ? { ...f, url: f.url.replace(base, 'http://127.0.0.1:9') } : f));
    const cacheDir = freshDir();
    const err = (await fetchDataset(entry, { cacheDir, ...fast }).catch((e: unknown) => e)) as CascadeError;
    expect(err.code).toBe('DATA_NOT_FOUND');
    expect(err.message).toMatch(/cannot download http:\/\/127\.0\.0\.1:9\/ndm\/irvine\/cascade\.txt/);
    expect(err.hint).toContain(`Place the files of irvine in ${path.join(cacheDir, 'irvine')}/`);
    expect(err.hint).toMatch(/cascade\.txt +from http:\/\/127\.0\.0\.1:9\/ndm\/irvine\/cascade\.txt +sha256 [0-9a-f]{64}/);
    expect(err.hint).toContain('CASCADE_DATA_DIR');
  });

  test('a file without a URL (SEISMIC, inside an R package): the manual recipe', async () => {
    const err = (await fetchDataset(getDataset('seismic-tweet'), { cacheDir: freshDir(), ...fast }).catch((e: unknown) => e)) as CascadeError;
    expect(err.code).toBe('DATA_NOT_FOUND');
    expect(err.hint).toMatch(/write\.csv\(tweet, "tweet\.csv"/);
  });
});

describe('resolution order: cache, CASCADE_DATA_DIR, download', () => {
  test('cache first', async () => {
    const cacheDir = freshDir();
    await fetchDataset(localIrvine(), { cacheDir, ...fast });
    const r = await resolveDataset(localIrvine(), { cacheDir, dataDir: dataPath(), download: false });
    expect(r).toEqual({ dir: path.join(cacheDir, 'irvine'), origin: 'cache' });
  });

  test('then the local data directory, logged', async () => {
    const log = new MemoryLogger();
    const r = await resolveDataset(localIrvine(), { cacheDir: freshDir(), dataDir: dataPath(), download: false, logger: log });
    expect(r).toEqual({ dir: dataPath('micro/irvine'), origin: 'data-dir' });
    expect(log.lines).toContainEqual({ level: 'info', message: `dataset irvine: using ${dataPath('micro/irvine')} (from CASCADE_DATA_DIR)` });
  });

  test('a modified file in the data directory is an error, not silently used', async () => {
    const dataDir = freshDir();
    const dir = path.join(dataDir, 'micro/irvine');
    await mkdir(dir, { recursive: true });
    for (const f of ['cascade.txt', 'cascadetest.txt', 'idx2u.tsv']) await copyFile(dataPath('micro/irvine', f), path.join(dir, f));
    await writeFile(path.join(dir, 'cascadetest.txt'), '128,1 100,2\n');
    const err = (await resolveDataset(localIrvine(), { cacheDir: freshDir(), dataDir, download: false }).catch((e: unknown) => e)) as DataChecksumError;
    expect(err).toBeInstanceOf(DataChecksumError);
    expect(err.hint).toMatch(/path: .*micro\/irvine, format: ndm/);
  });

  test('then a download; with downloads off, how to place the files', async () => {
    const r = await resolveDataset(localIrvine(), { cacheDir: freshDir(), dataDir: path.join(tmp, 'empty'), ...fast });
    expect(r.origin).toBe('download');
    const err = (await resolveDataset(localIrvine(), { cacheDir: freshDir(), dataDir: path.join(tmp, 'empty'), download: false }).catch((e: unknown) => e)) as CascadeError;
    expect(err.code).toBe('DATA_NOT_FOUND');
    expect(err.hint).toMatch(/Place the files of irvine in/);
  });

  test('cache folder: CASCADE_CACHE_DIR, else ~/.cache/cascade-lab/datasets', () => {
    const saved = { c: process.env.CASCADE_CACHE_DIR, x: process.env.XDG_CACHE_HOME };
    try {
      process.env.CASCADE_CACHE_DIR = '/some/where';
      expect(defaultCacheDir()).toBe('/some/where');
      delete process.env.CASCADE_CACHE_DIR;
      delete process.env.XDG_CACHE_HOME;
      expect(defaultCacheDir()).toBe(path.join(os.homedir(), '.cache', 'cascade-lab', 'datasets'));
    } finally {
      if (saved.c === undefined) delete process.env.CASCADE_CACHE_DIR;
      else process.env.CASCADE_CACHE_DIR = saved.c;
      if (saved.x !== undefined) process.env.XDG_CACHE_HOME = saved.x;
    }
  });
});
