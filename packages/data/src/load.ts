/**
 * From a config section (`dataset: { name: memetracker }` or `dataset: { path: ./my/dir, format: ndm }`)
 * to core's MicroscopicDataset / MacroscopicDataset in one call.
 */
import path from 'node:path';
import { z } from 'zod';
import { CascadeError, ConfigError, TIME_UNITS, silentLogger, type Cascade, type MacroCascade, type MicroscopicDataset, type MacroscopicDataset, type Logger } from '@cascade-lab/core';
import { ParseReport } from './parse-util.js';
import { REGISTRY, entryRoles, getDataset, type DatasetEntry } from './registry.js';
import { DATASET_FORMATS, FORMATS, readMacroscopicSource, readMicroscopicSource, type DatasetFormat, type DatasetParts, type FileRole, type MacroscopicFormat, type MacroscopicSource, type MicroscopicFormat, type MicroscopicSource } from './sources.js';
import { splitDataset, type Split } from './splits.js';
import { resolveDataset, type DatasetStoreOptions, type ResolvedDataset } from './store.js';
import { Vocabulary, WordVocabulary } from './vocabulary.js';
import { DEFAULT_BIN_WIDTH_SECONDS, DEFAULT_HORIZONS_HOURS, DEFAULT_OBSERVATION_WINDOW_SECONDS, resolveWindow, windowCascades } from './windowing.js';
import { deepCasWindowed } from './cascade-graph.js';
import type { DeepCasCascade } from './formats/deepcas.js';

const FILE_ROLES = ['train', 'validation', 'test', 'cascades', 'users', 'graph'] as const satisfies readonly FileRole[];

export const splitConfigSchema = z
  .object({
    seed: z.union([z.number().int(), z.string()]).optional().describe('seed of the split; default: the experiment seed'),
    testFraction: z.number().min(0).lt(1).default(0.1).describe('share of all cascades for test, when the dataset has no test file'),
    validationFraction: z.number().min(0).lt(1).default(0.1).describe('share of the training cascades for validation, when the dataset has no validation file (NDM: 10%)'),
    useDatasetSplits: z.boolean().default(true).describe("use the dataset's own train/validation/test files when it has them"),
  })
  .strict();

export const windowConfigSchema = z
  .object({
    observationWindowSeconds: z.number().positive().default(DEFAULT_OBSERVATION_WINDOW_SECONDS).describe('observation window (GammaCas: 6 h)'),
    binWidthSeconds: z.number().positive().default(DEFAULT_BIN_WIDTH_SECONDS).describe('bin width (GammaCas: 5 min)'),
    horizonsHours: z.array(z.number().positive()).min(1).default([...DEFAULT_HORIZONS_HOURS]).describe('prediction horizons in hours'),
    pastEnd: z.enum(['mark', 'drop']).default('mark').describe('a horizon past the data: mark it unknown (NaN) or drop the cascade'),
    observedUntilSeconds: z.number().positive().optional().describe('seconds after the root up to which all cascades are complete (overrides the registry)'),
    textLength: z.number().int().positive().default(30).describe('root text tokens kept (GammaCas: 30)'),
    newsLength: z.number().int().positive().default(36).describe('tokens kept per news item (GammaCas: 36)'),
    minWordCount: z.number().int().positive().default(1).describe('words seen fewer times in the training texts map to <unk>'),
    maxWords: z.number().int().positive().optional().describe('largest word vocabulary (most frequent words)'),
  })
  .strict();

/**
 * Microscopic: how long each cascade was watched (netrate-style survival terms need it), in the
 * dataset's time unit. `window`: that long after the cascade's first infection; `horizon`: up to that
 * time for every cascade. Events after a cascade's end are left out as unobserved (and counted).
 */
export const observationConfigSchema = z
  .object({
    window: z.number().positive().optional().describe("each cascade observed this long after its first infection (the dataset's time unit)"),
    horizon: z.number().optional().describe("every cascade observed up to this time (the dataset's time unit and origin)"),
  })
  .strict()
  .refine((v) => (v.window === undefined) !== (v.horizon === undefined), { message: 'give either `window` or `horizon`' });

/**
 * The `dataset` section of an experiment config. Either `name` (a registered dataset) or `path` and
 * `format` (a folder or file of your own).
 */
