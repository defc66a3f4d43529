import type { Logger } from '@cascade-lab/core';
import { TrackingError, redactUri } from './errors.js';
import { LocalStore } from './local/store.js';
import { LocalTracker } from './local/tracker.js';
import { MlflowClient } from './mlflow/client.js';
import { MlflowTracker } from './mlflow/tracker.js';
import type { RetryPolicy } from './retry.js';
import type { Tracker } from './types.js';

export interface CreateTrackerOptions {
  /** Default `$MLFLOW_TRACKING_URI`; unset means the local store. */
  trackingUri?: string;
  /** Local store directory (default `$CASCADE_RUNS_DIR`, else `./runs`); also where MLflow runs spill. */
  runsDir?: string;
  /** Default experiment name (default `$MLFLOW_EXPERIMENT_NAME`, else `cascade-lab`). */
  experiment?: string;
  logger?: Logger;
  retry?: Partial<RetryPolicy>;
  /** Error at once when the server is unreachable instead of keeping runs locally (`tracking.failFast`). */
  failFast?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * The tracker the environment asks for: an MLflow server when `MLFLOW_TRACKING_URI` (or
 * `trackingUri`) is an http(s) URI, credentials from `MLFLOW_TRACKING_USERNAME`/`PASSWORD`/`TOKEN`;
 * otherwise the embedded local store.
 */
export function createTracker(options: CreateTrackerOptions = {}): Tracker {
  const env = options.env ?? process.env;
  const uri = options.trackingUri ?? env.MLFLOW_TRACKING_URI;
  const runsDir = options.runsDir ?? LocalStore.defaultRoot(env);
  if (!uri) return new LocalTracker({ root: runsDir, experiment: options.experiment, logger: options.logger });
  if (!/^https?:\/\//i.test(uri))
    throw new TrackingError(`unsupported tracking URI ${JSON.stringify(redactUri(uri))}: only http(s) MLflow servers are supported`, {
      hint: 'start `mlflow server` and point MLFLOW_TRACKING_URI at it, or unset MLFLOW_TRACKING_URI to use the local store ($CASCADE_RUNS_DIR or ./runs)',
    });
  const client = MlflowClient.fromEnv(env, {
    trackingUri: uri,
    logger: options.logger,
    retry: options.retry,
    ...(options.failFast ? { outage: { declareAfterMs: 0, failFast: true } } : {}),
  });
  return new MlflowTracker({ client, experiment: options.experiment, logger: options.logger, spillStore: new LocalStore(runsDir), failFast: options.failFast });
}
