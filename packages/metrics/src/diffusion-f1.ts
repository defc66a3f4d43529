/**
 * Macro-F1 and Micro-F1 of diffusion prediction from infection probabilities (NDM paper §5.3, the
 * setting of Embedded IC): for a test cascade c = (u_0, u_1, ...) only u_0 is given, G_c is the set
 * of users infected after it, and a model's Monte-Carlo simulations give each user u the infection
 * probability P_u^c (the fraction of simulations in which u was predicted).
 */
import { checkSameLength } from './check.js';

/** A cascade's ground truth and its sparse infection probabilities. */
export interface InfectionPrediction {
  /** G_c: the users to predict, distinct (the seed u_0 excluded). Must not be empty. */
  truth: ArrayLike<number>;
  /** Users u with P_u^c > 0 (listing a user with 0 is allowed), distinct. */
  users: ArrayLike<number>;
  /** P_u^c for `users[i]`, each in [0, 1]. */
  infectionProbabilities: ArrayLike<number>;
}

/** The three sums that precision and recall of one cascade are made of. */
export interface DiffusionCounts {
  /** sum over u in G_c of P_u^c. */
  hitMass: number;
  /** sum over all users u of P_u^c (the expected number of predicted users). */
  predictedMass: number;
  /** |G_c|. */
  truthSize: number;
}

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

/**
 * The sums of one cascade (NDM paper §5.3): `hitMass` = sum_{u in G_c} P_u^c,
 * `predictedMass` = sum_{u in U} P_u^c, `truthSize` = |G_c|.
 *
 * Throws a RangeError on an empty G_c (a cascade of one user has nothing to predict; the evaluation
 * harness drops such cascades, as the NDM code does), on duplicate users, or on a P_u^c outside [0, 1].
 */
export function diffusionCounts(prediction: InfectionPrediction): DiffusionCounts {
  const { truth, users, infectionProbabilities: p } = prediction;
  if (truth.length === 0) throw new RangeError('diffusionCounts: the ground truth G_c is empty; a cascade needs at least one infected user after the seed');
  checkSameLength('diffusionCounts', users, p, 'users', 'infectionProbabilities');
  const truthSet = new Set<number>();
  for (let i = 0; i < truth.length; i++) {
    if (truthSet.has(truth[i])) throw new RangeError(`diffusionCounts: user ${truth[i]} appears twice in the ground truth`);
    truthSet.add(truth[i]);
  }
  const seen = new Set<number>();
  let hitMass = 0;
  let predictedMass = 0;
  for (let i = 0; i < users.length; i++) {
    const u = users[i];
    const pu = p[i];
    if (!(pu >= 0 && pu <= 1)) throw new RangeError(`diffusionCounts: P_u of user ${u} is ${pu}, not a probability`);
    if (seen.has(u)) throw new RangeError(`diffusionCounts: user ${u} is listed twice`);
    seen.add(u);
    predictedMass += pu;
    if (truthSet.has(u)) hitMass += pu;
  }
  return { hitMass, predictedMass, truthSize: truthSet.size };
}

/** F1 from precision and recall; 0 when both are 0. */
function f1Of(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/**
 * Per-cascade precision, recall and F1 (NDM paper §5.3):
 * pre_c = sum_{u in G_c} P_u^c / sum_{u in U} P_u^c, rec_c = sum_{u in G_c} P_u^c / |G_c|,
 * f_c = 2 pre_c rec_c / (pre_c + rec_c).
 * A model that predicts nobody (sum_u P_u^c = 0) has precision 0 by convention (0/0 read as "no
 * correct prediction"), and f_c = 0 whenever pre_c + rec_c = 0.
 */
export function cascadePrecisionRecallF1(counts: DiffusionCounts): PrecisionRecallF1 {
  const precision = counts.predictedMass > 0 ? counts.hitMass / counts.predictedMass : 0;
  const recall = counts.hitMass / counts.truthSize;
  return { precision, recall, f1: f1Of(precision, recall) };
}

function checkNonEmpty(name: string, rows: readonly unknown[]): void {
  if (rows.length === 0) throw new RangeError(`${name}: no test cascades`);
}

/**
 * Macro-F1 (NDM paper §5.3): the average over test cascades of the per-cascade F1 f_c
 * (see {@link cascadePrecisionRecallF1}). Every cascade weighs the same.
 */
export function macroF1(cascades: readonly DiffusionCounts[]): number {
  checkNonEmpty('macroF1', cascades);
  let sum = 0;
  for (const c of cascades) sum += cascadePrecisionRecallF1(c).f1;
  return sum / cascades.length;
}

/**
 * Micro-averaged precision, recall and F1 (NDM paper §5.3): numerators and denominators are summed
 * over cascades first, pre = sum_c sum_{u in G_c} P_u^c / sum_c sum_u P_u^c,
 * rec = sum_c sum_{u in G_c} P_u^c / sum_c |G_c|, Micro-F1 = 2 pre rec / (pre + rec); longer
 * cascades weigh more. Precision is 0 when nothing at all is predicted.
 */
export function microPrecisionRecallF1(cascades: readonly DiffusionCounts[]): PrecisionRecallF1 {
  checkNonEmpty('microF1', cascades);
  let hit = 0;
  let predicted = 0;
  let truth = 0;
  for (const c of cascades) {
    hit += c.hitMass;
    predicted += c.predictedMass;
    truth += c.truthSize;
  }
  return cascadePrecisionRecallF1({ hitMass: hit, predictedMass: predicted, truthSize: truth });
}

/** Micro-F1 (NDM paper §5.3); see {@link microPrecisionRecallF1}. */
export function microF1(cascades: readonly DiffusionCounts[]): number {
  return microPrecisionRecallF1(cascades).f1;
}
