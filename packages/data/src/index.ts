// Public API of @cascade-lab/data. See README.md for the tour.

// Loading a dataset in one call, and the config section
export {
  datasetConfigSchema,
  splitConfigSchema,
  windowConfigSchema,
  observationConfigSchema,
  observeCascades,
  parseDatasetConfig,
  loadMicroscopicDataset,
  loadMacroscopicDataset,
  loadDeepCasDataset,
  locateDataset,
  readDatasetSource,
  type DatasetConfig,
  type DatasetConfigInput,
  type LoadOptions,
  type LoadedMicroscopicDataset,
  type LoadedMacroscopicDataset,
  type DeepCasDataset,
  type DatasetLocation,
} from './load.js';

// Registry, cache and downloads
export { REGISTRY, listDatasets, getDataset, entryRoles, type DatasetEntry, type RegistryFile } from './registry.js';
export {
  resolveDataset,
  fetchDataset,
  verifyFolder,
  manualInstructions,
  defaultCacheDir,
  defaultDataDir,
  sha256File,
  DataChecksumError,
  type DatasetStoreOptions,
  type ResolvedDataset,
  type FetchReport,
} from './store.js';

// Formats
export {
  FORMATS,
  DATASET_FORMATS,
  MICROSCOPIC_FORMATS,
  MACROSCOPIC_FORMATS,
  isDatasetFormat,
  readMicroscopicSource,
  readMacroscopicSource,
  locateFiles,
  type DatasetFormat,
  type MicroscopicFormat,
  type MacroscopicFormat,
  type FileRole,
  type FormatInfo,
  type DatasetParts,
  type MicroscopicSource,
  type MacroscopicSource,
  type ReadSourceOptions,
  type MacroReadOptions,
} from './sources.js';
export { ParseReport, TOLERABLE_PROBLEMS, type ParseOptions, type ParseWarning, type ProblemKind } from './parse-util.js';
export { parseNdmCascades, writeNdmCascades, formatNumber, type NdmParseOptions } from './formats/ndm.js';
export { parseInfVaeCascades, writeInfVaeCascades, parseInfVaeGraph, writeInfVaeGraph, nodeVocabulary, infVaeSocialGraph, type InfVaeGraph, type InfVaeParseOptions } from './formats/infvae.js';
export {
  parseNetinfCascades,
  writeNetinfCascades,
  parseInfopathCascades,
  writeInfopathCascades,
  parseNetinfNetwork,
  writeNetinfNetwork,
  parseInfopathNetwork,
  writeInfopathNetwork,
  parseNetinfEdgeInfo,
  snapVocabulary,
  snapSocialGraph,
  type SnapNode,
  type SnapCascadesFile,
  type SnapNetwork,
  type InfopathNetwork,
  type TimeVaryingEdge,
  type NetinfEdgeInfo,
} from './formats/snap.js';
export { parseTideh, writeTideh, parseSeismicCsv, writeSeismicCsv, parseLongCsv, writeLongCsv, type TidehFile } from './formats/retweets.js';
export { parseWeibo, writeWeibo, weiboToMacroCascade, type WeiboCascade, type WeiboPath } from './formats/weibo.js';
export { parseDeepCas, writeDeepCas, type DeepCasCascade, type DeepCasEdge } from './formats/deepcas.js';
export { parseJsonl, writeJsonl, jsonlJsonSchema, jsonlCascadeSchema, jsonlEventSchema, jsonlNewsSchema, type JsonlCascade } from './formats/jsonl.js';
export { unpickle, idx2uFromPickle } from './formats/pickle.js';

// Vocabularies
export { Vocabulary, parseIdx2u, writeIdx2u, WordVocabulary, tokenize, PAD_TOKEN, END_TOKEN, PAD_WORD, UNKNOWN_WORD, type WordVocabularyOptions } from './vocabulary.js';

// Transforms
export { splitDataset, type SplitOptions, type Split } from './splits.js';
export {
  makeSequenceBatches,
  padCascades,
  planBatches,
  makeWindowedBatches,
  stackWindowed,
  type SequenceBatch,
  type BatchPlan,
  type SequenceBatchOptions,
  type WindowedBatch,
  type WindowedBatchOptions,
} from './batching.js';
export {
  windowCascade,
  windowCascades,
  resolveWindow,
  sizeAt,
  retweetsUpTo,
  dataEnd,
  DEFAULT_HORIZONS_HOURS,
  DEFAULT_OBSERVATION_WINDOW_SECONDS,
  DEFAULT_BIN_WIDTH_SECONDS,
  type WindowOptions,
  type WindowCascadeOptions,
  type WindowDatasetOptions,
  type WindowedPart,
  type ResolvedWindow,
} from './windowing.js';
export { weiboCascadeGraph, deepCasCascadeGraph, cascadeGraphUpTo, deepCasWindowed } from './cascade-graph.js';
export { toCsr, neighbours, degree, degrees, hasEdge, transpose, edgeCount, sampleNonEdges, type CsrGraph, type CsrOptions } from './graph.js';

// Statistics
export {
  microscopicStats,
  macroscopicStats,
  deepCasStats,
  sourceStats,
  formatStats,
  distribution,
  quantile,
  log2Histogram,
  type MicroscopicStats,
  type MacroscopicStats,
  type DeepCasStats,
  type DatasetStats,
  type Distribution,
  type StatsContext,
} from './stats.js';
