export type { Tracker, TrackedRun, StartRunOptions, EndStatus, RunStatus, EndOptions, EndResult, MetricPoint, KeyValue } from './types.js';
export { TrackingError, TRANSIENT_STATUSES, redactUri, type TrackingErrorOptions } from './errors.js';
export { MLFLOW_LIMITS, type BatchLimits } from './limits.js';
export {
  flattenConfig,
  prepareParams,
  prepareTags,
  sanitizeKey,
  shortenValue,
  keyProblem,
  codePointLength,
  type PreparedParams,
} from './flatten.js';
export { encodeMetricValue, decodeMetricValue, type EncodedMetricValue } from './encoding.js';
export { splitLogBatch, type BatchChunk, type LogBatchBody, type WireMetric } from './batching.js';
export { DEFAULT_RETRY_POLICY, backoffDelayMs, parseRetryAfter, withRetry, type RetryPolicy } from './retry.js';
export { canonicalJson, configHash, sha256Hex } from './hash.js';
export {
  collectSystemTags,
  gitInfo,
  packageVersions,
  MLFLOW_TAGS,
  CASCADE_TAGS,
  type SystemTagOptions,
  type GitInfo,
} from './system-tags.js';
export { MlflowClient, artifactProxyPath, type MlflowClientOptions, type CallOptions } from './mlflow/client.js';
export type { MlflowExperiment, MlflowRun as MlflowRunRecord, MlflowRunInfo, SearchRunsRequest, SearchRunsPage, ArtifactEntry } from './mlflow/types.js';
export { MlflowTracker, MlflowRun, type MlflowTrackerOptions } from './mlflow/tracker.js';
export { LocalStore, LOCAL_STORE_FORMAT, type LocalRunMeta, type LocalRunSummary, type SyncState, type SyncTarget } from './local/store.js';
export { LocalTracker, LocalRun, type LocalTrackerOptions } from './local/tracker.js';
export { withRun, type RunScopeOptions } from './lifecycle.js';
export { syncLocalRuns, runOwnerAlive, type SyncOptions, type SyncRunReport, type SyncAction } from './sync.js';
export { createTracker, type CreateTrackerOptions } from './factory.js';
export { ServerOutage, DEFAULT_OUTAGE_OPTIONS, type OutageOptions } from './mlflow/outage.js';
export { ensureDir } from './dirs.js';
