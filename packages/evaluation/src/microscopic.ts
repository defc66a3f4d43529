/**
 * The microscopic evaluation protocol (NDM paper §5.3, the setting of Embedded IC), the one place
 * it is implemented; a plugin is only ever asked to simulate. (Moved here from
 * `@cascade-lab/simulation`, which keeps the engines, by contract v2.)
 *
 * For each test cascade c = (u_0, u_1, ..., u_m):
 * - G_c = the distinct users infected after u_0, in order (u_0 excluded); a cascade with an empty
 *   G_c has nothing to predict and is skipped (reported in `skipped`), as the NDM code drops
 *   cascades of fewer than 2 users;
 * - the model runs S simulations (default 1000, the paper's number) seeded with u_0 alone, each
 *   adding at most |G_c| users (a simulation may stop earlier: `</s>`, or nobody left to infect);
 * - P_u^c = the fraction of simulations that added u; Macro-F1 and Micro-F1 follow §5.3
 *   (`@cascade-lab/metrics`).
 * Early stage (§5.3, Table 3: "only the first five infected users are predicted"): the prediction is
 * the first min(5, |G_c|) users of the same simulations and the ground truth the first
 * min(5, |G_c|) users of G_c. This is the protocol of the NDM authors' evaluation code: every sample
 * is drawn once with budget |G_c|; the full-stage prediction is its first |G_c| users and the
 * early-stage prediction its first min(5, |G_c|) users. (A simulation with budget 5 would draw the
 * same first 5 users anyway: sampling never looks at the budget.)
 *
 * Randomness: cascade i (its index in `testCascades`) is simulated with the request label
 * `cascade:<i>`, so the model draws it from `rng.derive('cascade:<i>')`, whatever the batching,
 * the number of worker threads or the other cascades.
 */
import {
  CascadeError,
  quietProgress,
  throwIfCancelled,
  type Cascade,
  type InfectionSimulator,
  type MicroscopicModel,
  type ProgressReporter,
  type Rng,
  type SimulationRequest,
  type SimulationResult,
} from '@cascade-lab/core';
import {
  cascadePrecisionRecallF1,
  diffusionCounts,
  macroF1,
  microPrecisionRecallF1,
  hitsAtK,
  mapAtK,
  rankingMetrics,
  targetRank,
  type DiffusionCounts,
  type PrecisionRecallF1,
} from '@cascade-lab/metrics';

