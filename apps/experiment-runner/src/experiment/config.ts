import { ConfigError, configHash, dataNeedsOf, type ConfigIssue, describeMissingNeeds, missingDataNeeds, executionConfigSchema, executionSettings, loadConfig, parseConfig, type ExecutionSettings, PluginRegistry, zodIssuesToConfigIssues, type LoadedConfig, type ModelPlugin } from '@cascade-lab/core';
import { configuredFormat, datasetConfigSchema, datasetOffer, FORMATS } from '@cascade-lab/data';
import { z } from 'zod';

/** The `evaluation` section: the shared protocols' knobs (NDM §5.3; GammaCas §4). */
export const evaluationSchema = z
  .strictObject({
    simulations: z.number().int().positive().default(1000).describe('Monte-Carlo simulations per test cascade (microscopic)'),
    earlyStageUsers: z.number().int().positive().default(5).describe('users scored in the early-stage F1 (microscopic)'),
    rankingK: z.array(z.number().int().positive()).default([1, 10, 50, 100]).describe('k of hits@k / MAP@k for next-user ranking'),
    maxTestCascades: z.number().int().positive().optional().describe('evaluate only the first N test cascades (quick runs)'),
    workers: z.number().int().positive().optional().describe('moved to execution.workers (refused here, with the line)'),
    stepwiseBoundaries: z.array(z.number().positive()).optional().describe('size-range boundaries of the step-wise tau (default: doubling ranges from the smallest observed size)'),
    shards: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('microscopic: split the test cascades into N jobs run by `cascade worker`s (with --queue; the same metrics to the last digit); how to compute, not part of the config hash'),
  })
  .default({ simulations: 1000, earlyStageUsers: 5, rankingK: [1, 10, 50, 100] });

/** The `tracking` section. The URI falls back to MLFLOW_TRACKING_URI, then to the local store. */
export const trackingSchema = z
  .strictObject({
    uri: z
      .string()
      .regex(/^https?:\/\/[^/\s]+/i, 'an MLflow server URI: http(s)://host:port[/prefix] (leave it out for the local run store)')
      .optional()
      .describe('MLflow tracking URI; default $MLFLOW_TRACKING_URI, else the local run store'),
    failFast: z.boolean().optional().describe('stop the run with an error as soon as the MLflow server is unreachable, instead of keeping its data locally for `cascade mlflow sync` (default false)'),
    experiment: z.string().min(1).default('cascade-lab').describe('MLflow experiment name'),
    runName: z.string().optional().describe('run name (default: the config name)'),
    runsDir: z.string().optional().describe('local run store (default $CASCADE_RUNS_DIR, else ./runs)'),
    outputsDir: z.string().default('outputs').describe('where each run keeps its artifacts locally (model, predictions, plots)'),
    tags: z.record(z.string(), z.string()).default({}).describe('extra run tags'),
  })
  .default({ experiment: 'cascade-lab', outputsDir: 'outputs', tags: {} });

export const experimentSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, dots, dashes and underscores').describe('experiment name'),
  description: z.string().optional(),
  seed: z.number().int().nonnegative().default(1).describe('seed of every random choice in the run'),
  backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto').describe('tensor backend'),
  dataset: datasetConfigSchema,
  model: z.strictObject({
    name: z.string().min(1).describe('plugin name (`cascade plugins` lists them)'),
    hyperparameters: z.record(z.string(), z.unknown()).default({}).describe('validated by the plugin\'s own schema'),
  }),
  evaluation: evaluationSchema,
  execution: executionConfigSchema.prefault({}).describe('how to run (workers, batch rows, gradient mode): not part of the config hash'),
  tracking: trackingSchema,
});

export type ExperimentConfig = z.output<typeof experimentSchema>;

/**
 * The execution settings of a config: its `execution` section, the cores by default.
 */
export function executionOf(config: ExperimentConfig): ExecutionSettings {
  return executionSettings(config.execution);
}

/** A config that passed every check, with the plugin it names and its resolved hyperparameters. */
export interface ResolvedExperiment {
  file: string;
  config: ExperimentConfig;
  plugin: ModelPlugin;
  /** Hyperparameters after the plugin's defaults. */
  hyperparameters: Record<string, unknown>;
  /** The fully resolved config (plugin defaults filled in): what is logged and hashed. */
  resolved: ExperimentConfig;
  /** Hash of `resolved`: identifies a trial in sweeps and tags the run. */
  hash: string;
  loaded: LoadedConfig<ExperimentConfig>;
}

/**
 * Loads and checks an experiment file completely before any work: structure, unknown keys, the
 * model name, and the model's hyperparameters against the plugin's own schema — every problem
 * reported with file, key path and line.
 */
