/**
 * Errors of predicted cascade sizes (GammaCas paper §5, "Evaluation metrics") and the evaluation
 * summary that applies the paper's handling of non-finite predictions.
 */
import { checkSameLength } from './check.js';
import { kendallTau, spearmanRho } from './correlation.js';

/** How MAPE is computed. */
export interface MapeOptions {
  /** Added to every target and every prediction before the ratio (the authors' code uses 0.001). */
  epsilon?: number;
  /** Multiply by 100 (the paper reports percentages, e.g. 25.06). */
  percent?: boolean;
}

/** MAPE as a fraction: mean |y - y^| / y. */
export const MAPE_FRACTION: Readonly<MapeOptions> = Object.freeze({ epsilon: 0, percent: false });
/** MAPE as the GammaCas authors' evaluation code computes it: 0.001 added to y and y^, in percent. */
export const MAPE_AUTHORS_CODE: Readonly<MapeOptions> = Object.freeze({ epsilon: 0.001, percent: true });

/**
 * Mean absolute percentage error, mean over i of |(y_i + eps) - (y^_i + eps)| / (y_i + eps), times
 * 100 when `percent` (GammaCas paper §5; `MAPE_AUTHORS_CODE` = eps 0.001 and percent, as in the
 * authors' code; `MAPE_FRACTION` = eps 0, a fraction). Plain IEEE arithmetic: an infinite prediction
 * makes the result Infinity, a NaN makes it NaN (see {@link sizePredictionMetrics} for the paper's
 * policy). Throws a RangeError when a shifted target is not positive, or on empty input.
 */
export function mape(targets: ArrayLike<number>, predictions: ArrayLike<number>, options: MapeOptions = MAPE_FRACTION): number {
  checkSameLength('mape', targets, predictions);
  if (targets.length === 0) throw new RangeError('mape: no predictions');
  const eps = options.epsilon ?? 0;
  let sum = 0;
  for (let i = 0; i < targets.length; i++) {
    const y = targets[i] + eps;
    if (!(y > 0)) throw new RangeError(`mape: target ${targets[i]} at ${i} (+ epsilon ${eps}) is not positive; MAPE divides by it`);
    sum += Math.abs(y - (predictions[i] + eps)) / y;
  }
  const mean = sum / targets.length;
  return options.percent ? 100 * mean : mean;
}

export interface MsleOptions {
  /** Logarithm base: `e` (default, as `sklearn.metrics.mean_squared_log_error`), 2 (as DeepCas reports) or 10. */
  base?: 'e' | 2 | 10;
}

/**
 * Mean squared logarithmic error: mean over i of (log(1 + y_i) - log(1 + y^_i))^2, natural log by
 * default (`sklearn.metrics.mean_squared_log_error`); base 2 is DeepCas' log2(size + 1) error.
 * Infinity / NaN predictions propagate. Throws a RangeError for values <= -1 or empty input.
 */
export function msle(targets: ArrayLike<number>, predictions: ArrayLike<number>, options: MsleOptions = {}): number {
  checkSameLength('msle', targets, predictions);
  if (targets.length === 0) throw new RangeError('msle: no predictions');
  const scale = options.base === 2 ? Math.LN2 : options.base === 10 ? Math.LN10 : 1;
  let sum = 0;
  for (let i = 0; i < targets.length; i++) {
    if (targets[i] <= -1 || predictions[i] <= -1) throw new RangeError(`msle: value at ${i} is <= -1 (target ${targets[i]}, prediction ${predictions[i]}); log(1 + x) is undefined`);
    const d = (Math.log1p(targets[i]) - Math.log1p(predictions[i])) / scale;
    sum += d * d;
  }
  return sum / targets.length;
}

/**
 * The absolute percentage error an infinite prediction counts with in `mapeCapped`: 10^4, i.e. as
 * if the model had overshot by a factor of about 10^4, the top of the range the GammaCas paper gives
 * for the generative baselines' overestimates (10^3-10^4 on over 20% of cascades, §5, Table 2
 * discussion). A finite prediction's error is never capped.
 */
export const INFINITE_APE_CAP = 1e4;

export interface SizePredictionOptions {
  /** Absolute percentage error (a fraction) an infinite prediction counts with in `mapeCapped` (default {@link INFINITE_APE_CAP}). */
  infiniteErrorCap?: number;
}