export interface MicroscopicEvaluationOptions {
  /** The evaluation's random generator; cascade i uses the stream labelled `cascade:<i>`. */
  rng: Rng;
  /** Simulations per test cascade (default 1000, NDM paper §5.3). */
  simulations?: number;
  /** Users of the early stage (default 5, NDM paper Table 3). */
  earlyStageSize?: number;
  /** Test cascades per `simulate` call (default 32); results do not depend on it. */
  cascadesPerCall?: number;
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

/** P_u^c of one cascade, sparse: users in decreasing probability (ties by index). */
export interface InfectionProbabilities {
  users: Int32Array;
  probabilities: Float64Array;
}

/** One stage (full or early) of one cascade. */
export interface StageEvaluation extends DiffusionCounts, PrecisionRecallF1 {}

/** One test cascade's row (for the predictions artifact). */
export interface CascadeEvaluation {
  /** Index in `testCascades`. */
  index: number;
  id: string;
  seed: number;
  /** |G_c|, the simulation budget. */
  truthSize: number;
  full: StageEvaluation;
  early: StageEvaluation;
  /** Fraction of simulations that stopped before the budget. */
  stoppedEarly: number;
  /**
   * Per-simulation counts, in simulation order: users added by simulation s (`added`), how many of
   * them are in G_c (`hits`), and the same over its first min(earlyStageSize, |G_c|) users against
   * the first users of G_c (`earlyAdded`, `earlyHits`). Since P_u^c = (simulations that added u) / S,
   * sum_{u in G} P_u = sum_s hits_s / S and sum_u P_u = sum_s added_s / S: the first m rows give the
   * counts of an evaluation with m simulations (the simulations are independent and identically
   * distributed), without simulating again (issue 19's F1-against-simulations curve).
   */
  perSimulation: { added: Uint32Array; hits: Uint32Array; earlyAdded: Uint32Array; earlyHits: Uint32Array };
}

/** The whole evaluation: the F1s over cascades and the simulated rows they come from. */
export interface MicroscopicEvaluation extends MicroscopicSummary, MicroscopicRows {
  /** Wall-clock seconds of the evaluation. */
  seconds: number;
}

interface Prepared {
  index: number;
  id: string;
  seed: number;
  /** Infection time of the seed (the request's startTime). */
  startTime: number;
  truth: number[];
}

/** G_c: distinct users after the seed, in infection order. */
function groundTruth(c: Cascade): number[] {
  const seed = c.events[0].user;
  const seen = new Set<number>([seed]);
  const truth: number[] = [];
  for (let i = 1; i < c.events.length; i++) {
    const u = c.events[i].user;
    if (!seen.has(u)) {
      seen.add(u);
      truth.push(u);
    }
  }
  return truth;
}

/** Dense counter over user indices with a list of touched users (no per-cascade allocation of size |U|). */
class UserCounter {
  private counts = new Float64Array(1024);
  private readonly touched: number[] = [];
  add(u: number): void {
    if (u >= this.counts.length) {
      const bigger = new Float64Array(Math.max(u + 1, this.counts.length * 2));
      bigger.set(this.counts);
      this.counts = bigger;
    }
    if (this.counts[u] === 0) this.touched.push(u);
    this.counts[u]++;
  }
  /** The touched users with count / total, most frequent first; resets the counter. */
  drain(total: number): InfectionProbabilities {
    const order = this.touched.slice().sort((a, b) => this.counts[b] - this.counts[a] || a - b);
    const out: InfectionProbabilities = { users: Int32Array.from(order), probabilities: new Float64Array(order.length) };
    for (let i = 0; i < order.length; i++) {
      out.probabilities[i] = this.counts[order[i]] / total;
      this.counts[order[i]] = 0;
    }
    this.touched.length = 0;
    return out;
  }
}

/** Checks a simulator's answer for one request; a malformed row is a plugin bug, never scored. */
function checkResult(res: SimulationResult | undefined, req: SimulationRequest, p: Prepared, stamp: Map<number, number>): void {
  const where = `cascade ${p.id} (test index ${p.index})`;
  if (!res) throw new CascadeError('MODEL', `simulator returned no result for ${where}`);
  if (res.simulations !== req.simulations || res.budget !== req.budget || res.sequences.length !== req.simulations * req.budget) {
    throw new CascadeError('MODEL', `simulator returned ${res.simulations} x ${res.budget} (${res.sequences.length} users) for ${where}, asked for ${req.simulations} x ${req.budget}`);
  }
  const seq = res.sequences;
  for (let s = 0; s < res.simulations; s++) {
    const row = s * res.budget;
    let stopped = false;
    for (let k = 0; k < res.budget; k++) {
      const u = seq[row + k];
      if (u === -1) {
        stopped = true;
        continue;
      }
      const problem = stopped
        ? 'a user after the end of the simulation (-1)'
        : !Number.isInteger(u) || u < 2
          ? `user index ${u}`
          : u === p.seed
            ? `the seed user ${u}`
            : stamp.get(u) === s
              ? `user ${u} twice`
              : undefined;
      if (problem) throw new CascadeError('MODEL', `simulator returned ${problem} in simulation ${s} of ${where}`);
      stamp.set(u, s);
    }
  }
}

/** The simulated rows of some test cascades, before the F1s over cascades (see `simulateMicroscopicRows`). */
export interface MicroscopicRows {
  simulations: number;
  earlyStageSize: number;
  /** Evaluated cascades, in test order. */
  cascades: CascadeEvaluation[];
  /** P_u^c of each evaluated cascade (full stage / early stage), parallel to `cascades`. */
  infectionProbabilities: InfectionProbabilities[];
  earlyInfectionProbabilities: InfectionProbabilities[];
  /** Test cascades left out, and why. */
  skipped: { index: number; id: string; reason: string }[];
  /** Wall-clock seconds of the simulations. */
  seconds: number;
}

/** The F1s over cascades, from the per-cascade counts of the rows. */
export interface MicroscopicSummary {
  macroF1: number;
  microF1: number;
  earlyMacroF1: number;
  earlyMicroF1: number;
  /** Micro precision and recall (full and early stage). */
  micro: PrecisionRecallF1;
  earlyMicro: PrecisionRecallF1;
}

/**
 * Runs the protocol on `testCascades` with `model` (any `InfectionSimulator`: a plugin's trained
 * model, or one of this package's engines). See the module comment for the exact protocol.
 */
export async function evaluateMicroscopic(model: InfectionSimulator, testCascades: readonly Cascade[], options: MicroscopicEvaluationOptions): Promise<MicroscopicEvaluation> {
  const started = performance.now();
  const rows = await simulateMicroscopicRows(model, testCascades, options);
  if (rows.cascades.length === 0) throw new RangeError('evaluateMicroscopic: no test cascade has a user to predict after its seed');
  return { ...summarizeMicroscopic(rows.cascades), ...rows, seconds: (performance.now() - started) / 1000 };
}

/**
 * Macro/Micro-F1, full and early, of evaluated cascades: the means and sums of §5.3 over their
 * counts, in the order given. The one aggregation of the protocol: a local evaluation and the merge
 * of sharded ones (`mergeMicroscopicShards`) both end here, on the same rows in the same order, so
 * they agree to the last digit.
 */
export function summarizeMicroscopic(cascades: readonly { full: DiffusionCounts; early: DiffusionCounts }[]): MicroscopicSummary {
  if (cascades.length === 0) throw new RangeError('summarizeMicroscopic: no evaluated test cascade');
  const fullCounts = cascades.map((c) => c.full);
  const earlyCounts = cascades.map((c) => c.early);
  const micro = microPrecisionRecallF1(fullCounts);
  const earlyMicro = microPrecisionRecallF1(earlyCounts);
  return { macroF1: macroF1(fullCounts), microF1: micro.f1, earlyMacroF1: macroF1(earlyCounts), earlyMicroF1: earlyMicro.f1, micro, earlyMicro };
}

/**
 * The simulations and per-cascade counts of the test cascades whose index in `testCascades` is in
 * [`start`, `end`) (all by default), without the F1s over cascades. Cascade i always draws from
 * `rng.derive('cascade:<i>')` (i its index in the whole `testCascades`), so a row is the same
 * whichever range it is simulated in: the rows of consecutive ranges, concatenated, are the rows
 * of the whole list (evaluation sharding, issue 20). An empty range, or one without a cascade to
 * predict, gives no rows (no error).
 */
export async function simulateMicroscopicRows(
  model: InfectionSimulator,
  testCascades: readonly Cascade[],
  options: MicroscopicEvaluationOptions & { start?: number; end?: number },
): Promise<MicroscopicRows> {
  const started = performance.now();
  const simulations = options.simulations ?? 1000;
  const earlyStageSize = options.earlyStageSize ?? 5;
  const perCall = options.cascadesPerCall ?? 32;
  const start = options.start ?? 0;
  const end = options.end ?? testCascades.length;
  if (!Number.isInteger(simulations) || simulations < 1) throw new RangeError(`evaluateMicroscopic: simulations must be a positive integer, got ${simulations}`);
  if (!Number.isInteger(earlyStageSize) || earlyStageSize < 1) throw new RangeError(`evaluateMicroscopic: earlyStageSize must be a positive integer, got ${earlyStageSize}`);
  if (!Number.isInteger(perCall) || perCall < 1) throw new RangeError(`evaluateMicroscopic: cascadesPerCall must be a positive integer, got ${perCall}`);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > testCascades.length || start > end)
    throw new RangeError(`evaluateMicroscopic: the range [${start}, ${end}) is not inside the ${testCascades.length} test cascades`);
  const signal = options.signal;

