import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CascadeError, ConfigError, loadConfig, type ConfigIssue, type LoadedConfig, type PluginRegistry } from '@cascade-lab/core';
import { z } from 'zod';
import { loadExperiment, type ResolvedExperiment } from '../experiment/config.js';

/** A dot path of the experiment config (`model.hyperparameters.heads`). */
const dotPath = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/, 'expected a dot path such as model.hyperparameters.heads');
const overrideMap = z.record(dotPath, z.unknown());

/** The `sweep:` section: how the base experiment is varied. Axes multiply; seeds repeat every trial. */
export const sweepSectionSchema = z
  .strictObject({
    grid: z
      .record(dotPath, z.array(z.unknown()).min(1, 'give at least one value'))
      .optional()
      .describe('cartesian product: every combination of the listed values of each dot path'),
    zip: z
      .record(dotPath, z.array(z.unknown()).min(1, 'give at least one value'))
      .optional()
      .describe('lists of equal length taken together: the i-th trial uses the i-th value of every dot path'),
    list: z
      .array(z.union([z.strictObject({ label: z.string().min(1).optional(), set: overrideMap }), overrideMap]))
      .min(1, 'give at least one entry')
      .optional()
      .describe('explicit override sets, each `{dot.path: value, ...}` or `{label: name, set: {dot.path: value}}`'),
    seeds: z.array(z.number().int().nonnegative()).min(1).optional().describe('every trial is repeated with each of these seeds'),
  })
  .refine((s) => s.grid || s.zip || s.list || s.seeds, { message: 'a sweep needs at least one of grid, zip, list, seeds' });

export const sweepFileSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, dots, dashes and underscores').describe('sweep name: the parent run\'s name and the `cascade.sweep` tag of every trial'),
  description: z.string().optional(),
  base: z.string().min(1).describe('the experiment config every trial starts from (relative to this file)'),
  set: overrideMap.default({}).describe('overrides applied to every trial before the swept ones (dot path -> value)'),
  workers: z.number().int().positive().optional().describe('parallel trial processes (default: one per core; --workers wins)'),
  sweep: sweepSectionSchema,
});

export type SweepFile = z.output<typeof sweepFileSchema>;

type Path = (string | number)[];

/** One override with where it was written (for error messages that point into the sweep file). */
export interface Override {
  path: string;
  value: unknown;
  /** Key path of the value in the sweep file (e.g. `['sweep', 'grid', 'model.hyperparameters.heads', 2]`). */
  source: Path;
  /** Key path of the dot path itself in the sweep file (where an unknown key is reported). */
  keySource: Path;
}

/** One trial before it is resolved against the base experiment. */
export interface TrialSpec {
  /** Human label of the trial without the seed, e.g. `heads=4` or `-text`; `base` when nothing is overridden. */
  label: string;
  overrides: Override[];
  /** Seed from `sweep.seeds`, if any. */
  seed?: number;
}

/** A trial ready to run. */
export interface SweepTrial {
  /** Position in the trials this invocation runs (0-based, duplicates removed). */
  index: number;
  /** Position in the whole expanded sweep (differs from `index` under `--only`): the run's trial-index tag, so reports order a sweep's runs alike however it was run. */
  fileIndex: number;
  label: string;
  seed: number;
  /** Readable run name: `<label> seed=<seed>`. */
  runName: string;
  /** Every override of this trial as `--set` strings: sweep `set`, CLI `--set`, swept values, seed. */
  overrideArgs: string[];
  /** The swept values (seed excluded), dot path -> value. */
  swept: Record<string, unknown>;
  /** Hash of the resolved config: the trial's identity for resume. */
  hash: string;
  experiment: ResolvedExperiment;
}

export interface ResolvedSweep {
  file: string;
  /** The sweep file's text (logged as an artifact of the parent run). */
  text: string;
  config: SweepFile;
  baseFile: string;
  trials: SweepTrial[];
  /** Trials dropped because their resolved config equals an earlier one's: [label, label of the kept one]. */
  duplicates: [string, string][];
  /** MLflow experiment / local store experiment of every trial (from the resolved base). */
  experiment: string;
  /** Tracking URI and runs dir from the resolved base config. */
  trackingUri?: string;
  runsDir?: string;
  loaded: LoadedConfig<SweepFile>;
}

