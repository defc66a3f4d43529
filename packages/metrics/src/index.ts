export { diffusionCounts, cascadePrecisionRecallF1, macroF1, microF1, microPrecisionRecallF1 } from './diffusion-f1.js';
export type { InfectionPrediction, DiffusionCounts, PrecisionRecallF1 } from './diffusion-f1.js';
export { targetRank, hitsAtK, mapAtK, rankingMetrics } from './ranking.js';
export { linkPredictionAccuracy, closestUsers } from './link-prediction.js';
export type { LinkDirection, LinkPredictionOptions } from './link-prediction.js';
export { averageRanks, kendallTau, pearsonR, spearmanRho, sizeBuckets, geometricBoundaries, stepwiseKendallTau } from './correlation.js';
export { mape, msle, sizePredictionMetrics, MAPE_FRACTION, MAPE_AUTHORS_CODE } from './size-errors.js';
export type { MapeOptions, MsleOptions, SizePredictionMetrics } from './size-errors.js';
export {
  METRIC_CATALOGUE,
  METRIC_PHASES,
  PROJECT_METRICS,
  MetricCatalogue,
  metricInfo,
  isBetter,
  metricDirection,
  isWellFormedMetricKey,
  horizonSegment,
  horizonMetricKey,
  rankingMetricKey,
  canonicalMetricKey,
} from './catalogue.js';
export type { MetricInfo, MetricDeclaration, ResolvedMetric, MetricPhase, MetricDirection, MetricUnit, MetricTask } from './catalogue.js';
