import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CascadeError, Rng, type Logger, type PluginRegistry, type ProgressReporter } from '@cascade-lab/core';
import { initBackend } from '@cascade-lab/tensor-ops';
import { createTracker, ensureDir, withRun, type Tracker } from '@cascade-lab/tracking';
import { executionOf, loadExperiment } from './config.js';
import { evaluateAndRecord, loadDataFor } from './run.js';
import type { QueueTarget } from '../queue/connection.js';

/** The files a finished run leaves: its resolved config and its saved model. */
export interface SavedRun {
  dir: string;
  configFile: string;
  modelDir: string;
  /** run.json of the run, when present. */
  info: { runId?: string; name?: string; configFile?: string; status?: string };
}

/**
 * Finds a saved run in `dir`: a run's output folder (`config.yaml` + `model/`), or a local-store run
 * folder whose `artifacts/` holds them.
 */
export function findSavedRun(dir: string): SavedRun {
  const candidates = [resolve(dir), resolve(dir, 'artifacts')];
  for (const d of candidates) {
    const configFile = join(d, 'config.yaml');
    const modelDir = join(d, 'model');
    if (existsSync(configFile) && existsSync(modelDir)) {
      const infoFile = join(d, 'run.json');
      const info = existsSync(infoFile) ? (JSON.parse(readFileSync(infoFile, 'utf8')) as SavedRun['info']) : {};
      // A local-store run folder: its meta.json has the final status (artifacts are logged before the run closes).
      const metaFile = join(d, '..', 'meta.json');
      if (info.status === undefined && d.endsWith('artifacts') && existsSync(metaFile)) info.status = (JSON.parse(readFileSync(metaFile, 'utf8')) as { status?: string }).status;
      return { dir: d, configFile, modelDir, info };
    }
  }
  throw new CascadeError('USAGE', `${dir} holds no saved run (expected config.yaml and model/ in it or in its artifacts/ folder)`, {
    hint: '`cascade run` prints the outputs folder of each run; `cascade runs list` lists local runs',
  });
}

export interface EvaluateSavedOptions {
  registry: PluginRegistry;
  logger: Logger;
  progress: ProgressReporter;
  /** Overrides on the saved config, e.g. `evaluation.simulations=100`, `dataset.window.horizonsHours=[6,12]`. */
  overrides?: string[];
  trackingUri?: string;
  tracker?: Tracker;
  signal?: AbortSignal;
  /** Evaluate on this job queue, in `evaluation.shards` jobs run by `cascade worker`s (microscopic). */
  queue?: QueueTarget;
}

/**
 * Re-evaluates a saved model without training: loads the run's config (plus overrides), the
 * plugin's saved model and the dataset, runs the task's shared protocol, and logs a new run tagged
 * with the run it evaluates.
 */
export async function evaluateSaved(dir: string, options: EvaluateSavedOptions): Promise<{ runId: string; location: string; outputDir: string; metrics: Record<string, number>; summary: string }> {
  const saved = findSavedRun(dir);
  const exp = loadExperiment(saved.configFile, options.registry, options.overrides ?? []);
  const { config, plugin } = exp;
  const { logger, progress } = options;
  if (options.queue && plugin.task !== 'microscopic') throw new CascadeError('USAGE', `--queue shards the microscopic evaluation only; model ${plugin.name} is ${plugin.task}`);
  // The model is saved after training, before evaluation: a run stopped later still has one.
  if (saved.info.status === undefined)
    logger.warn(`${saved.dir}: run.json records no final status (a run still going, killed hard, or from an older version); evaluating its model anyway`);
  else if (saved.info.status !== 'FINISHED')
    logger.warn(`${saved.dir}: run ${saved.info.name ?? saved.info.runId ?? ''} ended ${saved.info.status}; its model was saved after training, but the run did not finish`);
  const backend = await initBackend(config.backend, { logger });
  const baseDir = saved.info.configFile ? dirname(saved.info.configFile) : saved.dir;
  // Where the evaluation will be recorded is checked before the data is read (as `cascade run` does).
  const tracker = options.tracker ?? createTracker({ trackingUri: options.trackingUri ?? config.tracking.uri, runsDir: config.tracking.runsDir, experiment: config.tracking.experiment, failFast: config.tracking.failFast, logger });
  try {
    await tracker.check(config.tracking.experiment);
    ensureDir(config.tracking.outputsDir, { what: 'tracking.outputsDir', writable: true });
    const data = await loadDataFor(exp, logger, baseDir);
    return await withRun(
      tracker,
      {
        name: `${config.tracking.runName ?? config.name}-evaluation`,
        experiment: config.tracking.experiment,
        signal: options.signal,
        logger,
        tags: { 'cascade.model': plugin.name, 'cascade.task': plugin.task, 'cascade.dataset': data.name, 'cascade.evaluationOf': saved.info.runId ?? saved.dir },
        system: { backend, seed: config.seed, config: exp.resolved as unknown as Record<string, unknown>, configHash: exp.hash },
      },
      async (run, signal) => {
        const outputDir = resolve(config.tracking.outputsDir, `${config.name}-evaluation-${run.runId.slice(-8)}`);
        mkdirSync(outputDir, { recursive: true });
        await run.logConfig(exp.resolved as unknown as Record<string, unknown>, exp.hash);
        writeFileSync(join(outputDir, 'run.json'), JSON.stringify({ runId: run.runId, name: run.name, location: run.location, evaluates: saved.dir }, null, 2) + '\n');
        const model = await plugin.load(saved.modelDir, { backend, logger, signal, execution: executionOf(exp.config) });
        try {
          const recorded = await evaluateAndRecord({ run, model, exp, data, outputDir, rng: Rng.fromSeed(config.seed), progress, signal, logger, baseDir, queue: options.queue ? { target: options.queue, modelDir: saved.modelDir } : undefined, modelDir: saved.modelDir });
          return { runId: run.runId, location: run.location, outputDir, ...recorded };
        } finally {
          model.dispose();
        }
      },
    );
  } finally {
    if (!options.tracker) await tracker.close();
  }
}
