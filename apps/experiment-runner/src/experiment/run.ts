import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { metricKeyProblems } from '@cascade-lab/evaluation';
import { createTracker, ensureDir, withRun, type TrackedRun, type Tracker } from '@cascade-lab/tracking';
import { stringify } from 'yaml';
import { metricPanelsSpec, predictedVsActualSpec, renderPng } from '../plots.js';
import { executionOf, type ResolvedExperiment } from './config.js';
import { evaluateMacroscopicRun, evaluateMicroscopicRun, type EvaluationOutcome } from './evaluate.js';
import { RecordingMetrics } from './history.js';
import { evaluateInProcesses, usesLocalShards } from './local-shards.js';
import { explainNaNMetrics } from './notes.js';
import { checkTrainableSplits } from './splits.js';
import type { QueueTarget } from '../queue/connection.js';

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
  /** Evaluate on this job queue, in `evaluation.shards` jobs run by `cascade worker`s (microscopic). */
  queue?: QueueTarget;
  /**
   * Evaluate in this process even where `execution.workers` would split it over child processes
   * (a sweep's trial: the sweep already runs a trial per core).
   */
  singleProcessEvaluation?: boolean;
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

  // Where the run will be recorded is checked before any data is read (issue 21): an unreachable
  // server, a bad URI or an unwritable folder is reported in seconds, not after the data loads.
  const tracker = options.tracker ?? createTracker({ trackingUri: options.trackingUri ?? config.tracking.uri, runsDir: config.tracking.runsDir, experiment: config.tracking.experiment, failFast: config.tracking.failFast, logger });
  try {
    await tracker.check(config.tracking.experiment);
    ensureDir(config.tracking.outputsDir, { what: 'tracking.outputsDir', writable: true });
  } catch (err) {
    if (!options.tracker) await tracker.close();
    throw err;
  }
  let data: LoadedData;
  try {
    data = await loadDataFor(exp, logger, options.baseDir);
    checkTrainableSplits(plugin, exp.hyperparameters, data);
  } catch (err) {
    if (!options.tracker) await tracker.close();
    throw err;
  }
  const runName = config.tracking.runName ?? config.name;
  // run.json gets the run's final status once it is closed (`cascade evaluate` warns on a run that did not finish).
  let opened: { run: TrackedRun; outputDir: string } | undefined;
  try {
    const outcome = await withRun(
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
        system: { backend, seed: config.seed, config: exp.resolved as unknown as Record<string, unknown>, configHash: exp.hash },
      },
      async (run, signal) => {
        logger.info(`run ${run.name} (${run.runId}) -> ${run.location}`);
        const outputDir = resolve(config.tracking.outputsDir, `${safeName(runName)}-${run.runId.slice(-8)}`);
        mkdirSync(outputDir, { recursive: true });
        opened = { run, outputDir };
        await run.logConfig(exp.resolved as unknown as Record<string, unknown>, exp.hash);
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
            const recorded = await evaluateAndRecord({ run, model, exp, data, outputDir, history: metrics, rng, progress, signal, logger, baseDir: context.baseDir, queue: options.queue ? { target: options.queue, modelDir: join(outputDir, 'model') } : undefined, modelDir: join(outputDir, 'model'), singleProcess: options.singleProcessEvaluation });
            return { runId: run.runId, runName: run.name, location: run.location, outputDir, metrics: { ...recorded.metrics, 'train.seconds': trainSeconds }, summary: recorded.summary, backend };
          } finally {
            model.dispose();
          }
        } finally {
          rmSync(workDir, { recursive: true, force: true });
        }
      },
    );
    recordFinalStatus(opened, 'FINISHED');
    return outcome;
  } catch (err) {
    recordFinalStatus(opened, 'FAILED');
    throw err;
  } finally {
    if (!options.tracker) await tracker.close();
  }
}

/** Adds the closed run's status and end time to its run.json. */
function recordFinalStatus(opened: { run: TrackedRun; outputDir: string } | undefined, fallback: 'FINISHED' | 'FAILED'): void {
  if (!opened) return;
  const file = join(opened.outputDir, 'run.json');
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const status = opened.run.status === 'RUNNING' ? fallback : opened.run.status;
    writeFileSync(file, JSON.stringify({ ...info, status, endTime: Date.now() }, null, 2) + '\n');
  } catch {
    // The folder is gone or unwritable: the tracker still has the status.
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
  /** Folder relative dataset paths resolve against (the queue's workers get it). */
  baseDir?: string;
  /** Shard the evaluation over this queue (`evaluation.shards` jobs); `modelDir` is the saved model the workers load. */
  queue?: { target: QueueTarget; modelDir: string };
  /** The model's saved folder, when it has one: what local evaluation processes load (else it is saved to a temporary folder). */
  modelDir?: string;
  /** Never split the evaluation over local child processes (`RunOptions.singleProcessEvaluation`). */
  singleProcess?: boolean;
}

