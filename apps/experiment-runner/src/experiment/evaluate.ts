import type { ExecutionSettings, MacroscopicModel, MicroscopicDataset, MicroscopicModel, MacroscopicDataset, ProgressReporter, Rng, UserVocabulary } from '@cascade-lab/core';
import { geometricBoundaries, sizePredictionMetrics, stepwiseKendallTau } from '@cascade-lab/metrics';
import { evaluateMicroscopic, evaluateNextUserRanking } from '@cascade-lab/simulation';
import type { ExperimentConfig } from './config.js';

/** What the shared protocols produce: flat metrics plus rows for the predictions artifact. */
export interface EvaluationOutcome {
  /** Final metrics, keyed as logged (`test.macroF1`, `test.h24.mape`, ...). */
  metrics: Record<string, number>;
  /** Metrics that are curves over a step (e.g. MAPE per horizon, step = hours). */
  series: { key: string; step: number; value: number }[];
  /** One JSON object per evaluated cascade. */
  predictions: Record<string, unknown>[];
  /** A one-paragraph summary for the console. */
  summary: string;
  /** Points for the predicted-vs-actual plot (macroscopic only). */
  sizePoints?: { actual: number; predicted: number; horizon: string }[];
}

interface EvaluateContext {
  rng: Rng;
  progress: ProgressReporter;
  signal: AbortSignal;
  execution: ExecutionSettings;
}

/**
 * The microscopic protocol (NDM paper §5.3): S simulations per test cascade seeded with its first
 * user, Macro/Micro-F1 over the full and early stage, computed once, in the shared harness. When the
 * model ranks next users, hits@k and MAP@k of the true next user given the true prefix are added.
 */
export async function evaluateMicroscopicRun(model: MicroscopicModel, data: MicroscopicDataset, evaluation: ExperimentConfig['evaluation'], ctx: EvaluateContext): Promise<EvaluationOutcome> {
  const test = evaluation.maxTestCascades ? data.test.slice(0, evaluation.maxTestCascades) : data.test;
  const ev = await evaluateMicroscopic(model, test, {
    rng: ctx.rng.derive('simulation'),
    simulations: evaluation.simulations,
    earlyStageSize: evaluation.earlyStageUsers,
    progress: ctx.progress,
    signal: ctx.signal,
  });
  const metrics: Record<string, number> = {
    'test.macroF1': ev.macroF1,
    'test.microF1': ev.microF1,
    'test.earlyMacroF1': ev.earlyMacroF1,
    'test.earlyMicroF1': ev.earlyMicroF1,
    'test.microPrecision': ev.micro.precision,
    'test.microRecall': ev.micro.recall,
    'test.cascades': ev.cascades.length,
    'test.simulations': ev.simulations,
    'evaluation.seconds': ev.seconds,
  };
  if (model.nextUserScores && test.some((c) => c.events.length >= 2)) {
    const ranking = await evaluateNextUserRanking(model, test, { ks: evaluation.rankingK, progress: ctx.progress, signal: ctx.signal });
    // MLflow keys cannot hold '@': hits@10 is logged as hits_at_10.
    for (const [k, v] of Object.entries(ranking.metrics)) metrics[`test.${k.replace('@', '_at_')}`] = v;
  }
  const predictions = ev.cascades.map((c, i) => ({
    id: c.id,
    seed: rawId(data.users, c.seed),
    truthSize: c.truthSize,
    f1: c.full.f1,
    precision: c.full.precision,
    recall: c.full.recall,
    earlyF1: c.early.f1,
    stoppedEarly: c.stoppedEarly,
    topPredicted: topUsers(ev.infectionProbabilities[i].users, ev.infectionProbabilities[i].probabilities, data.users, 20),
  }));
  const skipped = ev.skipped.length ? ` (${ev.skipped.length} test cascades skipped: ${ev.skipped[0].reason})` : '';
  const summary =
    `Macro-F1 ${ev.macroF1.toFixed(4)}  Micro-F1 ${ev.microF1.toFixed(4)}  early Macro-F1 ${ev.earlyMacroF1.toFixed(4)}  early Micro-F1 ${ev.earlyMicroF1.toFixed(4)}` +
    `  (${ev.cascades.length} test cascades x ${ev.simulations} simulations, ${ev.seconds.toFixed(1)} s)${skipped}` +
    (metrics['test.hits_at_10'] !== undefined ? `\nnext-user ranking: hits@10 ${metrics['test.hits_at_10'].toFixed(4)}  MAP@10 ${metrics['test.map_at_10'].toFixed(4)}` : '');
  return { metrics, series: [], predictions, summary };
}

