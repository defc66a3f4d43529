import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { CascadeError, ConfigError, type ConfigIssue } from './errors.js';
import { didYouMean } from './text.js';

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** `a.b.c=value` overrides (CLI `--set`), applied after interpolation; values are parsed as YAML. */
  overrides?: string[];
  /** Variables for `${NAME}` interpolation (default: process.env). */
  env?: Record<string, string | undefined>;
}

/** A parsed, validated config and where it came from. */
export interface LoadedConfig<T> {
  file: string;
  value: T;
  /** The plain object after interpolation and overrides, before schema defaults. */
  raw: unknown;
  /** Where each key path is defined in the file (for later, plugin-level validation errors). */
  locate(keyPath: (string | number)[]): { line?: number; column?: number };
}

type Path = (string | number)[];

/**
 * Reads a YAML config file into a typed, validated value.
 *
 * - YAML syntax errors, unknown keys (with "did you mean"), wrong types and bad values all become a
 *   single {@link ConfigError} that names the file, the key path and line:column of each problem,
 *   what was expected and what was found — before any work starts.
 * - `${NAME}` in a string is replaced by the environment variable NAME; `${NAME:-fallback}` gives a
 *   default; an unset variable without default is an error at its position. A string that is just
 *   `${NAME}` takes the variable's YAML type (`${EPOCHS}` with EPOCHS=3 is the number 3).
 * - `overrides` (`model.hyperparameters.heads=4`) replace or add keys; the schema validates them too.
 */
