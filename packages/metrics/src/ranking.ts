/**
 * Next-user ranking metrics (NDM paper's companion measures, as in the diffusion-prediction
 * literature that ranks the true next user among all users given the true prefix of the cascade).
 */
import { checkPositiveInteger } from './check.js';

/**
 * The 1-based rank of `target` in `scores` (higher score = better). Ties count against the target:
 * rank = 1 + #{v != target : score_v >= score_target}, so a model that scores every user the same
 * gets the worst rank rather than the best. Users masked with -Infinity rank below everyone else.
 * Throws a RangeError when the target's score is NaN or the target is out of range.
 */
export function targetRank(scores: ArrayLike<number>, target: number): number {
  if (!Number.isInteger(target) || target < 0 || target >= scores.length) throw new RangeError(`targetRank: target ${target} is outside the ${scores.length} scores`);
  const s = scores[target];
  if (Number.isNaN(s)) throw new RangeError(`targetRank: the score of target ${target} is NaN`);
  let rank = 1;
  for (let v = 0; v < scores.length; v++) if (v !== target && scores[v] >= s) rank++;
  return rank;
}

function checkRanks(name: string, ranks: ArrayLike<number>): void {
  if (ranks.length === 0) throw new RangeError(`${name}: no ranks`);
  for (let i = 0; i < ranks.length; i++) if (!Number.isInteger(ranks[i]) || ranks[i] < 1) throw new RangeError(`${name}: rank ${ranks[i]} at ${i} is not a positive integer`);
}

/** hits@k: the fraction of predictions whose true next user is ranked within the top k. */
export function hitsAtK(ranks: ArrayLike<number>, k: number): number {
  checkRanks('hitsAtK', ranks);
  checkPositiveInteger('hitsAtK', 'k', k);
  let hits = 0;
  for (let i = 0; i < ranks.length; i++) if (ranks[i] <= k) hits++;
  return hits / ranks.length;
}

/**
 * MAP@k: the mean over predictions of the average precision at k. With exactly one relevant user
 * (the true next one) at rank r, AP@k = 1/r when r <= k and 0 otherwise.
 */
export function mapAtK(ranks: ArrayLike<number>, k: number): number {
  checkRanks('mapAtK', ranks);
  checkPositiveInteger('mapAtK', 'k', k);
  let sum = 0;
  for (let i = 0; i < ranks.length; i++) if (ranks[i] <= k) sum += 1 / ranks[i];
  return sum / ranks.length;
}

/** hits@k and MAP@k for several k at once, keyed `hits@10`, `map@10`, .... */
export function rankingMetrics(ranks: ArrayLike<number>, ks: readonly number[] = [1, 10, 50, 100]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ks) {
    out[`hits@${k}`] = hitsAtK(ranks, k);
    out[`map@${k}`] = mapAtK(ranks, k);
  }
  return out;
}