  const prepared: Prepared[] = [];
  const skipped: MicroscopicEvaluation['skipped'] = [];
  for (let index = start; index < end; index++) {
    const c = testCascades[index];
    if (c.events.length === 0) {
      skipped.push({ index, id: c.id, reason: 'no events' });
      continue;
    }
    const truth = groundTruth(c);
    if (truth.length === 0) skipped.push({ index, id: c.id, reason: 'no infected user after the seed' });
    else prepared.push({ index, id: c.id, seed: c.events[0].user, startTime: c.events[0].time, truth });
  }

  const cascades: CascadeEvaluation[] = [];
  const probs: InfectionProbabilities[] = [];
  const earlyProbs: InfectionProbabilities[] = [];
  if (prepared.length === 0) return { simulations, earlyStageSize, cascades, infectionProbabilities: probs, earlyInfectionProbabilities: earlyProbs, skipped, seconds: (performance.now() - started) / 1000 };
  const task = (options.progress ?? quietProgress).start(`simulating ${prepared.length} test cascades x ${simulations}`, prepared.length);
  const full = new UserCounter();
  const early = new UserCounter();
  const stamp = new Map<number, number>();
  try {
    for (let b = 0; b < prepared.length; b += perCall) {
      throwIfCancelled(signal);
      const batch = prepared.slice(b, b + perCall);
      const requests: SimulationRequest[] = batch.map((p) => ({ seeds: [p.seed], startTime: p.startTime, budget: p.truth.length, simulations, label: `cascade:${p.index}` }));
      const results = await model.simulate(requests, options.rng, signal);
      if (!Array.isArray(results) || results.length !== requests.length) throw new CascadeError('MODEL', `simulator returned ${Array.isArray(results) ? results.length : 'no'} results for ${requests.length} requests`);
      batch.forEach((p, j) => {
        const res = results[j];
        stamp.clear();
        checkResult(res, requests[j], p, stamp);
        const budget = p.truth.length;
        const earlySize = Math.min(earlyStageSize, budget);
        let stoppedEarly = 0;
        const truthSet = new Set(p.truth);
        const earlyTruthSet = new Set(p.truth.slice(0, earlySize));
        const perSimulation = { added: new Uint32Array(simulations), hits: new Uint32Array(simulations), earlyAdded: new Uint32Array(simulations), earlyHits: new Uint32Array(simulations) };
        for (let s = 0; s < simulations; s++) {
          const row = s * budget;
          let added = 0;
          let hits = 0;
          let earlyHits = 0;
          for (let k = 0; k < budget; k++) {
            const u = res.sequences[row + k];
            if (u < 0) {
              stoppedEarly++;
              break;
            }
            full.add(u);
            added++;
            if (truthSet.has(u)) hits++;
            if (k < earlySize) {
              early.add(u);
              if (earlyTruthSet.has(u)) earlyHits++;
            }
          }
          perSimulation.added[s] = added;
          perSimulation.hits[s] = hits;
          perSimulation.earlyAdded[s] = Math.min(added, earlySize);
          perSimulation.earlyHits[s] = earlyHits;
        }
        const pFull = full.drain(simulations);
        const pEarly = early.drain(simulations);
        const cFull = diffusionCounts({ truth: p.truth, users: pFull.users, infectionProbabilities: pFull.probabilities });
        const cEarly = diffusionCounts({ truth: p.truth.slice(0, earlySize), users: pEarly.users, infectionProbabilities: pEarly.probabilities });
        probs.push(pFull);
        earlyProbs.push(pEarly);
        cascades.push({
          index: p.index,
          id: p.id,
          seed: p.seed,
          truthSize: budget,
          full: { ...cFull, ...cascadePrecisionRecallF1(cFull) },
          early: { ...cEarly, ...cascadePrecisionRecallF1(cEarly) },
          stoppedEarly: stoppedEarly / simulations,
          perSimulation,
        });
      });
      task.tick(batch.length, `macro-F1 so far ${macroF1(cascades.map((c) => c.full)).toFixed(4)}`);
    }
  } finally {
    task.done();
  }
  return { simulations, earlyStageSize, cascades, infectionProbabilities: probs, earlyInfectionProbabilities: earlyProbs, skipped, seconds: (performance.now() - started) / 1000 };
}