export function loadConfig<S extends z.ZodType>(file: string, schema: S, options: LoadConfigOptions = {}): LoadedConfig<z.output<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CascadeError('CONFIG_NOT_FOUND', `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseConfig(text, file, schema, options);
}

/** Like {@link loadConfig} for text already in memory; `file` is only used in messages. */
export function parseConfig<S extends z.ZodType>(text: string, file: string, schema: S, options: LoadConfigOptions = {}): LoadedConfig<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ keyPath: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, ...pos(e.pos[0]) })),
    );
  }
  const issues: ConfigIssue[] = [];
  interpolate(doc, options.env ?? process.env, issues, pos);
  const overridden = new Set<string>();
  for (const o of options.overrides ?? []) applyOverride(doc, o, issues, overridden);
  if (issues.length > 0) throw new ConfigError(file, issues);

  const raw = doc.toJS() ?? {};
  const locate = (keyPath: Path) => {
    const node = nodeAt(doc, keyPath);
    return pos(node?.range?.[0]);
  };
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(file, zodIssuesToConfigIssues(result.error.issues, schema, raw, locate, overridden));
  return { file, value: result.data, raw, locate };
}

/** Turns zod issues into config issues with positions, found values and typo suggestions. */
export function zodIssuesToConfigIssues(
  zodIssues: z.core.$ZodIssue[],
  schema: z.ZodType,
  raw: unknown,
  locate: (p: Path) => { line?: number; column?: number },
  overridden: Set<string> = new Set(),
  pathPrefix: Path = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of zodIssues) {
    const path = [...pathPrefix, ...(issue.path as Path)];
    const keyPath = path.join('.');
    const suffix = overridden.has(keyPath) ? ' (set by --set)' : '';
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(shapeAt(schema, issue.path as Path) ?? {});
      for (const key of issue.keys) {
        const guess = didYouMean(key, known);
        const childPath = [...path, key];
        out.push({
          keyPath: childPath.join('.'),
          message: `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; allowed here: ${known.join(', ') || '(none)'}`,
          ...locate(childPath),
        });
      }
      continue;
    }
    const found = valueAt(raw, issue.path as Path);
    let message: string;
    if (issue.code === 'invalid_type') {
      message = found.present ? `expected ${issue.expected}, found ${describeValue(found.value)}` : `required key is missing (expected ${issue.expected})`;
    } else if (issue.code === 'invalid_value') {
      message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${describeValue(found.value)}`;
    } else {
      message = `${issue.message}${found.present ? `, found ${describeValue(found.value)}` : ''}`;
    }
    // A missing key has no position of its own: point at its parent.
    let loc = locate(path);
    for (let k = path.length - 1; loc.line === undefined && k >= 0; k--) loc = locate(path.slice(0, k));
    out.push({ keyPath, message: message + suffix, ...loc });
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list (${JSON.stringify(v).slice(0, 60)})`;
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(raw: unknown, path: Path): { present: boolean; value: unknown } {
  let cur: unknown = raw;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !(k in (cur as object))) return { present: false, value: undefined };
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return { present: true, value: cur };
}

/** The object shape of `schema` at `path`, looking through defaults, optionals, pipes and records. */
export function shapeAt(schema: z.ZodType, path: Path): Record<string, z.ZodType> | undefined {
  let cur: z.ZodType | undefined = schema;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let t: z.ZodType = s;
    for (let i = 0; i < 20; i++) {
      const def = (t as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
      if (def.innerType) t = def.innerType as z.ZodType;
      else if (def.type === 'pipe') t = def.in as z.ZodType;
      else break;
    }
    return t;
  };
  for (const k of path) {
    if (!cur) return undefined;
    const u = unwrap(cur);
    const def = (u as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === 'object') cur = (def.shape as Record<string, z.ZodType>)[String(k)];
    else if (def.type === 'array') cur = def.element as z.ZodType;
    else if (def.type === 'record') cur = def.valueType as z.ZodType;
    else return undefined;
  }
  if (!cur) return undefined;
  const def = (unwrap(cur) as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  return def.type === 'object' ? (def.shape as Record<string, z.ZodType>) : undefined;
}

function nodeAt(doc: Document, path: Path): YamlNode | undefined {
  if (path.length === 0) return doc.contents ?? undefined;
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === String(last)) return pair.key as YamlNode;
    }
    return undefined;
  }
  if (isSeq(parent) && typeof last === 'number') return (parent.items[last] as YamlNode) ?? undefined;
  return undefined;
}

const ENV_PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function interpolate(
  doc: Document,
  env: Record<string, string | undefined>,
  issues: ConfigIssue[],
  pos: (o: number | undefined) => { line?: number; column?: number },
): void {
  const visit = (node: unknown): void => {
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items) visit(isPair(item) ? item.value : item);
      return;
    }
    if (!isScalar(node) || typeof node.value !== 'string' || !node.value.includes('${')) return;
    const original = node.value;
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(original);
    let missing: string | undefined;
    const replaced = original.replace(ENV_PATTERN, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      missing = name;
      return '';
    });
    if (missing !== undefined) {
      issues.push({ keyPath: '', message: `environment variable ${missing} is not set (write \${${missing}:-default} to give a default)`, ...pos(node.range?.[0]) });
      return;
    }
    if (whole) {
      // A whole-value reference keeps YAML typing: numbers stay numbers, true stays a boolean.
      const typed = parseDocument(replaced).toJS();
      node.value = typed === null && replaced.trim() === '' ? '' : typed;
    } else node.value = replaced;
  };
  visit(doc.contents);
}

function applyOverride(doc: Document, override: string, issues: ConfigIssue[], overridden: Set<string>): void {
  const eq = override.indexOf('=');
  if (eq <= 0) {
    issues.push({ keyPath: '', message: `--set expects key.path=value, got "${override}"` });
    return;
  }
  const keyPath = override.slice(0, eq).trim();
  const valueText = override.slice(eq + 1);
  const path: Path = keyPath.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  let value: unknown;
  try {
    const parsed = parseDocument(valueText);
    if (parsed.errors.length > 0) throw new Error(parsed.errors[0].message);
    value = parsed.toJS();
  } catch (e) {
    issues.push({ keyPath, message: `--set ${keyPath}: value is not valid YAML (${(e as Error).message.split('\n')[0]})` });
    return;
  }
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  doc.setIn(path, doc.createNode(value));
  overridden.add(keyPath);
}

/**
 * JSON with object keys sorted at every level and no whitespace, so that equal configs written in a
 * different key order hash the same. Non-finite numbers become the strings `NaN`, `Infinity`,
 * `-Infinity` (plain JSON would turn them into `null` and hide a difference); undefined and
 * function values are left out as JSON does.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normaliseForHash(value));
}

function normaliseForHash(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : normaliseForHash(v)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined && typeof v !== 'function') out[key] = normaliseForHash(v);
    }
    return out;
  }
  return value;
}

/** SHA-256 (hex) of text or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * SHA-256 (64 hex characters) of the canonical JSON of a resolved config: the identity of a run's
 * configuration (the `cascade.configHash` tag; sweeps skip trials whose hash already FINISHED).
 * Show `hash.slice(0, 12)` to people.
 */
export function configHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
