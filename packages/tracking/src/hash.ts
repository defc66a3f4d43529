import { createHash } from 'node:crypto';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * JSON with object keys sorted at every level and no whitespace, so that equal configs written in
 * a different key order hash the same. Non-finite numbers become the strings `NaN`, `Infinity`,
 * `-Infinity` (plain JSON would turn them into `null` and hide a difference).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalise(value));
}

function normalise(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : normalise(v)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined && typeof v !== 'function') out[key] = normalise(v);
    }
    return out;
  }
  return value;
}

/** SHA-256 of the canonical JSON of a config: the `cascade.configHash` tag. */
export function configHash(config: unknown): string {
  return sha256Hex(canonicalJson(config));
}
