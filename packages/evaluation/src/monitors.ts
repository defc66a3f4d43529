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
   * Seed of the monitor's generator: a seed, or a generator whose state is the seed (it is only
   * derived from, never advanced). Every call starts from it again, so that successive epochs are
   * compared on the same random numbers (common random numbers: the difference between two epochs
   * is the model's, not the sampling noise's).
   */
  seed: number | string | Rng;
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
    rng: (typeof options.seed === 'object' ? options.seed : Rng.fromSeed(options.seed)).derive('simulation'),
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

/** The protocol metrics a simulated-F1 monitor can select the best epoch by (all higher-is-better). */
export const SIMULATED_F1_SELECTIONS = ['macroF1', 'earlyMacroF1', 'microF1', 'earlyMicroF1', 'meanMacroF1'] as const;
export type SimulatedF1Selection = (typeof SIMULATED_F1_SELECTIONS)[number];

/** A simulator for one monitor pass, built from the model's current weights; `dispose` frees it after. */
export type MonitorSimulator = Pick<MicroscopicModel, 'simulate'> & { dispose?(): void };

export interface SimulatedF1MonitorOptions extends Omit<SimulatedF1Options, 'progress' | 'signal'> {
  /** The validation cascades (never the test split). */
  cascades: readonly Cascade[];
  /**
   * The value the loop selects the best epoch by: a protocol metric (`macroF1`, `earlyMacroF1`,
   * ...), or `meanMacroF1`, the mean of the full and early Macro-F1 (both numbers the NDM paper
   * reports, Tables 2 and 3). Default `macroF1`.
   */
  select?: SimulatedF1Selection;
  /** Run after every k-th epoch (and after the last one); default 1. */
  every?: number;
  /** A simulator from the model's weights at the end of the epoch (called once per pass). */
  simulator(): MonitorSimulator | Promise<MonitorSimulator>;
  progress?: ProgressReporter;
}

/**
 * A model-selection monitor for `@cascade-lab/training`'s fit loop (structurally its `Monitor`;
 * this package does not depend on the loop): after every `every`-th epoch it builds a simulator
 * from the current weights, runs the microscopic protocol (NDM §5.3) on the validation cascades
 * with its own simulation count and seed ({@link simulatedF1}, restarted at every pass: common
 * random numbers across epochs), and reports the selected metric as the value and the other
 * protocol metrics as companions (`validation.macroF1`, `validation.earlyMacroF1`, ...).
 * `seconds` lists the wall-clock time of each pass (to weigh it against an epoch).
 */
export function simulatedF1Monitor(options: SimulatedF1MonitorOptions): {
  name: string;
  direction: 'max';
  every?: number;
  seconds: number[];
  evaluate(info: { signal?: AbortSignal }): Promise<{ value: number; also: Record<string, number> }>;
} {
  const select = options.select ?? 'macroF1';
  if (!SIMULATED_F1_SELECTIONS.includes(select)) throw new RangeError(`simulatedF1Monitor: select must be one of ${SIMULATED_F1_SELECTIONS.join(', ')}, got ${String(select)}`);
  if (options.cascades.length === 0) throw new RangeError('simulatedF1Monitor: no validation cascades');
  const seconds: number[] = [];
  return {
    name: select,
    direction: 'max',
    every: options.every,
    seconds,
    async evaluate(info) {
      const started = performance.now();
      const simulator = await options.simulator();
      let values: Record<string, number>;
      try {
        values = await simulatedF1(simulator, options.cascades, { ...options, progress: options.progress, signal: info.signal });
      } finally {
        simulator.dispose?.();
      }
      const also: Record<string, number> = {};
      for (const [k, v] of Object.entries(values)) also[k.slice('validation.'.length)] = v;
      const value = select === 'meanMacroF1' ? (also.macroF1 + also.earlyMacroF1) / 2 : also[select];
      delete also[select];
      seconds.push((performance.now() - started) / 1000);
      return { value, also };
    },
  };
}
