// Microscopic protocol (NDM paper §5.3) and next-user ranking
export { evaluateMicroscopic, evaluateNextUserRanking, DEFAULT_RANKING_KS, simulateMicroscopicRows, summarizeMicroscopic, nextUserRanks, rankingFromRanks } from './microscopic.js';
export type {
  MicroscopicEvaluation,
  MicroscopicEvaluationOptions,
  MicroscopicRows,
  MicroscopicSummary,
  CascadeEvaluation,
  StageEvaluation,
  InfectionProbabilities,
  NextUserRankingOptions,
  NextUserRankingEvaluation,
} from './microscopic.js';

// Macroscopic protocol (GammaCas paper §5)
export { evaluateMacroscopic, scoreSizePredictions } from './macroscopic.js';
export type { MacroscopicEvaluation, MacroscopicEvaluationOptions, HorizonEvaluation, MacroscopicCascadeRow } from './macroscopic.js';

// Edge scores against a ground-truth graph (network recovery, NDM §5.4 link prediction)
export { evaluateEdgeScores, scoreEdgeSets, hasEdgeScores, edgeScoreMatrix, DEFAULT_EDGE_SCORES_NAME } from './network.js';
export type { EdgeScoring, EdgeScoreEvaluation, NetworkEvaluation } from './network.js';

// Results under the metric catalogue's keys
export { microscopicMetricValues, rankingMetricValues, macroscopicMetricValues, macroscopicSeries, networkMetricValues } from './keys.js';
export type { ProtocolPhase } from './keys.js';

// The protocols on a dataset's test split (the runner), and on a validation split (monitors)
export { runMicroscopicProtocol, runMacroscopicProtocol, runMicroscopicShard, mergeMicroscopicShards, microscopicNetworkEvaluation, shardRange, workBalancedRanges, pieceOrder, claimPiece, PIECES_PER_PROCESS } from './protocols.js';
export type { ProtocolSettings, ProtocolContext, EvaluationOutcome, ShardSpec, MicroscopicShardRow, MicroscopicShardResult } from './protocols.js';
export { simulatedF1, simulatedF1Monitor, SIMULATED_F1_SELECTIONS, nextUserRankingMetrics, sizeErrorMetrics } from './monitors.js';
export type { SimulatedF1Options, SimulatedF1MonitorOptions, SimulatedF1Selection, MonitorSimulator } from './monitors.js';

// The metric-key check of the conformance kit (the Jest wrapper is `@cascade-lab/evaluation/testing`)
export { pluginCatalogue, catalogueOfPlugins, metricKeyProblems, loggedKeys, checkPluginMetricKeys } from './conformance.js';
export type { MetricKeyCheckOptions } from './conformance.js';

export { INFINITE_APE_CAP } from '@cascade-lab/metrics';
export { simulationCountCurve, type PerSimulationCounts, type SimulationCountPoint } from './simulation-curve.js';
