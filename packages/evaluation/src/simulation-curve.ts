/**
 * F1 against the number of simulations (issue 19): the curve the papers do not draw but users ask
 * for, "is 1000 simulations enough?". It reuses one evaluation's samples: with P_u^c the share of
 * the first m simulations that added u, sum_{u in G} P_u^c = sum_{s < m} hits_s / m and
 * sum_u P_u^c = sum_{s < m} added_s / m, so the per-simulation rows of `CascadeEvaluation` (kept in
 * the predictions artifact) give every prefix m <= S without simulating again.
 */
import { macroF1, microF1, type DiffusionCounts } from '@cascade-lab/metrics';

/** One cascade's per-simulation counts, as in `CascadeEvaluation.perSimulation` (arrays or the artifact's JSON lists). */
export interface PerSimulationCounts {
  truthSize: number;
  /** min(earlyStageSize, |G_c|). */
  earlyTruthSize: number;
  perSimulation: { added: ArrayLike<number>; hits: ArrayLike<number>; earlyAdded: ArrayLike<number>; earlyHits: ArrayLike<number> };
}

export interface SimulationCountPoint {
  simulations: number;
  macroF1: number;
  microF1: number;
  earlyMacroF1: number;
  earlyMicroF1: number;
}

function prefixCounts(hits: ArrayLike<number>, added: ArrayLike<number>, m: number, truthSize: number): DiffusionCounts {
  let h = 0;
  let a = 0;
  for (let s = 0; s < m; s++) {
    h += hits[s];
    a += added[s];
  }
  return { hitMass: h / m, predictedMass: a / m, truthSize };
}

/** The four F1s from the first m simulations of every cascade, for each m in `counts` (each at most the evaluation's S). */
export function simulationCountCurve(cascades: readonly PerSimulationCounts[], counts: readonly number[]): SimulationCountPoint[] {
  if (cascades.length === 0) throw new RangeError('simulationCountCurve: no cascades');
  const available = Math.min(...cascades.map((c) => c.perSimulation.added.length));
  return counts.map((m) => {
    if (!Number.isInteger(m) || m < 1 || m > available) throw new RangeError(`simulationCountCurve: ${m} simulations asked, the evaluation kept ${available}`);
    const full = cascades.map((c) => prefixCounts(c.perSimulation.hits, c.perSimulation.added, m, c.truthSize));
    const early = cascades.map((c) => prefixCounts(c.perSimulation.earlyHits, c.perSimulation.earlyAdded, m, c.earlyTruthSize));
    return { simulations: m, macroF1: macroF1(full), microF1: microF1(full), earlyMacroF1: macroF1(early), earlyMicroF1: microF1(early) };
  });
}
