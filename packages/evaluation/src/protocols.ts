/**
 * The task protocols as the experiment runner (and any script) calls them on a trained model: the
 * test split of a dataset in, flat metrics under catalogue keys, per-cascade rows, curves and a
 * console summary out. Model selection on a validation split uses monitors.ts instead.
 */
import type { ExecutionSettings, MacroscopicDataset, MacroscopicModel, MicroscopicDataset, MicroscopicModel, ProgressReporter, Rng, UserVocabulary } from '@cascade-lab/core';
import { macroscopicMetricValues, macroscopicSeries, microscopicMetricValues, networkMetricValues, rankingMetricValues } from './keys.js';
import { evaluateMacroscopic } from './macroscopic.js';
import { DEFAULT_RANKING_KS, evaluateMicroscopic, evaluateNextUserRanking } from './microscopic.js';
import { evaluateEdgeScores, hasEdgeScores } from './network.js';

/** The protocols' knobs (the runner's `evaluation` config section). */
export interface ProtocolSettings {
  /** Simulations per test cascade (default 1000, NDM paper §5.3). */
  simulations?: number;
  /** Users of the early stage (default 5, NDM paper Table 3). */
  earlyStageUsers?: number;
  /** Cut-offs of hits@k / MAP@k (default 1, 10, 50, 100). */
  rankingK?: readonly number[];
  /** Evaluate only the first N test cascades (quick runs). */
  maxTestCascades?: number;
  /** Step-wise tau boundaries (macroscopic; default: doubling ranges from the smallest observed size). */
  stepwiseBoundaries?: number[];
  /** Error an infinite size prediction counts with in `mapeCapped` (default `INFINITE_APE_CAP` = 10^4). */
  infiniteErrorCap?: number;
}

export interface ProtocolContext {
  /** The evaluation's generator: simulations draw from `rng.derive('simulation')`, `predict` from `rng.derive('predict')`. */
  rng: Rng;
  progress: ProgressReporter;
  signal: AbortSignal;
  /** Workers and batch rows (the config's `execution` section), passed to `predict`. */
  execution?: ExecutionSettings;
}

/** What a protocol run produces. */
export interface EvaluationOutcome {
  /** Final metrics under catalogue keys (`test.macroF1`, `test.h24.mape`, `evaluation.seconds`, ...). */
  metrics: Record<string, number>;
  /** Curves over a step (MAPE, tau, rho by horizon; step = hours). */
  series: { key: string; step: number; value: number }[];
  /** One JSON-ready object per evaluated cascade (the predictions artifact). */
  predictions: Record<string, unknown>[];
  /** A few lines for the console. */
  summary: string;
  /** Points of the predicted-vs-actual plot (macroscopic). */
  sizePoints?: { actual: number; predicted: number; horizon: string }[];
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

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : String(v);
}

/**
 * The microscopic protocol on the test split (NDM paper §5.3): Macro/Micro-F1, full and early; when
 * the model scores next users, hits@k and MAP@k given the true prefix; when it has `edgeScores()` and
 * the dataset a graph, network recovery and social link prediction against that graph.
 */
