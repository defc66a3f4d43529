/**
 * The macroscopic evaluation protocol (GammaCas paper §5): every test cascade is observed for the
 * dataset's window, the model predicts its size (root included) at each horizon, and each horizon is
 * scored with MAPE, Kendall's tau-b, Spearman's rho, step-wise tau and MSLE (`@cascade-lab/metrics`).
 *
 * Non-finite predictions (issue 18): a supercritical Hawkes or SEISMIC fit predicts +Infinity. The
 * predictions keep it (the per-cascade rows write it as the string "Infinity"), and each horizon
 * reports how many predictions are infinite, MAPE over the finite ones (`mape`, the number the
 * GammaCas paper's tables can have meant), and MAPE with each infinite prediction counted with the
 * error `infiniteErrorCap` (`mapeCapped`; default `INFINITE_APE_CAP` = 10^4, documented in the
 * metrics package). NaN or -Infinity predictions are a failed fit: counted as invalid, left out.
 * Targets past the data's end are NaN and skipped (counted).
 */
import { executionSettings, quietProgress, Rng, throwIfCancelled, type ExecutionSettings, type MacroscopicModel, type ProgressReporter, type WindowedCascade } from '@cascade-lab/core';
import { geometricBoundaries, sizePredictionMetrics, stepwiseKendallTau, type SizePredictionMetrics } from '@cascade-lab/metrics';

export interface MacroscopicEvaluationOptions {
  /** Size boundaries of the step-wise tau (default: geometric from twice the smallest observed size, factor 2, 12 ranges). */
  stepwiseBoundaries?: number[];
  /** Error an infinite prediction counts with in `mapeCapped` (default `INFINITE_APE_CAP`, 10^4). */
  infiniteErrorCap?: number;
  /** The generator `predict` receives (sampling models, random walks); default `Rng.fromSeed(0)`. */
  rng?: Rng;
  /** Workers and batch rows for `predict` (default: `executionSettings()`, every core). */
  execution?: ExecutionSettings;
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

/** One horizon's numbers. */
export interface HorizonEvaluation extends SizePredictionMetrics {
  hours: number;
  /** Kendall tau-b of size ranges over the cascades with a target and a non-NaN prediction (NaN with fewer than 2). */
  stepwiseTau: number;
}

/** One test cascade's row (for the predictions artifact). */
export interface MacroscopicCascadeRow {
  /** Index in the evaluated cascades. */
  index: number;
  id: string;
  observedSize: number;
  horizonsHours: number[];
  /** True sizes; null past the data's end. */
  actual: (number | null)[];
  /** Predicted sizes; non-finite ones as the strings "Infinity", "-Infinity", "NaN" (JSON has no such numbers). */
  predicted: (number | string)[];
  /** Whatever the model adds per cascade (`SizePredictions.details`). */
  [detail: string]: unknown;
}

export interface MacroscopicEvaluation {
  horizons: HorizonEvaluation[];
  /** `predictions[c][h]` as the model returned them (Infinity kept). */
  predictions: Float64Array[];
  cascades: MacroscopicCascadeRow[];
  /** Wall-clock seconds, prediction included. */
  seconds: number;
}

/**
 * Scores given predictions (`predictions[c][h]` for `cascades[c]` at `horizonsHours[h]`) without
 * calling a model: the part of the protocol a training monitor on a validation split reuses.
 */
export function scoreSizePredictions(
  cascades: readonly WindowedCascade[],
  predictions: readonly ArrayLike<number>[],
  horizonsHours: readonly number[],
  options: Pick<MacroscopicEvaluationOptions, 'stepwiseBoundaries' | 'infiniteErrorCap'> = {},
): Omit<MacroscopicEvaluation, 'seconds'> {
  if (predictions.length !== cascades.length) throw new RangeError(`scoreSizePredictions: ${predictions.length} prediction rows for ${cascades.length} cascades`);
  if (cascades.length === 0) throw new RangeError('scoreSizePredictions: no cascades');
  predictions.forEach((row, c) => {
    if (row.length !== horizonsHours.length) throw new RangeError(`scoreSizePredictions: cascade ${cascades[c].id} has ${row.length} predictions for ${horizonsHours.length} horizons`);
  });
  cascades.forEach((c) => {
    if (c.targets.length !== horizonsHours.length) throw new RangeError(`scoreSizePredictions: cascade ${c.id} has ${c.targets.length} targets for ${horizonsHours.length} horizons`);
  });
  const minObserved = Math.max(1, Math.min(...cascades.map((c) => c.observedSize)));
  const boundaries = options.stepwiseBoundaries ?? geometricBoundaries(2 * minObserved, 2, 12);
  const horizons = horizonsHours.map((hours, hi): HorizonEvaluation => {
    const targets = Float64Array.from(cascades, (c) => c.targets[hi]);
    const preds = Float64Array.from(predictions, (row) => row[hi]);
    const m = sizePredictionMetrics(targets, preds, { infiniteErrorCap: options.infiniteErrorCap });
    const known: number[] = [];
    for (let i = 0; i < targets.length; i++) if (!Number.isNaN(targets[i]) && !Number.isNaN(preds[i])) known.push(i);
    const stepwiseTau = known.length >= 2 ? stepwiseKendallTau(known.map((i) => targets[i]), known.map((i) => preds[i]), boundaries) : NaN;
    return { hours, ...m, stepwiseTau };
  });
  const rows = cascades.map(
    (c, i): MacroscopicCascadeRow => ({
      index: i,
      id: c.id,
      observedSize: c.observedSize,
      horizonsHours: [...horizonsHours],
      actual: Array.from(c.targets, (v) => (Number.isNaN(v) ? null : v)),
      predicted: Array.from(predictions[i], (v) => (Number.isFinite(v) ? v : String(v))),
    }),
  );
  return { horizons, predictions: predictions.map((r) => Float64Array.from(r)), cascades: rows };
}

/** Runs the protocol: one `predict` call for all cascades, then {@link scoreSizePredictions}. */
export async function evaluateMacroscopic(model: MacroscopicModel, cascades: readonly WindowedCascade[], horizonsHours: readonly number[], options: MacroscopicEvaluationOptions = {}): Promise<MacroscopicEvaluation> {
  const started = performance.now();
  throwIfCancelled(options.signal);
  const task = (options.progress ?? quietProgress).start('predicting sizes', cascades.length);
  let predicted;
  try {
    predicted = await model.predict([...cascades], [...horizonsHours], {
      rng: options.rng ?? Rng.fromSeed(0),
      progress: options.progress ?? quietProgress,
      signal: options.signal ?? new AbortController().signal,
      execution: options.execution ?? executionSettings(),
    });
    task.tick(cascades.length);
  } finally {
    task.done();
  }
  const scored = scoreSizePredictions(cascades, predicted.sizes, horizonsHours, options);
  predicted.details?.forEach((d, i) => Object.assign(scored.cascades[i], d));
  return { ...scored, seconds: (performance.now() - started) / 1000 };
}
