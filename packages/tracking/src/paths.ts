import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { TrackingError } from './errors.js';

/** `a/b.txt` from `./a\\b.txt`; rejects absolute paths and `..` (artifact paths stay inside the run). */
export function normaliseArtifactPath(p: string): string {
  const parts = p.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.');
  if (parts.length === 0 || parts.includes('..') || p.startsWith('/'))
    throw new TrackingError(`invalid artifact path ${JSON.stringify(p)}: it must be a relative path inside the run's artifacts`);
  return parts.join('/');
}

/** Files under a directory, relative, with `/` separators, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new TrackingError(`${dir} is not a directory`);
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out;
}
