/**
 * The protocols on a validation split, for model selection by a training loop (packages/training's
 * monitors; issue 15's simulated-F1 monitor). Each function takes a model and cascades and returns
 * the metrics under `validation.<name>` keys of the catalogue, so a monitor named after a catalogue
 * metric (`validation.macroF1`, `validation.h24.mape`) has a known direction.
 */
import { quietProgress, Rng, type Cascade, type MacroscopicModel, type MicroscopicModel, type ProgressReporter, type WindowedCascade } from '@cascade-lab/core';
import { macroscopicMetricValues, microscopicMetricValues, rankingMetricValues } from './keys.js';
import { evaluateMacroscopic, type MacroscopicEvaluationOptions } from './macroscopic.js';
import { evaluateMicroscopic, evaluateNextUserRanking } from './microscopic.js';

export interface SimulatedF1Options {
  /** Simulations per cascade (the monitor's own count, usually far below the test protocol's 1000). */
  simulations: number;
  /**
   * Seed of the monitor's generator. Every call starts from it again, so that successive epochs are
   * compared on the same random numbers (common random numbers: the difference between two epochs
   * is the model's, not the sampling noise's).
   */
  seed: number | string;
  /** Users of the early stage (default 5). */
  earlyStageSize?: number;
  /** Score only the first N cascades. */
  maxCascades?: number;
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

/**
 * The microscopic protocol on `cascades` (NDM §5.3) as validation metrics: `validation.macroF1`,
 * `validation.microF1`, `validation.earlyMacroF1`, `validation.earlyMicroF1`,
 * `validation.microPrecision`, `validation.microRecall` and their early-stage twins.
 */
export async function simulatedF1(model: Pick<MicroscopicModel, 'simulate'>, cascades: readonly Cascade[], options: SimulatedF1Options): Promise<Record<string, number>> {
  const subset = options.maxCascades ? cascades.slice(0, options.maxCascades) : cascades;
  const ev = await evaluateMicroscopic(model, subset, {
    rng: Rng.fromSeed(options.seed).derive('simulation'),
    simulations: options.simulations,
    earlyStageSize: options.earlyStageSize,
    progress: options.progress ?? quietProgress,
    signal: options.signal,
  });
  return microscopicMetricValues(ev, 'validation');
}

/** hits@k and MAP@k on `cascades` as `validation.hitsAt<k>` / `validation.mapAt<k>`. */
export async function nextUserRankingMetrics(model: Pick<MicroscopicModel, 'nextUserScores'>, cascades: readonly Cascade[], ks: readonly number[], options: { progress?: ProgressReporter; signal?: AbortSignal } = {}): Promise<Record<string, number>> {
  return rankingMetricValues(await evaluateNextUserRanking(model, cascades, { ks, ...options }), 'validation');
}

/** The macroscopic protocol on `cascades` as `validation.h<hours>.{mape, mapePercent, mapeCapped, kendallTau, spearmanRho, stepwiseTau, msle}`. */
export async function sizeErrorMetrics(
  model: MacroscopicModel,
  cascades: readonly WindowedCascade[],
  horizonsHours: readonly number[],
  options: MacroscopicEvaluationOptions = {},
): Promise<Record<string, number>> {
  return macroscopicMetricValues(await evaluateMacroscopic(model, cascades, horizonsHours, options), 'validation');
}
