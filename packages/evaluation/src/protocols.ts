/**
 * The task protocols as the experiment runner (and any script) calls them on a trained model: the
 * test split of a dataset in, flat metrics under catalogue keys, per-cascade rows, curves and a
 * console summary out. Model selection on a validation split uses monitors.ts instead.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Cascade, ExecutionSettings, MacroscopicDataset, MacroscopicModel, MicroscopicDataset, MicroscopicModel, ProgressReporter, Rng, UserVocabulary } from '@cascade-lab/core';
import { macroscopicMetricValues, macroscopicSeries, microscopicMetricValues, networkMetricValues, rankingMetricValues } from './keys.js';
import { evaluateMacroscopic } from './macroscopic.js';
import type { DiffusionCounts } from '@cascade-lab/metrics';
import { DEFAULT_RANKING_KS, nextUserRanks, rankingFromRanks, simulateMicroscopicRows, summarizeMicroscopic } from './microscopic.js';
import { evaluateEdgeScores, hasEdgeScores, type NetworkEvaluation } from './network.js';

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
 *
 * It is the one-shard case of the sharded protocol: `runMicroscopicShard` over the whole split, then
 * `mergeMicroscopicShards`, so a sharded evaluation and this one share every line of arithmetic.
 */
export async function runMicroscopicProtocol(model: MicroscopicModel, data: MicroscopicDataset, settings: ProtocolSettings, ctx: ProtocolContext): Promise<EvaluationOutcome> {
  const started = performance.now();
  const shard = await runMicroscopicShard(model, data, settings, ctx, { shard: 0, shards: 1 });
  const network = await microscopicNetworkEvaluation(model, data);
  return mergeMicroscopicShards([shard], settings, { network, seconds: (performance.now() - started) / 1000 });
}

/** Shard `shard` (0-based) of `shards` of a protocol run. */
export interface ShardSpec {
  shard: number;
  shards: number;
  /**
   * Its test cascades [start, end), when not `shardRange`'s: consecutive ranges that cover the test
   * split once (`workBalancedRanges`). Rows are per cascade, so any such split merges to the same numbers.
   */
  range?: { start: number; end: number };
}

/** A cascade's distinct users: the weight of its simulation work in the cuts below. */
function distinctUsers(c: Cascade): number {
  return new Set(c.events.map((e) => e.user)).size;
}

/**
 * N consecutive ranges of `cascades` with about equal simulation work each (issue 22: a shard is as
 * slow as its work, and the evaluation as its slowest shard): cascade c weighs its |G_c| (the
 * simulation budget: every simulation step of the NDM-style samplers costs about the same at these
 * lengths, and the simulations of a cascade run at most |G_c| steps) plus one (its next-user
 * ranking and bookkeeping); a cascade goes to range k while the running weight at its middle is
 * below k/N of the total. Cut points only, so the rows, and the merged numbers, are the one-range ones.
 */
export function workBalancedRanges(cascades: readonly Cascade[], shards: number): { start: number; end: number }[] {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  const weights = cascades.map(distinctUsers);
  const total = weights.reduce((a, w) => a + w, 0);
  const ranges: { start: number; end: number }[] = [];
  let start = 0;
  let running = 0;
  let i = 0;
  for (let k = 1; k <= shards; k++) {
    const goal = (k * total) / shards;
    while (i < cascades.length && (k === shards || running + weights[i] / 2 < goal)) running += weights[i++];
    ranges.push({ start, end: i });
    start = i;
  }
  return ranges;
}

/**
 * Pieces of the test split per process when several processes share an evaluation. The processes
 * claim them one at a time (`pieceOrder`, `claimPiece`), so the evaluation ends within about one
 * piece of perfect balance whatever the real cost of each cascade (the cut
 * estimates it by distinct users; attention grows with the prefix, so long cascades cost more per
 * user than the estimate says: two fixed halves of Memetracker's test split ended 2.5-4 s apart in
 * 31-35 s, and those of the Twitter-sized set 520 s apart in 41 minutes).
 */
export const PIECES_PER_PROCESS = 16;

/**
 * The order in which evaluation processes claim the pieces of a cut (`ranges`, e.g.
 * `workBalancedRanges`): the piece holding the largest cascade (distinct users) first, since its
 * most expensive cascade decides how late a piece can end; ties in test order. Scheduling only:
 * rows are merged in test order whoever ran them.
 */
