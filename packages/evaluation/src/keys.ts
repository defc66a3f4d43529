/**
 * The protocols' results as flat metrics under the catalogue's keys (`@cascade-lab/metrics`,
 * catalogue.ts). Phase `test` gives every key; phase `validation` gives only the metrics the
 * catalogue marks as monitors (a training loop selecting on them), renamed `validation.<name>`.
 */
import { horizonMetricKey, METRIC_CATALOGUE, rankingMetricKey } from '@cascade-lab/metrics';
import type { MacroscopicEvaluation } from './macroscopic.js';
import type { MicroscopicEvaluation, NextUserRankingEvaluation } from './microscopic.js';
import type { NetworkEvaluation } from './network.js';

export type ProtocolPhase = 'test' | 'validation';

function inPhase(values: Record<string, number>, phase: ProtocolPhase): Record<string, number> {
  if (phase === 'test') return values;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) {
    if (METRIC_CATALOGUE.lookup(k)?.monitor) out[`validation.${k.slice('test.'.length)}`] = v;
  }
  return out;
}

/** Macro/Micro-F1 (full and early), micro precision and recall, and the counts (test phase). */
export function microscopicMetricValues(
  ev: Pick<MicroscopicEvaluation, 'macroF1' | 'microF1' | 'earlyMacroF1' | 'earlyMicroF1' | 'micro' | 'earlyMicro' | 'simulations'> & { cascades: readonly unknown[]; skipped: readonly unknown[] },
  phase: ProtocolPhase = 'test'): Record<string, number> {
  return inPhase(
    {
      'test.macroF1': ev.macroF1,
      'test.microF1': ev.microF1,
      'test.earlyMacroF1': ev.earlyMacroF1,
      'test.earlyMicroF1': ev.earlyMicroF1,
      'test.microPrecision': ev.micro.precision,
      'test.microRecall': ev.micro.recall,
      'test.earlyMicroPrecision': ev.earlyMicro.precision,
      'test.earlyMicroRecall': ev.earlyMicro.recall,
      'test.cascades': ev.cascades.length,
      'test.skippedCascades': ev.skipped.length,
      'test.simulations': ev.simulations,
    },
    phase,
  );
}

/** hits@k and MAP@k as `test.hitsAt<k>` / `test.mapAt<k>`. */
export function rankingMetricValues(ev: NextUserRankingEvaluation, phase: ProtocolPhase = 'test'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { k, hits, map } of ev.byK) {
    out[rankingMetricKey(phase, 'hits', k)] = hits;
    out[rankingMetricKey(phase, 'map', k)] = map;
  }
  return out;
}

/** Per horizon: `test.h<hours>.{mape, mapePercent, mapeCapped, kendallTau, spearmanRho, stepwiseTau, msle, infinitePredictions, invalidPredictions, missingTargets}`. */
export function macroscopicMetricValues(ev: Pick<MacroscopicEvaluation, 'horizons'> & { cascades: readonly unknown[] }, phase: ProtocolPhase = 'test'): Record<string, number> {
  const values: Record<string, number> = { 'test.cascades': ev.cascades.length };
  for (const h of ev.horizons) {
    const at = (name: string, v: number) => (values[horizonMetricKey('test', h.hours, name)] = v);
    at('mape', h.mape);
    at('mapePercent', h.mapePercent);
    at('mapeCapped', h.mapeCapped);
    at('kendallTau', h.kendallTau);
    at('spearmanRho', h.spearmanRho);
    at('stepwiseTau', h.stepwiseTau);
    at('msle', h.msle);
    at('infinitePredictions', h.infinitePredictions);
    at('invalidPredictions', h.invalidPredictions);
    at('missingTargets', h.missingTargets);
  }
  return inPhase(values, phase);
}

/** MAPE, Kendall's tau and Spearman's rho as curves over the horizons (step = hours). */
export function macroscopicSeries(ev: Pick<MacroscopicEvaluation, 'horizons'>): { key: string; step: number; value: number }[] {
  return ev.horizons.flatMap((h) => [
    { key: 'test.mapeByHorizon', step: h.hours, value: h.mape },
    { key: 'test.kendallTauByHorizon', step: h.hours, value: h.kendallTau },
    { key: 'test.spearmanRhoByHorizon', step: h.hours, value: h.spearmanRho },
  ]);
}

/** `test.network.<name>.{precisionAtTrueEdges, auc, closestUserAccuracy}`, `test.network.trueEdges`, `test.network.users`. */
export function networkMetricValues(ev: NetworkEvaluation): Record<string, number> {
  const out: Record<string, number> = { 'test.network.trueEdges': ev.trueEdges, 'test.network.users': ev.users };
  for (const s of ev.sets) {
    out[`test.network.${s.name}.precisionAtTrueEdges`] = s.precisionAtTrueEdges;
    out[`test.network.${s.name}.auc`] = s.auc;
    out[`test.network.${s.name}.closestUserAccuracy`] = s.closestUserAccuracy;
  }
  return out;
}
