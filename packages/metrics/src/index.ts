export { diffusionCounts, cascadePrecisionRecallF1, macroF1, microF1, microPrecisionRecallF1 } from './diffusion-f1.js';
export type { InfectionPrediction, DiffusionCounts, PrecisionRecallF1 } from './diffusion-f1.js';
export { targetRank, hitsAtK, mapAtK, rankingMetrics } from './ranking.js';
export { linkPredictionAccuracy, closestUsers, rocAuc, precisionAtK, edgeRecovery } from './link-prediction.js';
export type { LinkDirection, LinkPredictionOptions, EdgeScoreMatrix, EdgeRecovery, EdgeRecoveryOptions } from './link-prediction.js';
export { averageRanks, kendallTau, pearsonR, spearmanRho, sizeBuckets, geometricBoundaries, stepwiseKendallTau } from './correlation.js';
export { mape, msle, sizePredictionMetrics, MAPE_FRACTION, MAPE_AUTHORS_CODE, INFINITE_APE_CAP } from './size-errors.js';
export type { MapeOptions, MsleOptions, SizePredictionMetrics, SizePredictionOptions } from './size-errors.js';
export {
  METRIC_CATALOGUE,
  METRIC_PHASES,
  METRIC_UNITS,
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
export {
  normalCdf,
  normalQuantile,
  quantile,
  intervalFromDistribution,
  bootstrapInterval,
  bootstrapDistribution,
  seedSpread,
  pairedPermutationTest,
} from './resampling.js';
export type { BootstrapMethod, BootstrapOptions, BootstrapInterval, SeedSpread, PairedTestOptions, PairedTestResult } from './resampling.js';
