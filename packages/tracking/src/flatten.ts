import { MLFLOW_LIMITS } from './limits.js';
import { sha256Hex } from './hash.js';
import { TrackingError } from './errors.js';

/** Number of Unicode code points, the length MLflow (Python `len`) checks. */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Shortens `value` to at most `limit` code points, replacing the tail by `...[sha256:<16 hex>]`
 * (the hash of the whole value), so two long values that differ only at the end stay distinct.
 */
export function shortenValue(value: string, limit: number): string {
  if (codePointLength(value) <= limit) return value;
  const suffix = `...[sha256:${sha256Hex(value).slice(0, 16)}]`;
  if (limit < suffix.length + 1) throw new RangeError(`limit ${limit} too small to shorten with a hash suffix`);
  return Array.from(value).slice(0, limit - suffix.length).join('') + suffix;
}

// MLflow accepts keys matching ^[/\w.\- :]*$ (Python `\w` is Unicode-aware).
const KEY_CHARS = /^[\/\p{L}\p{N}_.\- :]*$/u;
const BAD_KEY_CHAR = /[^\/\p{L}\p{N}_.\- :]/gu;

/** Why MLflow would reject `key` as a param, metric or tag key, or undefined when it is fine. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'the key is empty';
  if (!KEY_CHARS.test(key)) return 'keys may only contain letters, digits, underscores, dashes, periods, spaces, colons and slashes';
  // MLflow treats keys as file paths too: they must be normalised paths (mlflow path_not_unique).
  const segments = key.split('/');
  if (key.startsWith('/') || key.endsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..'))
    return 'as a path the key must not start or end with "/", nor contain "//", "." or ".." segments';
  if (codePointLength(key) > MLFLOW_LIMITS.keyLength) return `the key is longer than ${MLFLOW_LIMITS.keyLength} characters`;
  return undefined;
}

/** Throws a TrackingError naming the key when MLflow would reject it. */
export function assertValidKey(kind: 'metric' | 'param' | 'tag', key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new TrackingError(`invalid ${kind} key ${JSON.stringify(key)}: ${problem}`);
}

/**
 * Turns an arbitrary key into one MLflow accepts: forbidden characters become `_`, empty, `.`
 * and `..` path segments become `_`, and a key over 250 characters is shortened with a hash suffix.
 */
export function sanitizeKey(key: string): string {
  let k = key.replace(BAD_KEY_CHAR, '_');
  k = k
    .split('/')
    .map((s) => (s === '' || s === '.' || s === '..' ? '_' : s))
    .join('/');
  if (codePointLength(k) > MLFLOW_LIMITS.keyLength) {
    const suffix = `_sha256_${sha256Hex(key).slice(0, 16)}`;
    k = Array.from(k).slice(0, MLFLOW_LIMITS.keyLength - suffix.length).join('') + suffix;
  }
  return k;
}

/** The string MLflow shows for one config leaf. */
export function paramValueString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? v.toString() : v));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

function isLeafArray(v: unknown[]): boolean {
  return v.every((x) => x === null || (typeof x !== 'object' && typeof x !== 'function'));
}

/**
 * Flattens a nested config into dot keys: `{model: {heads: 8}}` -> `{"model.heads": "8"}`.
 * Arrays of primitives stay one value in JSON (`"horizons": "[1,2,4]"`, comparable in the UI);
 * arrays holding objects are indexed (`layers.0.units`). Empty objects and arrays keep their key
 * (`"{}"`, `"[]"`). `undefined` leaves are skipped; functions and symbols are an error, and so
 * are two entries that flatten to the same key (`{"a.b": 1, a: {b: 2}}`).
 * Keys are not sanitised here (see `prepareParams`).
 */
export function flattenConfig(config: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (value: unknown, path: string): void => {
    if (value === undefined) return;
    if (typeof value === 'function' || typeof value === 'symbol')
      throw new TrackingError(`config value at ${JSON.stringify(path)} is a ${typeof value}, which cannot be logged as a param`);
    if (isPlainObject(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0 && path) out[path] = '{}';
      for (const k of keys) visit(value[k], path ? `${path}.${k}` : k);
      return;
    }
    if (Array.isArray(value) && !isLeafArray(value)) {
      value.forEach((v, i) => visit(v, path ? `${path}.${i}` : String(i)));
      return;
    }
    if (!path) throw new TrackingError('a config logged as params must be an object');
    if (path in out) throw new TrackingError(`two config entries both flatten to the key ${JSON.stringify(path)}`);
    out[path] = paramValueString(value);
  };
  visit(config, prefix);
  return out;
}

export interface PreparedParams {
  /** Key -> value, ready for MLflow: valid keys, values within 6000 characters. */
  params: Record<string, string>;
  /** The full value of every param that had to be shortened, by its (sanitised) key. */
  shortened: Record<string, string>;
}

/**
 * Flattens, sanitises keys and shortens long values. Two different source keys that collapse to
 * the same key (e.g. `{"a.b": 1, a: {b: 2}}`) are an error rather than a silent overwrite.
 */
export function prepareParams(config: Record<string, unknown>): PreparedParams {
  const flat = flattenConfig(config);
  const params: Record<string, string> = {};
  const shortened: Record<string, string> = {};
  const origin: Record<string, string> = {};
  for (const [rawKey, value] of Object.entries(flat)) {
    const key = sanitizeKey(rawKey);
    if (key in params)
      throw new TrackingError(`params ${JSON.stringify(origin[key])} and ${JSON.stringify(rawKey)} both flatten to the key ${JSON.stringify(key)}`);
    origin[key] = rawKey;
    const short = shortenValue(value, MLFLOW_LIMITS.paramValueLength);
    if (short !== value) shortened[key] = value;
    params[key] = short;
  }
  return { params, shortened };
}

/** Validates tag keys and shortens tag values to 8000 characters. */
export function prepareTags(tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    assertValidKey('tag', key);
    if (typeof value !== 'string') throw new TrackingError(`tag ${JSON.stringify(key)} must be a string, got ${typeof value}`);
    out[key] = shortenValue(value, MLFLOW_LIMITS.tagValueLength);
  }
  return out;
}