/**
 * The task's shared evaluation protocol on a trained (or loaded) model, then final metrics to the
 * run and metrics.json, predictions.jsonl and plots to the output folder, uploaded as artifacts.
 */
export async function evaluateAndRecord(input: RecordInput): Promise<{ metrics: Record<string, number>; summary: string }> {
  const { run, model, exp, data, outputDir, rng, progress, signal, logger } = input;
  const evalContext = { rng: rng.derive('evaluation'), progress, signal, execution: executionOf(exp.config) };
  const shards = exp.config.evaluation.shards;
  const local = !input.queue && !input.singleProcess && usesLocalShards(exp, evalContext.execution.workers);
  if (shards !== undefined && shards > 1 && !input.queue)
    logger.info(`evaluation.shards is ${shards}, but no --queue: evaluating here${local ? ` in execution.workers (${evalContext.execution.workers}) processes` : ' in one piece'} (the same numbers)`);
  let outcome: EvaluationOutcome;
  if (input.queue && exp.plugin.task === 'microscopic') {
    // Loaded only here: a run without --queue never needs BullMQ or Redis.
    const { evaluateOnQueue } = await import('../queue/sharded-evaluation.js');
    outcome = await evaluateOnQueue({
      target: input.queue.target,
      shards: shards ?? 1,
      exp,
      data: data as LoadedMicroscopicDataset,
      model: model as MicroscopicModel,
      modelDir: input.queue.modelDir,
      rng: evalContext.rng,
      baseDir: resolve(input.baseDir ?? dirname(resolve(exp.file))),
      evaluationId: `${safeName(run.name)}-${run.runId.slice(-8)}`,
      progress,
      signal,
      logger,
    });
  } else if (local) {
    // simulate runs on this thread: one child process per core (execution.workers), the same numbers (issue 22).
    outcome = await evaluateInProcesses({
      workers: evalContext.execution.workers,
      exp,
      data: data as LoadedMicroscopicDataset,
      model: model as MicroscopicModel,
      modelDir: input.modelDir,
      rng: evalContext.rng,
      baseDir: resolve(input.baseDir ?? dirname(resolve(exp.file))),
      progress,
      signal,
      logger,
    });
  } else if (exp.plugin.task === 'microscopic') outcome = await evaluateMicroscopicRun(model as MicroscopicModel, data as LoadedMicroscopicDataset, exp.config.evaluation, evalContext);
  else outcome = await evaluateMacroscopicRun(model as MacroscopicModel, data as LoadedMacroscopicDataset, exp.config.evaluation, evalContext);
  const modelMetrics = prefixed('model.', model.summaryMetrics?.() ?? {});
  const metrics = { ...outcome.metrics, ...modelMetrics };
  for (const note of explainNaNMetrics(metrics)) logger.warn(note);
  run.logMetrics(metrics);
  for (const p of outcome.series) run.logMetric(p.key, p.value, p.step);
  // Keys outside the metric catalogue (and the plugin's declarations) are logged, but said: the
  // report cannot tell their direction and the conformance kit fails such a plugin.
  const problems = metricKeyProblems(exp.plugin, [...Object.keys(metrics), ...(input.history?.points.map((p) => p.series) ?? [])]);
  if (problems.length) logger.warn(`plugin ${exp.plugin.name}: ${problems.join('; ')}`);
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
    else if (history) logger.info('no learning curve: the model logged no per-epoch metrics');
    if (outcome.series.length > 0) {
      const points = outcome.series.map((p) => ({ series: p.key.replace(/^test\./, '').replace(/ByHorizon$/, ''), step: p.step, value: p.value }));
      writeFileSync(join(outputDir, 'metrics-by-horizon.png'), await renderPng(metricPanelsSpec(points, `${title}: metrics by horizon`, 'horizon (hours)')));
    }
    if (outcome.sizePoints?.length) writeFileSync(join(outputDir, 'predicted-vs-actual.png'), await renderPng(predictedVsActualSpec(outcome.sizePoints, `${title}: predicted vs actual size`)));
  } catch (e) {
    // A plot is a convenience; the numbers are already written.
    logger.warn(`could not draw plots: ${(e as Error).message}`);
  }
}