export const datasetConfigSchema = z
  .object({
    name: z.string().min(1).optional().describe(`a registered dataset: ${REGISTRY.map((d) => d.name).join(', ')}`),
    path: z.string().min(1).optional().describe('a dataset folder or file (relative paths: to the config file)'),
    format: z.enum(DATASET_FORMATS).optional().describe('format of `path`'),
    files: z.partialRecord(z.enum(FILE_ROLES), z.string().min(1)).optional().describe('file names per role inside `path`, overriding the format defaults'),
    lenient: z.boolean().default(false).describe('turn tolerable input problems into counted warnings'),
    minLength: z.number().int().min(1).default(2).describe('microscopic: drop cascades with fewer users (the NDM loader keeps 2 or more)'),
    timeUnit: z.enum(TIME_UNITS).optional().describe("microscopic: unit of the event times (a registered dataset knows it; a path's default: unknown)"),
    observation: observationConfigSchema.optional().describe('microscopic: how long each cascade was observed (default: up to its last event)'),
    split: splitConfigSchema.prefault({}),
    window: windowConfigSchema.prefault({}),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.name === undefined) === (v.path === undefined)) ctx.addIssue({ code: 'custom', message: 'give either `name` or `path`', path: [] });
    if (v.path !== undefined && v.format === undefined) ctx.addIssue({ code: 'custom', message: `\`path\` needs a \`format\` (${DATASET_FORMATS.join(', ')})`, path: ['format'] });
    if (v.name !== undefined && v.format !== undefined) ctx.addIssue({ code: 'custom', message: '`format` goes with `path`; a registered dataset knows its format', path: ['format'] });
    if (v.name !== undefined && !REGISTRY.some((d) => d.name === v.name)) ctx.addIssue({ code: 'custom', message: `unknown dataset; known: ${REGISTRY.map((d) => d.name).join(', ')}`, path: ['name'] });
  });

/** The `dataset` section as written (defaults optional). */
export type DatasetConfigInput = z.input<typeof datasetConfigSchema>;
/** The `dataset` section with defaults applied. */
export type DatasetConfig = z.output<typeof datasetConfigSchema>;

export interface LoadOptions extends DatasetStoreOptions {
  /** Split seed when the config gives none (the experiment's seed). Default 0. */
  seed?: number | string;
  /** Folder relative `path`s are resolved against (the config file's folder). Default: cwd. */
  baseDir?: string;
  /** Name used in messages for the config section. Default `dataset`. */
  configName?: string;
}

/** Validates a dataset section, throwing a ConfigError with key paths. */
export function parseDatasetConfig(input: unknown, configName = 'dataset'): DatasetConfig {
  const r = datasetConfigSchema.safeParse(input);
  if (r.success) return r.data;
  throw new ConfigError(
    configName,
    r.error.issues.map((i) => ({ keyPath: [configName, ...i.path.map(String)].join('.'), message: i.message })),
  );
}

export interface DatasetLocation {
  name: string;
  format: DatasetFormat;
  location: string;
  files?: Partial<Record<FileRole, string>>;
  entry?: DatasetEntry;
  resolved?: ResolvedDataset;
}

/** Resolves a config to a folder/file and format (downloading a registered dataset when needed). */
export async function locateDataset(config: DatasetConfig, options: LoadOptions = {}): Promise<DatasetLocation> {
  if (config.name !== undefined) {
    const entry = getDataset(config.name);
    const resolved = await resolveDataset(entry, options);
    return { name: entry.name, format: entry.format, location: resolved.dir, files: entryRoles(entry), entry, resolved };
  }
  const location = path.resolve(options.baseDir ?? process.cwd(), config.path!);
  return { name: path.basename(location).replace(/\.[^.]+$/, ''), format: config.format!, location, files: config.files };
}

function requireTask(loc: DatasetLocation, task: 'microscopic' | 'macroscopic'): void {
  const actual = FORMATS[loc.format].task;
  if (actual !== task) {
    throw new CascadeError('USAGE', `dataset ${loc.name} (${loc.format}) is ${actual}, but a ${task} dataset is needed`);
  }
}

export interface LoadedMicroscopicDataset extends MicroscopicDataset {
  users: Vocabulary;
  format: MicroscopicFormat;
  location: string;
  /** Counted warnings of lenient parsing. */
  report: ParseReport;
  /** Cascades left out for having fewer than `minLength` users, per split. */
  droppedShort: { train: number; validation: number; test: number };
}