/** Everything the macroscopic protocol reports for one horizon. */
export interface SizePredictionMetrics {
  /** Cascades whose target is known (NaN targets, i.e. past the data's end, are left out). */
  evaluated: number;
  /** Cascades skipped because their target is NaN. */
  missingTargets: number;
  /** Predictions that are +Infinity (e.g. a supercritical Hawkes or SEISMIC fit). */
  infinitePredictions: number;
  /** Predictions that are NaN or -Infinity (a failed fit): left out of every number below. */
  invalidPredictions: number;
  /** MAPE (fraction) over the finite predictions. */
  mape: number;
  /** MAPE with the authors' code convention (epsilon 0.001, percent) over the finite predictions. */
  mapePercent: number;
  /** MAPE (fraction) over all valid predictions: Infinity as soon as one prediction is infinite. */
  mapeWithInfinite: number;
  /** MAPE (fraction) over all valid predictions, an infinite one counted with error `infiniteErrorCap`. */
  mapeCapped: number;
  /** MSLE (natural log) over the finite predictions. */
  msle: number;
  /** Kendall's tau-b over all valid predictions (+Infinity ranks above every finite size). */
  kendallTau: number;
  /** Spearman's rho over all valid predictions (+Infinity ranks above every finite size). */
  spearmanRho: number;
}

/**
 * The macroscopic protocol's numbers for one horizon, with the handling of non-finite predictions
 * the GammaCas paper's tables imply. The paper reports finite MAPE for the generative baselines
 * (Hawkes, SEISMIC, TiDeH) and explains their high MAPE by finite overestimates of 10^3-10^4 in more
 * than 20% of the cascades (§5, discussion of Table 2), so (1) huge finite predictions count in full,
 * and (2) an infinite prediction, which would make any mean infinite, cannot have been part of the
 * reported MAPE: MAPE and MSLE are therefore over the finite predictions, and the number of infinite
 * ones is reported next to them (`infinitePredictions`, to be shown with the MAPE), never silently
 * dropped; `mapeWithInfinite` gives the strict value, and `mapeCapped` counts each infinite
 * prediction with the error `options.infiniteErrorCap` ({@link INFINITE_APE_CAP} by default). Rank correlations need no exclusion: an
 * infinite size ranks above all finite ones (ties among infinities), as scipy ranks it.
 * NaN and -Infinity predictions are a model failure: they are counted in `invalidPredictions` and
 * left out of everything. Targets that are NaN (horizon past the data) are skipped and counted.
 * When no finite prediction is left, the error metrics are NaN.
 */
export function sizePredictionMetrics(targets: ArrayLike<number>, predictions: ArrayLike<number>, options: SizePredictionOptions = {}): SizePredictionMetrics {
  checkSameLength('sizePredictionMetrics', targets, predictions);
  const cap = options.infiniteErrorCap ?? INFINITE_APE_CAP;
  if (!(cap >= 0) || !Number.isFinite(cap)) throw new RangeError(`sizePredictionMetrics: infiniteErrorCap must be a finite non-negative number, got ${cap}`);
  const validT: number[] = [];
  const validP: number[] = [];
  const finiteT: number[] = [];
  const finiteP: number[] = [];
  let missingTargets = 0;
  let infinitePredictions = 0;
  let invalidPredictions = 0;
  for (let i = 0; i < targets.length; i++) {
    const y = targets[i];
    const p = predictions[i];
    if (Number.isNaN(y)) {
      missingTargets++;
      continue;
    }
    if (!Number.isFinite(y)) throw new RangeError(`sizePredictionMetrics: target ${y} at ${i} is not a size`);
    if (Number.isNaN(p) || p === -Infinity) {
      invalidPredictions++;
      continue;
    }
    validT.push(y);
    validP.push(p);
    if (p === Infinity) infinitePredictions++;
    else {
      finiteT.push(y);
      finiteP.push(p);
    }
  }
  const anyFinite = finiteT.length > 0;
  // Finite errors in full, each infinite prediction with the cap.
  const finiteMape = anyFinite ? mape(finiteT, finiteP, MAPE_FRACTION) : 0;
  const mapeCapped = validT.length > 0 ? (finiteMape * finiteT.length + cap * infinitePredictions) / validT.length : NaN;
  return {
    evaluated: validT.length + invalidPredictions,
    missingTargets,
    infinitePredictions,
    invalidPredictions,
    mape: anyFinite ? mape(finiteT, finiteP, MAPE_FRACTION) : NaN,
    mapePercent: anyFinite ? mape(finiteT, finiteP, MAPE_AUTHORS_CODE) : NaN,
    mapeWithInfinite: validT.length > 0 ? mape(validT, validP, MAPE_FRACTION) : NaN,
    mapeCapped,
    msle: anyFinite ? msle(finiteT, finiteP) : NaN,
    kendallTau: kendallTau(validT, validP),
    spearmanRho: spearmanRho(validT, validP),
  };
}