function rawId(users: UserVocabulary, index: number): string {
  try {
    return users.rawIdOf(index);
  } catch {
    return String(index);
  }
}

function topUsers(users: Int32Array, probabilities: Float64Array, vocab: UserVocabulary, n: number): [string, number][] {
  const order = Array.from(users.keys()).sort((a, b) => probabilities[b] - probabilities[a]).slice(0, n);
  return order.map((i) => [rawId(vocab, users[i]), Number(probabilities[i].toFixed(4))]);
}

/**
 * The macroscopic protocol (GammaCas paper §5): predicted sizes at every horizon of the dataset,
 * scored per horizon with MAPE, Kendall's tau-b, Spearman's rho, step-wise tau and MSLE, with the
 * metrics package's handling of infinite predictions and of targets past the data's end.
 */
export async function evaluateMacroscopicRun(model: MacroscopicModel, data: MacroscopicDataset, evaluation: ExperimentConfig['evaluation'], ctx: EvaluateContext): Promise<EvaluationOutcome> {
  const test = evaluation.maxTestCascades ? data.test.slice(0, evaluation.maxTestCascades) : data.test;
  const horizons = data.horizonsHours;
  const started = Date.now();
  const task = ctx.progress.start('predicting sizes', test.length);
  const predicted = await model.predict(test, horizons, { rng: ctx.rng.derive('predict'), progress: ctx.progress, signal: ctx.signal, execution: ctx.execution });
  task.tick(test.length);
  task.done();
  const metrics: Record<string, number> = { 'test.cascades': test.length };
  const series: EvaluationOutcome['series'] = [];
  const sizePoints: NonNullable<EvaluationOutcome['sizePoints']> = [];
  const minObserved = Math.max(1, Math.min(...test.map((c) => c.observedSize)));
  const boundaries = evaluation.stepwiseBoundaries ?? geometricBoundaries(2 * minObserved, 2, 12);
  const lines: string[] = [];
  horizons.forEach((h, hi) => {
    const targets = Float64Array.from(test, (c) => c.targets[hi]);
    const preds = Float64Array.from(predicted.sizes, (row) => row[hi]);
    const m = sizePredictionMetrics(targets, preds);
    const known = targets.map((t, i) => (Number.isNaN(t) || Number.isNaN(preds[i]) ? NaN : i)).filter((i) => !Number.isNaN(i));
    const stepTau = known.length >= 2 ? stepwiseKendallTau(Array.from(known, (i) => targets[i]), Array.from(known, (i) => preds[i]), boundaries) : NaN;
    const tag = `h${h}`;
    const values: Record<string, number> = {
      mape: m.mape,
      mapePercent: m.mapePercent,
      kendallTau: m.kendallTau,
      spearmanRho: m.spearmanRho,
      stepwiseTau: stepTau,
      msle: m.msle,
      infinitePredictions: m.infinitePredictions,
      missingTargets: m.missingTargets,
    };
    for (const [k, v] of Object.entries(values)) {
      metrics[`test.${tag}.${k}`] = v;
      if (['mape', 'kendallTau', 'spearmanRho'].includes(k)) series.push({ key: `test.${k}_by_horizon`, step: h, value: v });
    }
    lines.push(
      `${String(h).padStart(4)} h  MAPE ${fmt(m.mape)}  tau ${fmt(m.kendallTau)}  rho ${fmt(m.spearmanRho)}  step-tau ${fmt(stepTau)}` +
        (m.infinitePredictions ? `  (${m.infinitePredictions} infinite)` : '') +
        (m.missingTargets ? `  (${m.missingTargets} past the data)` : ''),
    );
    test.forEach((c, i) => {
      if (!Number.isNaN(targets[i])) sizePoints.push({ actual: targets[i], predicted: preds[i], horizon: `${h} h` });
    });
  });
  metrics['evaluation.seconds'] = (Date.now() - started) / 1000;
  const predictions = test.map((c, i) => ({
    id: c.id,
    observedSize: c.observedSize,
    horizonsHours: horizons,
    actual: Array.from(c.targets, (v) => (Number.isNaN(v) ? null : v)),
    predicted: Array.from(predicted.sizes[i], (v) => (Number.isFinite(v) ? v : String(v))),
    ...(predicted.details?.[i] ?? {}),
  }));
  return { metrics, series, predictions, summary: `${test.length} test cascades\n${lines.join('\n')}`, sizePoints };
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : String(v);
}
