/**
 * The metric-key part of the plugin conformance kit. It lives here, not in `@cascade-lab/core`'s
 * kit, because the catalogue is in `@cascade-lab/metrics`, which depends on core: core's kit cannot
 * import it without a cycle (core <- metrics <- evaluation is the layering). `./testing` runs core's
 * checks and this one together, so a plugin's test file keeps one call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executionSettings, MemoryLogger, quietProgress, Rng, type BackendInfo, type MacroscopicDataset, type MicroscopicDataset, type ModelPlugin, type TrainContext } from '@cascade-lab/core';
import { METRIC_CATALOGUE, type MetricCatalogue } from '@cascade-lab/metrics';

/** The project's catalogue extended by the keys the plugin declares (`plugin.metrics`); throws when a declaration is invalid. */
export function pluginCatalogue(plugin: Pick<ModelPlugin, 'name' | 'task' | 'metrics'>, base: MetricCatalogue = METRIC_CATALOGUE): MetricCatalogue {
  return base.withPluginMetrics(plugin.name, plugin.metrics ?? [], plugin.task);
}

/**
 * The catalogue extended by the declarations of several plugins (a report over runs of many
 * models). Lenient where the conformance kit is strict: a declaration that is invalid, or that an
 * earlier plugin already made, is skipped (the first plugin's entry stays).
 */
export function catalogueOfPlugins(plugins: readonly Pick<ModelPlugin, 'name' | 'task' | 'metrics'>[], base: MetricCatalogue = METRIC_CATALOGUE): MetricCatalogue {
  let catalogue = base;
  for (const plugin of plugins)
    for (const declaration of plugin.metrics ?? []) {
      try {
        catalogue = catalogue.withPluginMetrics(plugin.name, [declaration], plugin.task);
      } catch {
        // invalid or already declared: the conformance kit reports the first; the second keeps the earlier entry
      }
    }
  return catalogue;
}

/**
 * The keys a trained model's run would log: what `train` logged through `context.metrics`, and the
 * model's `summaryMetrics()` under `model.` (as the runner logs them).
 */
export function loggedKeys(trainKeys: Iterable<string>, summary: Record<string, number> | undefined): string[] {
  return [...new Set([...trainKeys, ...Object.keys(summary ?? {}).map((k) => `model.${k}`)])];
}

/** The problems with `keys` for `plugin` (empty when every key is in the catalogue or declared by the plugin). */
export function metricKeyProblems(plugin: Pick<ModelPlugin, 'name' | 'task' | 'metrics'>, keys: Iterable<string>): string[] {
  let catalogue: MetricCatalogue;
  try {
    catalogue = pluginCatalogue(plugin);
  } catch (e) {
    return [`its metric declarations are invalid: ${(e as Error).message}`];
  }
  return catalogue.unknownKeys(keys).map((u) => `logs "${u.key}", which ${u.reason}`);
}

export interface MetricKeyCheckOptions {
  /** Fast hyperparameters for the tiny dataset (as for core's kit). */
  hyperparameters?: Record<string, unknown>;
  /** The dataset to train on (as for core's kit). */
  dataset: MicroscopicDataset | MacroscopicDataset;
  /** Prepares the tensor backend, as for core's kit. */
  setup?: () => Promise<BackendInfo>;
  seed?: number;
}

/**
 * Trains `plugin` once on `dataset` and returns the problems with the keys it logs (train curves and
 * `model.` summary numbers); an empty list means the plugin conforms.
 */
export async function checkPluginMetricKeys(plugin: ModelPlugin, options: MetricKeyCheckOptions): Promise<string[]> {
  const declared = metricKeyProblems(plugin, []);
  if (declared.length) return declared;
  const keys = new Set<string>();
  const workDir = mkdtempSync(join(tmpdir(), `conformance-${plugin.name}-keys-`));
  const backend = options.setup ? await options.setup() : { name: 'none', package: 'none', device: 'cpu' };
  const context: TrainContext = {
    rng: Rng.fromSeed(options.seed ?? 7),
    backend,
    progress: quietProgress,
    logger: new MemoryLogger(),
    metrics: { logMetric: (key) => void keys.add(key) },
    signal: new AbortController().signal,
    workDir,
    execution: executionSettings({ workers: 1 }),
  };
  const hp = plugin.hyperparameters.parse(options.hyperparameters ?? {});
  try {
    const model = plugin.task === 'microscopic' ? await plugin.train(options.dataset as MicroscopicDataset, hp, context) : await plugin.train(options.dataset as MacroscopicDataset, hp, context);
    try {
      return metricKeyProblems(plugin, loggedKeys(keys, model.summaryMetrics?.()));
    } finally {
      model.dispose();
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
