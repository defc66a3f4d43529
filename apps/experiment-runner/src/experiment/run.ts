import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  Rng,
  type Logger,
  type MacroscopicModel,
  type MicroscopicModel,
  type ProgressReporter,
  type TrainContext,
} from '@cascade-lab/core';
import { loadMacroscopicDataset, loadMicroscopicDataset, type LoadedMacroscopicDataset, type LoadedMicroscopicDataset } from '@cascade-lab/data';
import { initBackend, type BackendSelection } from '@cascade-lab/tensor-ops';
import { createTracker, withRun, type TrackedRun, type Tracker } from '@cascade-lab/tracking';
import { stringify } from 'yaml';
import { metricPanelsSpec, predictedVsActualSpec, renderPng } from '../plots.js';
import { executionOf, type ResolvedExperiment } from './config.js';
import { evaluateMacroscopicRun, evaluateMicroscopicRun, type EvaluationOutcome } from './evaluate.js';
import { RecordingMetrics } from './history.js';

export interface RunOptions {
  logger: Logger;
  progress: ProgressReporter;
  /** Overrides the config's tracking URI (and MLFLOW_TRACKING_URI). */
  trackingUri?: string;
  /** Tracker to use instead of creating one (tests, sweeps). */
  tracker?: Tracker;
  /** Parent run for nested runs (sweeps). */
  parentRunId?: string;
  /** Cancellation from outside; when absent, SIGINT/SIGTERM are handled for the run. */
  signal?: AbortSignal;
  /** Folder relative dataset paths are resolved against (default: the config file's folder). */
  baseDir?: string;
}

export interface RunOutcome {
  runId: string;
  runName: string;
  /** Where the tracker keeps the run (MLflow URL or local directory). */
  location: string;
  /** Local folder with config, metrics, predictions, model and plots. */
  outputDir: string;
  metrics: Record<string, number>;
  summary: string;
  backend: BackendSelection;
}

export type LoadedData = LoadedMicroscopicDataset | LoadedMacroscopicDataset;

/**
 * One experiment, end to end (ARCHITECTURE.md "A run, end to end"): backend -> dataset and split ->
 * tracked run (params, tags) -> training with progress and per-epoch metrics -> the task's shared
 * evaluation protocol -> final metrics and artifacts -> the run closed FINISHED, FAILED or KILLED.
 */
export async function runExperiment(exp: ResolvedExperiment, options: RunOptions): Promise<RunOutcome> {
  const { config, plugin } = exp;
  const { logger, progress } = options;
  const rng = Rng.fromSeed(config.seed);
  const backend = await initBackend(config.backend, { logger });

  const data = await loadDataFor(exp, logger, options.baseDir);

  const tracker = options.tracker ?? createTracker({ trackingUri: options.trackingUri ?? config.tracking.uri, runsDir: config.tracking.runsDir, experiment: config.tracking.experiment, logger });
  const runName = config.tracking.runName ?? config.name;
  try {
    return await withRun(
      tracker,
      {
        name: runName,
        experiment: config.tracking.experiment,
        parent: options.parentRunId,
        signal: options.signal,
        logger,
        tags: {
          'cascade.model': plugin.name,
          'cascade.task': plugin.task,
          'cascade.dataset': data.name,
          'cascade.configFile': exp.file,
          ...config.tracking.tags,
        },
        system: { backend, seed: config.seed, config: exp.resolved as unknown as Record<string, unknown> },
      },
      async (run, signal) => {
        logger.info(`run ${run.name} (${run.runId}) -> ${run.location}`);
        const outputDir = resolve(config.tracking.outputsDir, `${safeName(runName)}-${run.runId.slice(-8)}`);
        mkdirSync(outputDir, { recursive: true });
        await run.logConfig(exp.resolved as unknown as Record<string, unknown>);
        writeFileSync(join(outputDir, 'config.yaml'), stringify(exp.resolved));
        writeFileSync(join(outputDir, 'run.json'), JSON.stringify({ runId: run.runId, name: run.name, location: run.location, tracker: tracker.kind, configFile: resolve(exp.file), hash: exp.hash }, null, 2) + '\n');
        const metrics = new RecordingMetrics(run);
        // Scratch space for the plugin (checkpoints during training): not an artifact, removed after.
        const workDir = mkdtempSync(join(tmpdir(), 'cascade-work-'));
        const context: TrainContext = { rng: rng.derive('train'), backend, progress, logger, metrics, signal, workDir, execution: executionOf(exp.config), baseDir: options.baseDir ?? dirname(resolve(exp.file)) };

        try {
          const trainStarted = Date.now();
          const model = plugin.task === 'microscopic'
            ? await plugin.train(data as LoadedMicroscopicDataset, exp.hyperparameters, context)
            : await plugin.train(data as LoadedMacroscopicDataset, exp.hyperparameters, context);
          try {
            const trainSeconds = (Date.now() - trainStarted) / 1000;
            run.logMetric('train.seconds', trainSeconds);
            await model.save(join(outputDir, 'model'));
            const recorded = await evaluateAndRecord({ run, model, exp, data, outputDir, history: metrics, rng, progress, signal, logger });
            return { runId: run.runId, runName: run.name, location: run.location, outputDir, metrics: { ...recorded.metrics, 'train.seconds': trainSeconds }, summary: recorded.summary, backend };
          } finally {
            model.dispose();
          }
        } finally {
          rmSync(workDir, { recursive: true, force: true });
        }
      },
    );
  } finally {
    if (!options.tracker) await tracker.close();
  }
}