export function loadExperiment(file: string, registry: PluginRegistry, overrides: string[] = [], options: { text?: string } = {}): ResolvedExperiment {
  // `text`: the config's YAML, already read (a queued evaluation shard carries its resolved config); `file` then only names it.
  const loaded = options.text !== undefined ? parseConfig(options.text, file, experimentSchema, { overrides }) : loadConfig(file, experimentSchema, { overrides });
  const config = loaded.value;
  if (!registry.has(config.model.name)) {
    let message: string;
    try {
      registry.get(config.model.name);
      message = '';
    } catch (e) {
      message = (e as Error).message;
    }
    throw new ConfigError(file, [{ keyPath: 'model.name', message, ...loaded.locate(['model', 'name']) }], {
      hint: 'run `cascade plugins` to see every model with its hyperparameters',
    });
  }
  const plugin = registry.get(config.model.name);
  checkMovedToExecution(file, config, plugin, loaded);
  const parsed = plugin.hyperparameters.safeParse(config.model.hyperparameters);
  if (!parsed.success) {
    const prefix = ['model', 'hyperparameters'];
    throw new ConfigError(
      file,
      zodIssuesToConfigIssues(parsed.error.issues, plugin.hyperparameters, config.model.hyperparameters, (p) => loaded.locate(p), new Set(overrides.map((o) => o.split('=')[0].trim())), prefix),
    );
  }
  const hyperparameters = parsed.data as Record<string, unknown>;
  checkDataFitsPlugin(file, config, plugin, hyperparameters, loaded);
  checkShards(file, config, plugin, loaded);
  const resolved: ExperimentConfig = { ...config, model: { name: config.model.name, hyperparameters } };
  return { file, config, plugin, hyperparameters, resolved, hash: experimentHash(resolved), loaded };
}

/**
 * Settings that were once hyperparameters or evaluation knobs and are execution settings now (they
 * say how to compute, not what, and stay out of the config hash): a config that still has them is
 * refused at their line, with where they went.
 */
export const MOVED_TO_EXECUTION: Readonly<Record<string, string>> = {
  'evaluation.workers': 'execution.workers',
  'model.hyperparameters.simulationBatchRows': 'execution.batchRows',
  'model.hyperparameters.gradients': 'execution.gradients',
};

function checkMovedToExecution(file: string, config: ExperimentConfig, plugin: ModelPlugin, loaded: LoadedConfig<ExperimentConfig>): void {
  const issues: ConfigIssue[] = [];
  const at = (path: string[]) => loaded.locate(path);
  if (config.evaluation.workers !== undefined) issues.push({ keyPath: 'evaluation.workers', message: 'moved to execution.workers (execution settings are not part of the config hash)', ...at(['evaluation', 'workers']) });
  for (const [key, value] of Object.entries(config.model.hyperparameters)) {
    const target = MOVED_TO_EXECUTION[`model.hyperparameters.${key}`];
    // Only where the plugin no longer takes the key as a hyperparameter.
    if (target === undefined || plugin.hyperparameters.safeParse({ [key]: value }).success) continue;
    issues.push({ keyPath: `model.hyperparameters.${key}`, message: `moved to ${target} (execution settings are not hyperparameters and not part of the config hash)`, ...at(['model', 'hyperparameters', key]) });
  }
  if (issues.length > 0) throw new ConfigError(file, issues, { hint: 'put them under the `execution` section (workers, batchRows, gradients)' });
}

/**
 * Before any work: the dataset's task is the plugin's, and it offers every kind of data the plugin
 * declares in `dataNeeds` (from its format and registry entry, see `datasetOffer`). Problems point
 * at the dataset's `name` or `path` line.
 */
function checkDataFitsPlugin(file: string, config: ExperimentConfig, plugin: ModelPlugin, hyperparameters: unknown, loaded: LoadedConfig<ExperimentConfig>): void {
  const key = config.dataset.name !== undefined ? 'name' : 'path';
  const where = { keyPath: `dataset.${key}`, ...loaded.locate(['dataset', key]) };
  const format = configuredFormat(config.dataset);
  const label = `dataset ${config.dataset.name ?? config.dataset.path} (${format} format)`;
  if (FORMATS[format].task !== plugin.task) {
    throw new ConfigError(file, [{ ...where, message: `${label} is ${FORMATS[format].task}, but model ${plugin.name} is ${plugin.task}` }]);
  }
  const missing = missingDataNeeds(dataNeedsOf(plugin, hyperparameters), datasetOffer(config.dataset));
  if (missing.length > 0) {
    throw new ConfigError(file, [{ ...where, message: `model ${plugin.name} needs ${describeMissingNeeds(missing)}, which ${label} does not offer` }], {
      hint: 'choose a dataset that has it (`cascade datasets list`), or a model that does without',
    });
  }
}

/**
 * Evaluation sharding splits the test cascades of the microscopic protocol (issue 20); the
 * macroscopic protocol's `predict` sees all test cascades at once (a plugin may fit or draw across
 * them), so splitting it could change its numbers: refused at the line.
 */
function checkShards(file: string, config: ExperimentConfig, plugin: ModelPlugin, loaded: LoadedConfig<ExperimentConfig>): void {
  if ((config.evaluation.shards ?? 1) > 1 && plugin.task !== 'microscopic')
    throw new ConfigError(file, [{ keyPath: 'evaluation.shards', message: `evaluation sharding splits the microscopic protocol only; model ${plugin.name} is ${plugin.task} (its predict sees every test cascade at once)`, ...loaded.locate(['evaluation', 'shards']) }]);
}

/**
 * A run's config identity: the resolved config without its execution settings, which say how to
 * compute, not what (a sweep must not re-run a trial when only they changed). `evaluation.shards`
 * is one of them: a sharded evaluation gives the same numbers as a local one.
 */
export function experimentHash(resolved: ExperimentConfig): string {
  const { execution: _execution, evaluation, ...rest } = resolved;
  const { shards: _shards, ...evaluationIdentity } = evaluation;
  return configHash({ ...rest, evaluation: evaluationIdentity });
}