/** Cut-offs of hits@k and MAP@k when none are given (as in the NDM reference check). */
export const DEFAULT_RANKING_KS: readonly number[] = [1, 10, 50, 100];

export interface NextUserRankingOptions {
  /** Cut-offs of hits@k and MAP@k (default 1, 10, 50, 100 as in the NDM reference check). */
  ks?: readonly number[];
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

export interface NextUserRankingEvaluation {
  /** `hits@k` and `map@k` for every k (display names; the logged keys are `test.hitsAt<k>`, see keys.ts). */
  metrics: Record<string, number>;
  /** hits@k and MAP@k per k, in the order of `ks`. */
  byK: { k: number; hits: number; map: number }[];
  /** Rank of every true next user (1-based, ties against it), cascade by cascade. */
  ranks: Int32Array;
}

/**
 * Next-user ranking given the true prefix: for each test cascade and each position t >= 1, the rank
 * of the true user u_t among the scores the model gives after u_0..u_{t-1}
 * (`MicroscopicModel.nextUserScores`), then hits@k and MAP@k over all positions
 * (`@cascade-lab/metrics`). Cascades of one user add nothing.
 */
export async function evaluateNextUserRanking(
  model: Pick<MicroscopicModel, 'nextUserScores'>,
  testCascades: readonly Cascade[],
  options: NextUserRankingOptions = {},
): Promise<NextUserRankingEvaluation> {
  const ranks = await nextUserRanks(model, testCascades, options);
  if (ranks.length === 0) throw new RangeError('evaluateNextUserRanking: no test cascade has two users');
  return rankingFromRanks(ranks, options.ks ?? DEFAULT_RANKING_KS);
}

/** hits@k and MAP@k of ranks already computed (`nextUserRanks`), in the order given. */
export function rankingFromRanks(ranks: readonly number[], ks: readonly number[]): NextUserRankingEvaluation {
  return { metrics: rankingMetrics(ranks, ks), byK: ks.map((k) => ({ k, hits: hitsAtK(ranks, k), map: mapAtK(ranks, k) })), ranks: Int32Array.from(ranks) };
}

/**
 * The rank of every true next user of `testCascades` given its true prefix, cascade by cascade
 * (see `evaluateNextUserRanking`); none for cascades of one user. Deterministic, and each cascade's
 * ranks depend on that cascade alone: the ranks of consecutive slices, concatenated, are the ranks
 * of the whole list.
 */
export async function nextUserRanks(model: Pick<MicroscopicModel, 'nextUserScores'>, testCascades: readonly Cascade[], options: Pick<NextUserRankingOptions, 'progress' | 'signal'> = {}): Promise<number[]> {
  const nextUserScores = model.nextUserScores?.bind(model);
  if (!nextUserScores) throw new CascadeError('USAGE', 'this model does not score next users (no nextUserScores), so hits@k and MAP@k cannot be computed');
  const ranks: number[] = [];
  const task = (options.progress ?? quietProgress).start('ranking next users', testCascades.length);
  try {
    for (const c of testCascades) {
      throwIfCancelled(options.signal);
      const users = c.events.map((e) => e.user);
      if (users.length < 2) {
        task.tick();
        continue;
      }
      const rows = await nextUserScores(users);
      if (rows.length !== users.length - 1) throw new CascadeError('MODEL', `nextUserScores returned ${rows.length} rows for cascade ${c.id} of ${users.length} users (expected ${users.length - 1})`);
      rows.forEach((row, t) => {
        try {
          ranks.push(targetRank(row, users[t + 1]));
        } catch (e) {
          throw new CascadeError('MODEL', `nextUserScores, cascade ${c.id}, position ${t + 1}: ${(e as Error).message}`, { cause: e });
        }
      });
      task.tick();
    }
  } finally {
    task.done();
  }
  return ranks;
}
