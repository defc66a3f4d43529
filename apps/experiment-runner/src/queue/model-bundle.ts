/**
 * How the model of a sharded evaluation reaches the workers (issue 20): the coordinator puts the
 * files of the saved model folder (what `model.save(dir)` wrote) into one Redis hash, field = path
 * relative to the folder, value = the file's bytes; a worker writes them into a folder of its own
 * and loads the model through the plugin's `load`, exactly as `cascade evaluate` loads a saved run.
 *
 * Why Redis and not a path or an MLflow artifact: the workers already reach Redis, but not
 * necessarily the coordinator's disk (its `outputs/` folder), and the run's artifacts reach MLflow
 * only once the evaluation is over; the bundle is the model's files as they are (no retraining, no
 * conversion), held once per evaluation, with an expiry, and deleted when the shards are merged.
 * A Redis value holds at most 512 MB (`proto-max-bulk-len`): each file is one value.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { CascadeError } from '@cascade-lab/core';
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX } from './jobs.js';

/** The Redis key of an evaluation's model. */
export const modelKey = (evaluation: string): string => `${QUEUE_PREFIX}:model:${evaluation}`;

/** The hash field listing the files (JSON array); a bundle of an empty folder has it too. */
const MANIFEST = ':manifest';
/** Redis's default largest value. */
const MAX_FILE_BYTES = 512 * 1024 * 1024;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Puts the files of `dir` under `key` (replacing what was there), expiring after `ttlSeconds`. */
export async function uploadModel(redis: Redis, key: string, dir: string, ttlSeconds: number): Promise<{ files: number; bytes: number }> {
  const files = filesUnder(dir);
  const fields: (string | Buffer)[] = [MANIFEST, JSON.stringify(files.map((f) => relative(dir, f).split(sep).join('/')))];
  let bytes = 0;
  for (const f of files) {
    const data = readFileSync(f);
    if (data.length > MAX_FILE_BYTES) throw new CascadeError('USAGE', `model file ${f} has ${data.length} bytes, more than a Redis value holds (512 MB): this model cannot be sent to queue workers`);
    bytes += data.length;
    fields.push(relative(dir, f).split(sep).join('/'), data);
  }
  await redis.multi().del(key).hset(key, ...fields).expire(key, ttlSeconds).exec();
  return { files: files.length, bytes };
}

/**
 * Writes the files under `key` into `into` (created); false when Redis has no such model (it
 * expired, or the evaluation was cancelled). A path that would leave `into` is refused.
 */
export async function downloadModel(redis: Redis, key: string, into: string): Promise<boolean> {
  const all = await redis.hgetallBuffer(key);
  const manifest = all[MANIFEST];
  if (!manifest) return false;
  const root = resolve(into);
  mkdirSync(root, { recursive: true });
  for (const rel of JSON.parse(manifest.toString('utf8')) as string[]) {
    const target = resolve(root, rel);
    if (!target.startsWith(root + sep)) throw new CascadeError('USAGE', `the queued model names a file outside its folder (${rel}): refused`);
    const data = all[rel];
    if (!data) throw new CascadeError('USAGE', `the queued model lacks its file ${rel}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
  }
  return true;
}