/** Loads, splits and filters a microscopic dataset (core's MicroscopicDataset plus its vocabulary and report). */
export async function loadMicroscopicDataset(spec: DatasetConfigInput | DatasetConfig, options: LoadOptions = {}): Promise<LoadedMicroscopicDataset> {
  const config = parseDatasetConfig(spec, options.configName);
  const loc = await locateDataset(config, options);
  requireTask(loc, 'microscopic');
  const source = await readMicroscopicSource(loc.location, loc.format as MicroscopicFormat, { lenient: config.lenient, files: loc.files });
  logReport(source.report, loc.name, options.logger);
  const split = splitDataset(source.parts, { ...config.split, seed: config.split.seed ?? options.seed ?? 0 });
  const observed = observeCascades(split, config.observation);
  if (observed.droppedEvents > 0) (options.logger ?? silentLogger).info(`dataset ${loc.name}: left out ${observed.droppedEvents} infections after their cascade's observation end`);
  const keep = (cs: Cascade[]) => cs.filter((c) => c.events.length >= config.minLength);
  const out: LoadedMicroscopicDataset = {
    name: loc.name,
    users: source.users,
    timeUnit: config.timeUnit ?? loc.entry?.time.unit ?? 'unknown',
    train: keep(split.train),
    validation: keep(split.validation),
    test: keep(split.test),
    format: source.format,
    location: loc.location,
    report: source.report,
    droppedShort: { train: 0, validation: 0, test: 0 },
  };
  out.droppedShort = { train: split.train.length - out.train.length, validation: split.validation.length - out.validation.length, test: split.test.length - out.test.length };
  if (source.graph) out.graph = source.graph;
  return out;
}

/**
 * Sets each cascade's `observationEnd` from the `observation` config (none: left undefined, i.e.
 * observed to its last event) and leaves out events after it. Returns new cascades; counts the
 * events left out.
 */
export function observeCascades(split: Split<Cascade>, observation: z.output<typeof observationConfigSchema> | undefined): { droppedEvents: number } {
  let droppedEvents = 0;
  if (!observation) return { droppedEvents };
  for (const part of ['train', 'validation', 'test'] as const) {
    split[part] = split[part].map((c) => {
      if (c.events.length === 0) return c;
      const end = observation.window !== undefined ? c.events[0].time + observation.window : observation.horizon!;
      const events = c.events.filter((e) => e.time <= end);
      droppedEvents += c.events.length - events.length;
      return { ...c, events, observationEnd: end };
    });
  }
  return { droppedEvents };
}

export interface LoadedMacroscopicDataset extends MacroscopicDataset {
  format: MacroscopicFormat;
  location: string;
  /** The word vocabulary (built from the training texts and news); size 2 when there is no text. */
  wordVocabulary: WordVocabulary;
  report: ParseReport;
  /** Cascades left out: a horizon past their data (pastEnd: drop) or an observation shorter than the window. */
  dropped: { pastEnd: number; shortObservation: number };
}

function logReport(report: ParseReport, name: string, logger: Logger | undefined): void {
  if (report.total === 0) return;
  const log = logger ?? silentLogger;
  log.warn(`dataset ${name}: ${report.total} input problems tolerated (lenient):`);
  for (const line of report.summary()) log.warn(`  ${line}`);
}

/** Loads a macroscopic dataset, splits it, builds the word vocabulary and applies the observation window. */
export async function loadMacroscopicDataset(spec: DatasetConfigInput | DatasetConfig, options: LoadOptions = {}): Promise<LoadedMacroscopicDataset> {
  const config = parseDatasetConfig(spec, options.configName);
  const loc = await locateDataset(config, options);
  requireTask(loc, 'macroscopic');
  const w = config.window;
  if (loc.format === 'deepcas') return loadDeepCasWindowed(config, loc, options);
  const observedUntilSeconds = w.observedUntilSeconds ?? loc.entry?.observedUntilSeconds;
  const source = await readMacroscopicSource(loc.location, loc.format as MacroscopicFormat, { lenient: config.lenient, files: loc.files, observedUntilSeconds });
  logReport(source.report, loc.name, options.logger);
  const split: Split<MacroCascade> = splitDataset(source.parts, { ...config.split, seed: config.split.seed ?? options.seed ?? 0 });
  const docs = function* () {
    for (const c of split.train) {
      if (c.text) yield c.text;
      for (const n of c.news ?? []) yield n.tokens;
    }
  };
  const hasText = [...split.train, ...split.validation, ...split.test].some((c) => c.text !== undefined || c.news !== undefined);
  const words = hasText ? WordVocabulary.build(docs(), { minCount: w.minWordCount, maxWords: w.maxWords }) : WordVocabulary.build([]);
  const wopts = { ...w, words: hasText ? words : undefined };
  const parts = { train: windowCascades(split.train, wopts), validation: windowCascades(split.validation, wopts), test: windowCascades(split.test, wopts) };
  const dropped = { pastEnd: 0, shortObservation: 0 };
  for (const p of Object.values(parts)) {
    dropped.pastEnd += p.droppedPastEnd;
    dropped.shortObservation += p.droppedShortObservation;
  }
  if (dropped.pastEnd + dropped.shortObservation > 0) {
    (options.logger ?? silentLogger).info(`dataset ${loc.name}: left out ${dropped.pastEnd} cascades with a horizon past their data and ${dropped.shortObservation} observed for less than the window`);
  }
  return {
    name: loc.name,
    observationWindowSeconds: w.observationWindowSeconds,
    binWidthSeconds: w.binWidthSeconds,
    horizonsHours: [...w.horizonsHours],
    vocabularySize: hasText ? words.size : 0,
    train: parts.train.cascades,
    validation: parts.validation.cascades,
    test: parts.test.cascades,
    format: source.format,
    location: loc.location,
    wordVocabulary: words,
    ...(hasText ? { words: words.toWords() } : {}),
    report: source.report,
    dropped,
  };
}

