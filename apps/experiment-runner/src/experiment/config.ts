import { ConfigError, configHash, executionConfigSchema, executionSettings, loadConfig, type ExecutionSettings, PluginRegistry, zodIssuesToConfigIssues, type LoadedConfig, type ModelPlugin } from '@cascade-lab/core';
import { datasetConfigSchema } from '@cascade-lab/data';
import { z } from 'zod';

/** The `evaluation` section: the shared protocols' knobs (NDM §5.3; GammaCas §4). */
export const evaluationSchema = z
  .strictObject({
    simulations: z.number().int().positive().default(1000).describe('Monte-Carlo simulations per test cascade (microscopic)'),
    earlyStageUsers: z.number().int().positive().default(5).describe('users scored in the early-stage F1 (microscopic)'),
    rankingK: z.array(z.number().int().positive()).default([1, 10, 50, 100]).describe('k of hits@k / MAP@k for next-user ranking'),
    maxTestCascades: z.number().int().positive().optional().describe('evaluate only the first N test cascades (quick runs)'),
    workers: z.number().int().positive().optional().describe('worker threads for simulation engines that support them'),
    stepwiseBoundaries: z.array(z.number().positive()).optional().describe('size-range boundaries of the step-wise tau (default: doubling ranges from the smallest observed size)'),
  })
  .default({ simulations: 1000, earlyStageUsers: 5, rankingK: [1, 10, 50, 100] });

/** The `tracking` section. The URI falls back to MLFLOW_TRACKING_URI, then to the local store. */
export const trackingSchema = z
  .strictObject({
    uri: z.string().optional().describe('MLflow tracking URI; default $MLFLOW_TRACKING_URI, else the local run store'),
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
export function loadExperiment(file: string, registry: PluginRegistry, overrides: string[] = []): ResolvedExperiment {
  const loaded = loadConfig(file, experimentSchema, { overrides });
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
  const parsed = plugin.hyperparameters.safeParse(config.model.hyperparameters);
  if (!parsed.success) {
    const prefix = ['model', 'hyperparameters'];
    throw new ConfigError(
      file,
      zodIssuesToConfigIssues(parsed.error.issues, plugin.hyperparameters, config.model.hyperparameters, (p) => loaded.locate(p), new Set(overrides.map((o) => o.split('=')[0].trim())), prefix),
    );
  }
  const hyperparameters = parsed.data as Record<string, unknown>;
  const resolved: ExperimentConfig = { ...config, model: { name: config.model.name, hyperparameters } };
  return { file, config, plugin, hyperparameters, resolved, hash: experimentHash(resolved), loaded };
}

/**
 * A run's config identity: the resolved config without its execution settings, which say how to
 * compute, not what (a sweep must not re-run a trial when only they changed).
 */
export function experimentHash(resolved: ExperimentConfig): string {
  const { execution: _execution, ...identity } = resolved;
  return configHash(identity);
}
