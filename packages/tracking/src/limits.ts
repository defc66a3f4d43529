/**
 * The MLflow server's limits (mlflow/utils/validation.py, MLflow 3.x). Values over a length limit
 * are silently truncated by the server, so the client shortens them itself, with a hash suffix.
 */
export const MLFLOW_LIMITS = {
  /** Characters (Unicode code points) in a param value. */
  paramValueLength: 6000,
  /** Characters in a tag value. */
  tagValueLength: 8000,
  /** Characters in a param, metric or tag key. */
  keyLength: 250,
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  /** Metrics + params + tags in one log-batch request. */
  entitiesPerBatch: 1000,
  /** Bytes of one log-batch request body. */
  batchBytes: 1_000_000,
} as const;

/** The limits `splitLogBatch` respects (MLflow's by default; tests use smaller ones). */
export type BatchLimits = Record<'metricsPerBatch' | 'paramsPerBatch' | 'tagsPerBatch' | 'entitiesPerBatch' | 'batchBytes', number>;