export interface RecordInput {
  run: TrackedRun;
  model: MicroscopicModel | MacroscopicModel;
  exp: ResolvedExperiment;
  data: LoadedData;
  outputDir: string;
  history?: RecordingMetrics;
  rng: Rng;
  progress: ProgressReporter;
  signal: AbortSignal;
  logger: Logger;
}

/**
 * The task's shared evaluation protocol on a trained (or loaded) model, then final metrics to the
 * run and metrics.json, predictions.jsonl and plots to the output folder, uploaded as artifacts.
 */
export async function evaluateAndRecord(input: RecordInput): Promise<{ metrics: Record<string, number>; summary: string }> {
  const { run, model, exp, data, outputDir, rng, progress, signal, logger } = input;
  const evalContext = { rng: rng.derive('evaluation'), progress, signal, execution: executionOf(exp.config) };
  const outcome = exp.plugin.task === 'microscopic'
    ? await evaluateMicroscopicRun(model as MicroscopicModel, data as LoadedMicroscopicDataset, exp.config.evaluation, evalContext)
    : await evaluateMacroscopicRun(model as MacroscopicModel, data as LoadedMacroscopicDataset, exp.config.evaluation, evalContext);
  const modelMetrics = prefixed('model.', model.summaryMetrics?.() ?? {});
  const metrics = { ...outcome.metrics, ...modelMetrics };
  run.logMetrics(metrics);
  for (const p of outcome.series) run.logMetric(p.key, p.value, p.step);
  await writeArtifacts(outputDir, metrics, outcome, input.history, `${exp.plugin.name} on ${data.name}`, logger);
  await run.logArtifacts(outputDir);
  return { metrics, summary: outcome.summary };
}

/** Loads the dataset a config names, for the plugin's task. */
export async function loadDataFor(exp: ResolvedExperiment, logger: Logger, baseDir?: string): Promise<LoadedData> {
  const loadOptions = { seed: exp.config.seed, baseDir: baseDir ?? dirname(resolve(exp.file)), logger };
  const data: LoadedData =
    exp.plugin.task === 'microscopic' ? await loadMicroscopicDataset(exp.config.dataset, loadOptions) : await loadMacroscopicDataset(exp.config.dataset, loadOptions);
  logger.info(describeData(data));
  return data;
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [prefix + k, v]));
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}

function describeData(data: LoadedData): string {
  if ('users' in data) {
    return `dataset ${data.name}: ${data.users.size - 2} users; ${data.train.length} train / ${data.validation.length} validation / ${data.test.length} test cascades`;
  }
  return `dataset ${data.name}: ${data.train.length} train / ${data.validation.length} validation / ${data.test.length} test cascades; window ${data.observationWindowSeconds / 3600} h in ${data.binWidthSeconds / 60}-min bins; horizons ${data.horizonsHours.join(', ')} h`;
}

/** metrics.json, predictions.jsonl and the plots, written into the run's output folder. */
async function writeArtifacts(outputDir: string, metrics: Record<string, number>, outcome: EvaluationOutcome, history: RecordingMetrics | undefined, title: string, logger: Logger): Promise<void> {
  const jsonSafe = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]));
  writeFileSync(join(outputDir, 'metrics.json'), JSON.stringify(jsonSafe, null, 2) + '\n');
  writeFileSync(join(outputDir, 'predictions.jsonl'), outcome.predictions.map((p) => JSON.stringify(p)).join('\n') + '\n');
  try {
    const curves = history?.curves() ?? [];
    if (curves.length > 0) writeFileSync(join(outputDir, 'learning-curve.png'), await renderPng(metricPanelsSpec(curves, `${title}: learning curves`)));
    if (outcome.series.length > 0) {
      const points = outcome.series.map((p) => ({ series: p.key.replace(/^test\./, '').replace(/_by_horizon$/, ''), step: p.step, value: p.value }));
      writeFileSync(join(outputDir, 'metrics-by-horizon.png'), await renderPng(metricPanelsSpec(points, `${title}: metrics by horizon`, 'horizon (hours)')));
    }
    if (outcome.sizePoints?.length) writeFileSync(join(outputDir, 'predicted-vs-actual.png'), await renderPng(predictedVsActualSpec(outcome.sizePoints, `${title}: predicted vs actual size`)));
  } catch (e) {
    // A plot is a convenience; the numbers are already written.
    logger.warn(`could not draw plots: ${(e as Error).message}`);
  }
}