export function pieceOrder(cascades: readonly Cascade[], ranges: readonly { start: number; end: number }[]): number[] {
  const largest = ranges.map(({ start, end }) => {
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, distinctUsers(cascades[i]));
    return m;
  });
  return ranges.map((_, k) => k).sort((a, b) => largest[b] - largest[a] || a - b);
}

/**
 * Claims piece `k` of an evaluation split between processes, by creating the file named `k` in
 * `claimDir` exclusively (O_EXCL: of processes racing for it exactly one succeeds): whether this
 * process got it.
 */
export function claimPiece(claimDir: string, k: number): boolean {
  try {
    closeSync(openSync(join(claimDir, String(k)), 'wx'));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/**
 * The test cascades of shard k of N among n: indices [floor(k n / N), floor((k + 1) n / N)),
 * consecutive ranges that cover 0..n-1 once and differ in size by at most one.
 */
export function shardRange(n: number, { shard, shards }: ShardSpec): { start: number; end: number } {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  if (!Number.isInteger(shard) || shard < 0 || shard >= shards) throw new RangeError(`shard must be an integer in [0, ${shards}), got ${shard}`);
  return { start: Math.floor((shard * n) / shards), end: Math.floor(((shard + 1) * n) / shards) };
}

/** One evaluated cascade of a shard: its counts (for the F1s over cascades) and its predictions row. */
export interface MicroscopicShardRow {
  /** Index in the test split (after `maxTestCascades`). */
  index: number;
  full: DiffusionCounts;
  early: DiffusionCounts;
  /** The cascade's line of `predictions.jsonl`. */
  prediction: Record<string, unknown>;
}

/**
 * A shard's part of the microscopic protocol: plain JSON (numbers, strings, arrays), so it can go
 * through a job queue and come back with every double exact (JSON keeps the shortest decimal that
 * reads back to the same double).
 */
export interface MicroscopicShardResult {
  shard: number;
  shards: number;
  /** Test cascades [start, end) of `testCascades`. */
  start: number;
  end: number;
  testCascades: number;
  simulations: number;
  earlyStageSize: number;
  rows: MicroscopicShardRow[];
  skipped: { index: number; id: string; reason: string }[];
  /** Ranks of the true next users of the shard's cascades, in order; null when the model scores no next users. */
  ranks: number[] | null;
  /** Wall-clock seconds of the shard. */
  seconds: number;
}

/**
 * Shard k of N of the microscopic protocol: the simulations (and next-user ranks) of the test
 * cascades `shardRange(n, spec)`. `ctx.rng` must be the evaluation's generator, the same for every
 * shard: cascade i draws from `rng.derive('simulation').derive('cascade:<i>')` whatever the shard.
 * Edge scores are not per cascade; the caller scores them once (`microscopicNetworkEvaluation`).
 */
export async function runMicroscopicShard(model: MicroscopicModel, data: MicroscopicDataset, settings: ProtocolSettings, ctx: ProtocolContext, spec: ShardSpec): Promise<MicroscopicShardResult> {
  const started = performance.now();
  const test = settings.maxTestCascades ? data.test.slice(0, settings.maxTestCascades) : data.test;
  const { start, end } = spec.range ?? shardRange(test.length, spec);
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= test.length)) throw new RangeError(`shard range [${start}, ${end}) is not inside the ${test.length} test cascades`);
  const ev = await simulateMicroscopicRows(model, test, {
    rng: ctx.rng.derive('simulation'),
    simulations: settings.simulations,
    earlyStageSize: settings.earlyStageUsers,
    progress: ctx.progress,
    signal: ctx.signal,
    start,
    end,
  });
  const ranks = model.nextUserScores ? await nextUserRanks(model, test.slice(start, end), { progress: ctx.progress, signal: ctx.signal }) : null;
  const rows = ev.cascades.map((c, i) => ({
    index: c.index,
    full: { hitMass: c.full.hitMass, predictedMass: c.full.predictedMass, truthSize: c.full.truthSize },
    early: { hitMass: c.early.hitMass, predictedMass: c.early.predictedMass, truthSize: c.early.truthSize },
    prediction: {
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
    },
  }));
  return { shard: spec.shard, shards: spec.shards, start, end, testCascades: test.length, simulations: ev.simulations, earlyStageSize: ev.earlyStageSize, rows, skipped: ev.skipped, ranks, seconds: (performance.now() - started) / 1000 };
}

/** Edge scores against the dataset's graph, when the model has them and the dataset a graph (else undefined). */
export async function microscopicNetworkEvaluation(model: MicroscopicModel, data: MicroscopicDataset): Promise<NetworkEvaluation | undefined> {
  return hasEdgeScores(model) && data.graph ? evaluateEdgeScores(model, data.graph) : undefined;
}

