import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TrackingError } from './errors.js';

/**
 * Creates `path` and its missing parents one level at a time, and optionally proves it writable.
 * Unlike `mkdirSync(path, { recursive: true })`, which on Node 20 can loop forever at full CPU on
 * some paths (`/proc/nope`: ENOENT on a directory that exists), every failure ends here with a
 * message naming the path and the reason: a parent that is a regular file (ENOTDIR), a read-only
 * or special filesystem, no permission.
 */
export function ensureDir(path: string, options: { what?: string; writable?: boolean } = {}): string {
  const target = resolve(path);
  const what = options.what ?? 'directory';
  const missing: string[] = [];
  let existing = target;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(existing).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: some ancestor is a file; walking up finds it and says so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fail(what, target, `cannot inspect ${existing} (${code})`, err);
      const parent = dirname(existing);
      if (parent === existing) throw fail(what, target, 'no existing parent directory', err);
      missing.push(existing);
      existing = parent;
      continue;
    }
    if (!isDir) throw fail(what, target, `${existing} is a file, not a directory`);
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw fail(what, target, `cannot create ${dir} (${code ?? (err as Error).message})`, err);
    }
  }
  if (options.writable) {
    const probe = join(target, `.cascade-write-test-${process.pid}`);
    try {
      writeFileSync(probe, '');
      rmSync(probe, { force: true });
    } catch (err) {
      throw fail(what, target, `cannot write there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
    }
  }
  return target;
}

function fail(what: string, target: string, reason: string, cause?: unknown): TrackingError {
  return new TrackingError(`${what} ${target} cannot be used: ${reason}`, { cause, hint: 'choose a directory you can write to' });
}
