import { TrackingError } from './errors.js';
import { assertValidKey, prepareParams, shortenValue, type PreparedParams } from './flatten.js';
import { configHash } from './hash.js';
import { MLFLOW_LIMITS } from './limits.js';
import { CASCADE_TAGS, MLFLOW_TAGS } from './system-tags.js';
import type { MetricPoint } from './types.js';

/** Checks one metric point as MLflow would, before it is buffered (fail at the call, not at flush). */
export class MetricValidator {
  private readonly goodKeys = new Set<string>();

  point(key: string, value: number, step: number | undefined, timestamp: number | undefined): MetricPoint {
    if (!this.goodKeys.has(key)) {
      assertValidKey('metric', key);
      this.goodKeys.add(key);
    }
    if (typeof value !== 'number') throw new TrackingError(`metric ${JSON.stringify(key)}: value must be a number, got ${typeof value}`);
    const s = step ?? 0;
    if (!Number.isSafeInteger(s)) throw new TrackingError(`metric ${JSON.stringify(key)}: step must be an integer, got ${s}`);
    const t = timestamp ?? Date.now();
    if (!Number.isSafeInteger(t) || t < 0) throw new TrackingError(`metric ${JSON.stringify(key)}: timestamp must be a non-negative integer (ms), got ${t}`);
    return { key, value, step: s, timestamp: t };
  }
}

/** Everything `logConfig` writes for a config. */
export interface ConfigRecord {
  prepared: PreparedParams;
  /** Pretty JSON of the full config: the `config.json` artifact. */
  json: string;
  hash: string;
  tags: Record<string, string>;
}

export function describeConfig(config: Record<string, unknown>, identityHash?: string): ConfigRecord {
  const prepared = prepareParams(config);
  const json = JSON.stringify(
    config,
    (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? v.toString() : v),
    2,
  );
  const hash = identityHash ?? configHash(config);
  let note = `Config (sha256 \`${hash}\`), also in the artifact \`config.json\`:\n\n\`\`\`json\n${json}\n\`\`\`\n`;
  if (note.length > MLFLOW_LIMITS.tagValueLength)
    note = shortenValue(`Config (sha256 \`${hash}\`) is too long for a note: see the artifact \`config.json\`.`, MLFLOW_LIMITS.tagValueLength);
  return { prepared, json, hash, tags: { [MLFLOW_TAGS.note]: note, [CASCADE_TAGS.configHash]: hash } };
}

/** Params already logged with another value are an error in MLflow; report it the same way locally. */
export function checkParamConflicts(existing: Record<string, string>, incoming: Record<string, string>): void {
  const changed = Object.keys(incoming).filter((k) => k in existing && existing[k] !== incoming[k]);
  if (changed.length > 0)
    throw new TrackingError(
      `a logged param cannot change value: ${changed.map((k) => `${k} (${JSON.stringify(existing[k])} -> ${JSON.stringify(incoming[k])})`).join(', ')}`,
      { errorCode: 'INVALID_PARAMETER_VALUE', hint: 'log the changed setting in a new (nested) run' },
    );
}

/** `cascade.error` tag text for a failed run. */
export function errorTag(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return shortenValue(text, MLFLOW_LIMITS.tagValueLength);
}
