// The evaluation protocols (NDM §5.3 harness included) are in @cascade-lab/evaluation.

// Engines as InfectionSimulators, and the worker pool
export { IndependentCascadeSimulator, ContinuousTimeSimulator, SequentialSampler } from './simulators.js';
export type { SimulatorOptions, SequentialSamplerOptions } from './simulators.js';
export { SimulationPool, simulationPoolFor } from './pool.js';
export { moduleWorker, type ModuleWorkerOptions } from './module-worker.js';
export { RateNetworkModel, rateNetworkFormat } from './rate-network-model.js';
export type { NetworkSettings, RateNetworkOptions, SavedRateNetwork } from './rate-network-model.js';
export type { SimulationPoolOptions } from './pool.js';
export type { NextUserModelModule } from './tasks.js';

// Engines, lower level
export { transmissionGraph, edgeWeight } from './graph.js';
export type { TransmissionGraph, TransmissionGraphOptions } from './graph.js';
export { simulateIndependentCascade, IndependentCascadeScratch, conditionalDelay, WITHIN_STEP_ORDERS } from './independent-cascade.js';
export type { WithinStepOrder } from './independent-cascade.js';
export { simulateContinuousTime, ContinuousTimeScratch, sampleDelay, unitCumulativeHazard, unitHazard, delayKindIndex, DELAY_DISTRIBUTIONS } from './continuous-time.js';
export type { ContinuousTimeNetwork, DelayDistribution } from './continuous-time.js';
export { sampleSequences, defaultMaxBatch } from './sequential.js';
export type { NextUserModel, ScoreKind, EndUserPolicy, SequentialSamplingOptions } from './sequential.js';
export { simulationStream } from './streams.js';
export { sampleWalks, sampleWalksOfGraphs, startNodes, transitionTable, WALK_END, DEFAULT_WALK_OPTIONS } from './random-walks.js';
export type { WalkGraph, WalkOptions, TransitionRule, TransitionTable } from './random-walks.js';
export { PrefixSharingSampler, drawFromWeights, type PrefixStepper, type PrefixSharingOptions } from './prefix-sharing.js';

// Baseline next-user model
export { createPopularityModel, popularityCounts, popularityModelModule } from './popularity.js';
export type { PopularityModelOptions } from './popularity.js';

// Synthetic data with a known ground truth
export { generateIcCascades, syntheticMicroscopicDataset, syntheticVocabulary } from './synthetic/ic-cascades.js';
export type { SyntheticIcOptions, SyntheticIcData } from './synthetic/ic-cascades.js';
export { generateTimeVaryingCascades, rateAt } from './synthetic/time-varying.js';
export type { TimeVaryingOptions, TimeVaryingData, TimeVaryingEdge, RatePattern } from './synthetic/time-varying.js';
export { generateHawkesCascade, generateHawkesCascades, hawkesBranchingFactor } from './synthetic/hawkes.js';
export type { HawkesCascadeOptions } from './synthetic/hawkes.js';
export { generateContentCascades, tokenNovelty, expectedSize, STREAM_EPOCH_SECONDS } from './synthetic/content-cascades.js';
export type { ContentCascadeOptions, ContentCascadeTruth, ContentCascadeData } from './synthetic/content-cascades.js';
export { gammaGrowthIntegral, regularizedLowerGamma, logGamma, expectedFollowerPower } from './synthetic/distributions.js';
export { twitterSizedCascades, twitterSizedDataset, cascadeLengthStats, edgesShownInOrder, TWITTER_SIZED_DEFAULTS } from './synthetic/twitter-sized.js';
export type { TwitterSizedOptions, TwitterSizedData } from './synthetic/twitter-sized.js';