/**
 * The protocol's outcome from the results of all N shards (any order): rows concatenated in test
 * order, then the F1s over cascades (`summarizeMicroscopic`) and hits@k / MAP@k over every rank,
 * exactly as a local evaluation computes them, so the metrics are identical to the last digit
 * (`evaluation.seconds`, a wall time, aside). `extras.network`: the edge scores, scored once by the
 * caller; `extras.seconds`: the evaluation's wall time; `extras.processSeconds`: when processes each
 * ran several of the shards, their seconds (the summary names the longest process, not shard).
 */
export function mergeMicroscopicShards(
  shards: readonly MicroscopicShardResult[],
  settings: ProtocolSettings,
  extras: { network?: NetworkEvaluation; seconds: number; processSeconds?: readonly number[] },
): EvaluationOutcome {
  if (shards.length === 0) throw new RangeError('mergeMicroscopicShards: no shard results');
  const sorted = [...shards].sort((a, b) => a.shard - b.shard);
  const { shards: count, testCascades, simulations, earlyStageSize } = sorted[0];
  const problem = sorted.length !== count
    ? `${sorted.length} shard results for ${count} shards`
    : // Consecutive ranges covering the test split once (shardRange's or any other cut points).
      sorted.find((s, k) => s.shard !== k || s.shards !== count || s.testCascades !== testCascades || s.simulations !== simulations || s.earlyStageSize !== earlyStageSize || s.start !== (k === 0 ? 0 : sorted[k - 1].end) || s.end < s.start) ||
        sorted[sorted.length - 1].end !== testCascades
      ? 'the shard results are not the shards of one evaluation (a shard twice or missing, or another split, simulation count or test set)'
      : undefined;
  if (problem) throw new RangeError(`mergeMicroscopicShards: ${problem}`);
  const rows = sorted.flatMap((s) => s.rows);
  const skipped = sorted.flatMap((s) => s.skipped);
  if (rows.length === 0) throw new RangeError('evaluateMicroscopic: no test cascade has a user to predict after its seed');
  const summary = summarizeMicroscopic(rows);
  const metrics = microscopicMetricValues({ ...summary, cascades: rows, skipped, simulations });
  // Shards run by processes that took several of them (local pieces): the longest process.
  const perProcess = extras.processSeconds;
  const seconds = perProcess ? Math.max(0, ...perProcess) : sorted.reduce((m, s) => Math.max(m, s.seconds), 0);
  const parts = perProcess ? perProcess.length : count;
  const lines = [
    `Macro-F1 ${summary.macroF1.toFixed(4)}  Micro-F1 ${summary.microF1.toFixed(4)}  early Macro-F1 ${summary.earlyMacroF1.toFixed(4)}  early Micro-F1 ${summary.earlyMicroF1.toFixed(4)}` +
      `  (${rows.length} test cascades x ${simulations} simulations, ${seconds.toFixed(1)} s${parts > 1 ? ` in the longest of ${parts} ${perProcess ? 'processes' : 'shards'}` : ''})` +
      (skipped.length ? ` (${skipped.length} test cascades skipped: ${skipped[0].reason})` : ''),
  ];
  const ranks = sorted.every((s) => s.ranks !== null) ? sorted.flatMap((s) => s.ranks!) : [];
  if (ranks.length > 0) {
    const ranking = rankingFromRanks(ranks, settings.rankingK ?? DEFAULT_RANKING_KS);
    Object.assign(metrics, rankingMetricValues(ranking));
    lines.push(`next-user ranking: ${ranking.byK.map((r) => `hits@${r.k} ${r.hits.toFixed(4)}  MAP@${r.k} ${r.map.toFixed(4)}`).join('  ')}`);
  }
  const net = extras.network;
  if (net) {
    Object.assign(metrics, networkMetricValues(net));
    for (const s of net.sets) {
      lines.push(`edge scores "${s.name}" against the dataset's graph (${net.trueEdges} edges): precision@${net.trueEdges} ${fmt(s.precisionAtTrueEdges)}  AUC ${fmt(s.auc)}  closest-user accuracy ${fmt(s.closestUserAccuracy)} (${net.users} users)`);
    }
  }
  metrics['evaluation.seconds'] = extras.seconds;
  return { metrics, series: [], predictions: rows.map((r) => r.prediction), summary: lines.join('\n') };
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