/** YAML text of a value for a `--set` override (JSON is valid YAML and keeps types). */
export function overrideArg(path: string, value: unknown): string {
  return `${path}=${JSON.stringify(value)}`;
}

/** Short, readable `key=value` text of a value for labels. */
function showValue(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Labels use the last segment of each path unless two swept paths end the same way. */
function shortNames(paths: string[]): Map<string, string> {
  const last = (p: string) => p.split('.').pop()!;
  const counts = new Map<string, number>();
  for (const p of new Set(paths)) counts.set(last(p), (counts.get(last(p)) ?? 0) + 1);
  return new Map(paths.map((p) => [p, counts.get(last(p))! > 1 ? p : last(p)]));
}

/**
 * Expands the `sweep` section into trial specs: the product of the list entries, the zipped rows and
 * the grid's combinations (in that order of nesting, the grid varying fastest), each repeated for
 * every seed (seeds innermost). A missing axis counts as one empty trial.
 */
export function expandSweep(section: SweepFile['sweep']): TrialSpec[] {
  type Part = { label?: string; overrides: Override[] };
  const listAxis: Part[] = section.list
    ? section.list.map((entry, i) => {
        const explicit = isExplicitEntry(entry);
        const set = (explicit ? entry.set : entry) as Record<string, unknown>;
        const overrides = Object.entries(set).map(([path, value]) => {
          const source = explicit ? ['sweep', 'list', i, 'set', path] : ['sweep', 'list', i, path];
          return { path, value, source, keySource: source };
        });
        return { label: explicit ? (entry as { label?: string }).label : undefined, overrides };
      })
    : [{ overrides: [] }];
  const zipEntries = Object.entries(section.zip ?? {});
  const zipLength = zipEntries.length ? zipEntries[0][1].length : 1;
  const zipAxis: Part[] = Array.from({ length: zipLength }, (_, i) => ({
    overrides: zipEntries.map(([path, values]) => ({ path, value: values[i], source: ['sweep', 'zip', path, i], keySource: ['sweep', 'zip', path] })),
  }));
  let gridAxis: Part[] = [{ overrides: [] }];
  for (const [path, values] of Object.entries(section.grid ?? {})) {
    gridAxis = gridAxis.flatMap((part) => values.map((value, i) => ({ overrides: [...part.overrides, { path, value, source: ['sweep', 'grid', path, i], keySource: ['sweep', 'grid', path] }] })));
  }
  const allPaths = [...listAxis, ...zipAxis, ...gridAxis].flatMap((p) => p.overrides.map((o) => o.path));
  const names = shortNames(allPaths);
  const show = (os: Override[]) => os.map((o) => `${names.get(o.path)}=${showValue(o.value)}`);
  const seeds: (number | undefined)[] = section.seeds ?? [undefined];
  const specs: TrialSpec[] = [];
  for (const l of listAxis)
    for (const z of zipAxis)
      for (const g of gridAxis) {
        // An entry's own label replaces the key=value text of that entry's overrides.
        const parts = [...(l.label !== undefined ? [l.label] : show(l.overrides)), ...show(z.overrides), ...show(g.overrides)];
        const label = parts.length ? parts.join(' ') : 'base';
        for (const seed of seeds) specs.push({ label, overrides: [...l.overrides, ...z.overrides, ...g.overrides], seed });
      }
  return specs;
}

/** `{label, set}` form of a list entry (the experiment config has no top-level `label` or `set` key). */
function isExplicitEntry(entry: object): boolean {
  return 'set' in entry || 'label' in entry;
}

/** Checks that only `sweep` issues zod cannot see: zip lengths and a path swept twice. */
function structuralIssues(config: SweepFile, loaded: LoadedConfig<SweepFile>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const zip = Object.entries(config.sweep.zip ?? {});
  if (zip.length > 1) {
    const n = zip[0][1].length;
    for (const [path, values] of zip.slice(1))
      if (values.length !== n)
        issues.push({ keyPath: `sweep.zip.${path}`, message: `zip lists must have the same length: ${zip[0][0]} has ${n} values, this one ${values.length}`, ...loaded.locate(['sweep', 'zip', path]) });
  }
  const owners = new Map<string, string>();
  const tracking = (path: string, at: Path) => {
    // Every trial must land where the parent run is (and where resume looks for it).
    if (['tracking', 'tracking.uri', 'tracking.experiment', 'tracking.runsDir'].includes(path))
      issues.push({ keyPath: at.join('.'), message: `${path}: where runs are tracked is the same for every trial of a sweep; set it in the base config or under \`set\``, ...loaded.locate(at) });
  };
  const claim = (path: string, where: string, at: Path) => {
    const prev = owners.get(path);
    tracking(path, at);
    if (prev && prev !== where) issues.push({ keyPath: at.join('.'), message: `${path} is swept twice (in ${prev} and in ${where}); sweep each key in one place`, ...loaded.locate(at) });
    else owners.set(path, where);
  };
  for (const path of Object.keys(config.sweep.grid ?? {})) claim(path, 'grid', ['sweep', 'grid', path]);
  for (const path of Object.keys(config.sweep.zip ?? {})) claim(path, 'zip', ['sweep', 'zip', path]);
  for (const [i, entry] of (config.sweep.list ?? []).entries()) {
    const explicit = isExplicitEntry(entry);
    const extra = explicit ? Object.keys(entry).filter((k) => k !== 'label' && k !== 'set') : [];
    if (explicit && !('set' in entry)) issues.push({ keyPath: `sweep.list.${i}`, message: 'an entry with a label needs `set: {dot.path: value, ...}` (`set: {}` for the base config)', ...loaded.locate(['sweep', 'list', i]) });
    for (const k of extra) issues.push({ keyPath: `sweep.list.${i}.${k}`, message: `unknown key "${k}" next to label/set; put overrides under set`, ...loaded.locate(['sweep', 'list', i, k]) });
    if (!explicit || 'set' in entry)
      for (const path of Object.keys((explicit ? (entry as { set: object }).set : entry) as object)) claim(path, 'list', explicit ? ['sweep', 'list', i, 'set', path] : ['sweep', 'list', i, path]);
  }
  if (config.sweep.seeds) {
    const seedPath = [...owners.keys()].find((p) => p === 'seed');
    if (seedPath) issues.push({ keyPath: 'sweep.seeds', message: `seed is swept in ${owners.get('seed')} and by sweep.seeds; use one of them`, ...loaded.locate(['sweep', 'seeds']) });
    const dup = config.sweep.seeds.find((s, i) => config.sweep.seeds!.indexOf(s) !== i);
    if (dup !== undefined) issues.push({ keyPath: 'sweep.seeds', message: `seed ${dup} is listed twice`, ...loaded.locate(['sweep', 'seeds']) });
  }
  return issues;
}

/**
 * Loads a sweep file, expands it, and resolves every trial against its base experiment (the
 * plugin's hyperparameter schema included) before anything runs. Problems in the sweep file are
 * reported with its positions; a bad swept key or value is reported at the place in the sweep file
 * that sets it (with the experiment's own message: unknown key with did-you-mean, wrong type, ...).
 */
export interface LoadSweepOptions {
  /** Replaces the file's `sweep.seeds` (CLI `--seeds`). */
  seeds?: number[];
  /**
   * Keeps only the trials whose label matches one of these patterns (CLI `--only`): `*` any text,
   * `?` one character, case-insensitive, the whole label. Hashes are unchanged, so the trials run
   * now count for the whole sweep when it is run again without `--only`.
   */
  only?: string[];
}

/** A `--only` pattern as a whole-label, case-insensitive regular expression (`*` and `?` wildcards). */
export function labelPattern(pattern: string): RegExp {
  const body = pattern
    .trim()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

export function loadSweep(file: string, registry: PluginRegistry, cliOverrides: string[] = [], options: LoadSweepOptions = {}): ResolvedSweep {
  const loaded = loadConfig(file, sweepFileSchema);
  const config = loaded.value;
  if (options.seeds) config.sweep = { ...config.sweep, seeds: options.seeds };
  const structural = structuralIssues(config, loaded);
  if (structural.length) throw new ConfigError(file, structural);
  const baseFile = resolve(dirname(resolve(file)), config.base);
  // A missing base is this file's problem: say which file and line named it.
  if (!existsSync(baseFile) || !statSync(baseFile).isFile())
    throw new ConfigError(file, [{ keyPath: 'base', message: `${baseFile} ${existsSync(baseFile) ? 'is not a file' : 'does not exist'} (relative to this sweep file's folder)`, ...loaded.locate(['base']) }]);
  const common: Override[] = Object.entries(config.set).map(([path, value]) => ({ path, value, source: ['set', path], keySource: ['set', path] }));

  const issues: ConfigIssue[] = [];
  const seen = new Map<string, string>();
  const duplicates: [string, string][] = [];
  const trials: SweepTrial[] = [];
  const reported = new Set<string>();
  for (const spec of expandSweep(config.sweep)) {
    const own = [...common, ...spec.overrides];
    const seedArgs = spec.seed === undefined ? [] : [overrideArg('seed', spec.seed)];
    const overrideArgs = [...common.map((o) => overrideArg(o.path, o.value)), ...cliOverrides, ...spec.overrides.map((o) => overrideArg(o.path, o.value)), ...seedArgs];
    let experiment: ResolvedExperiment;
    try {
      experiment = loadExperiment(baseFile, registry, overrideArgs);
    } catch (e) {
      if (!(e instanceof ConfigError) || e.file !== baseFile) throw e;
      for (const issue of e.issues) {
        const o = [...own].reverse().find((x) => issue.keyPath === x.path || issue.keyPath.startsWith(x.path + '.'));
        // An unknown key is a problem of the dot path, the same for every value: report it once, at the key.
        const at = o && /^unknown key /.test(issue.message) ? o.keySource : o?.source;
        const mapped: ConfigIssue = o && at
          ? { keyPath: at.join('.'), message: `${issue.keyPath}: ${issue.message.replace(/ \(set by --set\)$/, '')}`, ...loaded.locate(at) }
          : { keyPath: 'base', message: `${formatIssueAt(baseFile, issue)}${cliOverrides.length ? ' (the base config, or a --set override)' : ''}`, ...loaded.locate(['base']) };
        const key = `${mapped.keyPath}|${mapped.message}`;
        if (!reported.has(key)) {
          reported.add(key);
          issues.push(mapped);
        }
      }
      continue;
    }
    const hash = trialHash(experiment);
    const label = spec.label;
    const runLabel = `${label} seed=${experiment.config.seed}`;
    const previous = seen.get(hash);
    if (previous !== undefined) {
      duplicates.push([runLabel, previous]);
      continue;
    }
    seen.set(hash, runLabel);
    trials.push({
      index: trials.length,
      fileIndex: trials.length,
      label,
      seed: experiment.config.seed,
      runName: `${config.name}: ${runLabel}`,
      overrideArgs,
      swept: Object.fromEntries(spec.overrides.map((o) => [o.path, o.value])),
      hash,
      experiment,
    });
  }
  if (issues.length) throw new ConfigError(file, issues);
  const base = trials[0].experiment.config;
  const text = readFileSync(file, 'utf8');
  let kept = trials;
  if (options.only?.length) {
    const patterns = options.only.map(labelPattern);
    kept = trials.filter((t) => patterns.some((p) => p.test(t.label))).map((t, index) => ({ ...t, index }));
    if (!kept.length) {
      const labels = [...new Set(trials.map((t) => t.label))];
      throw new CascadeError('USAGE', `--only ${options.only.map((o) => JSON.stringify(o)).join(' ')} matches no trial of ${file}; its trial labels: ${labels.map((l) => JSON.stringify(l)).join(', ')}`);
    }
  }
  return { file, text, config, baseFile, trials: kept, duplicates, experiment: base.tracking.experiment, trackingUri: base.tracking.uri, runsDir: base.tracking.runsDir, loaded };
}

function formatIssueAt(file: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? file : `${file}:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`;
  return `${where}: ${issue.keyPath ? `${issue.keyPath}: ` : ''}${issue.message}`;
}

/**
 * The identity of a trial: the config hash of its fully resolved experiment (plugin defaults filled
 * in). Two trials that resolve to the same config are the same trial, whatever their labels.
 */
export function trialHash(experiment: ResolvedExperiment): string {
  return experiment.hash;
}