export async function runMicroscopicProtocol(model: MicroscopicModel, data: MicroscopicDataset, settings: ProtocolSettings, ctx: ProtocolContext): Promise<EvaluationOutcome> {
  const started = performance.now();
  const test = settings.maxTestCascades ? data.test.slice(0, settings.maxTestCascades) : data.test;
  const ev = await evaluateMicroscopic(model, test, {
    rng: ctx.rng.derive('simulation'),
    simulations: settings.simulations,
    earlyStageSize: settings.earlyStageUsers,
    progress: ctx.progress,
    signal: ctx.signal,
  });
  const metrics = microscopicMetricValues(ev);
  const lines = [
    `Macro-F1 ${ev.macroF1.toFixed(4)}  Micro-F1 ${ev.microF1.toFixed(4)}  early Macro-F1 ${ev.earlyMacroF1.toFixed(4)}  early Micro-F1 ${ev.earlyMicroF1.toFixed(4)}` +
      `  (${ev.cascades.length} test cascades x ${ev.simulations} simulations, ${ev.seconds.toFixed(1)} s)` +
      (ev.skipped.length ? ` (${ev.skipped.length} test cascades skipped: ${ev.skipped[0].reason})` : ''),
  ];
  if (model.nextUserScores && test.some((c) => c.events.length >= 2)) {
    const ks = settings.rankingK ?? DEFAULT_RANKING_KS;
    const ranking = await evaluateNextUserRanking(model, test, { ks, progress: ctx.progress, signal: ctx.signal });
    Object.assign(metrics, rankingMetricValues(ranking));
    lines.push(`next-user ranking: ${ranking.byK.map((r) => `hits@${r.k} ${r.hits.toFixed(4)}  MAP@${r.k} ${r.map.toFixed(4)}`).join('  ')}`);
  }
  if (hasEdgeScores(model) && data.graph) {
    const net = await evaluateEdgeScores(model, data.graph);
    Object.assign(metrics, networkMetricValues(net));
    for (const s of net.sets) {
      lines.push(`edge scores "${s.name}" against the dataset's graph (${net.trueEdges} edges): precision@${net.trueEdges} ${fmt(s.precisionAtTrueEdges)}  AUC ${fmt(s.auc)}  closest-user accuracy ${fmt(s.closestUserAccuracy)} (${net.users} users)`);
    }
  }
  metrics['evaluation.seconds'] = (performance.now() - started) / 1000;
  const predictions = ev.cascades.map((c, i) => ({
    id: c.id,
    seed: rawId(data.users, c.seed),
    truthSize: c.truthSize,
    f1: c.full.f1,
    precision: c.full.precision,
    recall: c.full.recall,
    earlyF1: c.early.f1,
    earlyPrecision: c.early.precision,
    earlyRecall: c.early.recall,
    stoppedEarly: c.stoppedEarly,
    // counts for micro-F1 and the paired tests over cascades (issue 19)
    hitMass: c.full.hitMass,
    predictedMass: c.full.predictedMass,
    earlyHitMass: c.early.hitMass,
    earlyPredictedMass: c.early.predictedMass,
    earlyTruthSize: c.early.truthSize,
    // per-simulation counts: prefixes give the F1 of fewer simulations (see CascadeEvaluation.perSimulation)
    perSimulation: {
      added: Array.from(c.perSimulation.added),
      hits: Array.from(c.perSimulation.hits),
      earlyAdded: Array.from(c.perSimulation.earlyAdded),
      earlyHits: Array.from(c.perSimulation.earlyHits),
    },
    topPredicted: topUsers(ev.infectionProbabilities[i].users, ev.infectionProbabilities[i].probabilities, data.users, 20),
  }));
  return { metrics, series: [], predictions, summary: lines.join('\n') };
}

/**
 * The macroscopic protocol on the test split (GammaCas paper §5): sizes at every horizon of the
 * dataset; per horizon MAPE (finite predictions), MAPE with infinities capped, the number of
 * infinite predictions, Kendall's tau-b, Spearman's rho, step-wise tau and MSLE.
 */
export async function runMacroscopicProtocol(model: MacroscopicModel, data: MacroscopicDataset, settings: ProtocolSettings, ctx: ProtocolContext): Promise<EvaluationOutcome> {
  const test = settings.maxTestCascades ? data.test.slice(0, settings.maxTestCascades) : data.test;
  const ev = await evaluateMacroscopic(model, test, data.horizonsHours, {
    stepwiseBoundaries: settings.stepwiseBoundaries,
    infiniteErrorCap: settings.infiniteErrorCap,
    rng: ctx.rng.derive('predict'),
    execution: ctx.execution,
    progress: ctx.progress,
    signal: ctx.signal,
  });
  const metrics = macroscopicMetricValues(ev);
  metrics['evaluation.seconds'] = ev.seconds;
  const lines = ev.horizons.map(
    (h) =>
      `${String(h.hours).padStart(4)} h  MAPE ${fmt(h.mape)}  tau ${fmt(h.kendallTau)}  rho ${fmt(h.spearmanRho)}  step-tau ${fmt(h.stepwiseTau)}` +
      (h.infinitePredictions ? `  (${h.infinitePredictions} infinite; MAPE with them capped ${fmt(h.mapeCapped)})` : '') +
      (h.invalidPredictions ? `  (${h.invalidPredictions} NaN)` : '') +
      (h.missingTargets ? `  (${h.missingTargets} past the data)` : ''),
  );
  const sizePoints: NonNullable<EvaluationOutcome['sizePoints']> = [];
  ev.horizons.forEach((h, hi) => {
    test.forEach((c, i) => {
      if (!Number.isNaN(c.targets[hi])) sizePoints.push({ actual: c.targets[hi], predicted: ev.predictions[i][hi], horizon: `${h.hours} h` });
    });
  });
  return { metrics, series: macroscopicSeries(ev), predictions: ev.cascades.map(({ index: _index, ...row }) => row), summary: `${test.length} test cascades\n${lines.join('\n')}`, sizePoints };
}