/**
 * A DeepCas dataset as a macroscopic one: cascade graphs (no event times), targets from the
 * increment labels at the configured horizons (one per label), its own splits.
 */
async function loadDeepCasWindowed(config: DatasetConfig, loc: DatasetLocation, options: LoadOptions): Promise<LoadedMacroscopicDataset> {
  const w = config.window;
  const source = await readMacroscopicSource(loc.location, 'deepcas', { lenient: config.lenient, files: loc.files });
  logReport(source.report, loc.name, options.logger);
  const split = splitDataset(source.deepcas as DatasetParts<DeepCasCascade>, { ...config.split, seed: config.split.seed ?? options.seed ?? 0 });
  resolveWindow(w);
  const horizonsHours = [...w.horizonsHours];
  const windowed = (cs: DeepCasCascade[]) => cs.map((c) => deepCasWindowed(c, horizonsHours));
  return {
    name: loc.name,
    observationWindowSeconds: w.observationWindowSeconds,
    binWidthSeconds: w.binWidthSeconds,
    horizonsHours,
    vocabularySize: 0,
    train: windowed(split.train),
    validation: windowed(split.validation),
    test: windowed(split.test),
    format: 'deepcas',
    location: loc.location,
    wordVocabulary: WordVocabulary.build([]),
    report: source.report,
    dropped: { pastEnd: 0, shortObservation: 0 },
  };
}

export interface DeepCasDataset extends Split<DeepCasCascade> {
  name: string;
  location: string;
  report: ParseReport;
}

/** Loads a DeepCas dataset (cascade graphs with increment labels), split like the others. */
export async function loadDeepCasDataset(spec: DatasetConfigInput | DatasetConfig, options: LoadOptions = {}): Promise<DeepCasDataset> {
  const config = parseDatasetConfig(spec, options.configName);
  const loc = await locateDataset(config, options);
  if (loc.format !== 'deepcas') throw new CascadeError('USAGE', `dataset ${loc.name} is in the ${loc.format} format, not deepcas`);
  const source: MacroscopicSource = await readMacroscopicSource(loc.location, 'deepcas', { lenient: config.lenient, files: loc.files });
  const split = splitDataset(source.deepcas as DatasetParts<DeepCasCascade>, { ...config.split, seed: config.split.seed ?? options.seed ?? 0 });
  return { ...split, name: loc.name, location: loc.location, report: source.report };
}

/** Reads a dataset's source (unsplit) for statistics: a registry name or a path with a format. */
export async function readDatasetSource(config: DatasetConfig, options: LoadOptions = {}): Promise<{ location: DatasetLocation; micro?: MicroscopicSource; macro?: MacroscopicSource }> {
  const loc = await locateDataset(config, options);
  const common = { lenient: config.lenient, files: loc.files };
  if (FORMATS[loc.format].task === 'microscopic') return { location: loc, micro: await readMicroscopicSource(loc.location, loc.format as MicroscopicFormat, common) };
  const observedUntilSeconds = config.window.observedUntilSeconds ?? loc.entry?.observedUntilSeconds;
  return { location: loc, macro: await readMacroscopicSource(loc.location, loc.format as MacroscopicFormat, { ...common, observedUntilSeconds }) };
}
