import { CascadeError } from '@cascade-lab/core';

export interface TrackingErrorOptions {
  /** MLflow's `error_code` from the response body, e.g. `RESOURCE_DOES_NOT_EXIST`. */
  errorCode?: string;
  /** HTTP status of the failed response. */
  httpStatus?: number;
  /** Node/axios network error code (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, ...). */
  networkCode?: string;
  /** `METHOD /path` of the request that failed (never with credentials). */
  endpoint?: string;
  /** Milliseconds the server asked us to wait (`Retry-After`). */
  retryAfterMs?: number;
  hint?: string;
  cause?: unknown;
}

/**
 * Any tracking failure. Exit code 6 through the CLI (`TRACKING`). For MLflow responses it carries
 * the server's `error_code` so callers can branch on it (`err.errorCode === 'RESOURCE_ALREADY_EXISTS'`).
 */
export class TrackingError extends CascadeError {
  readonly errorCode?: string;
  readonly httpStatus?: number;
  readonly networkCode?: string;
  readonly endpoint?: string;
  readonly retryAfterMs?: number;

  constructor(message: string, options: TrackingErrorOptions = {}) {
    super('TRACKING', message, { hint: options.hint, cause: options.cause });
    this.errorCode = options.errorCode;
    this.httpStatus = options.httpStatus;
    this.networkCode = options.networkCode;
    this.endpoint = options.endpoint;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** True when the server could not be reached or answered with a transient status. */
  get transient(): boolean {
    return this.networkCode !== undefined || (this.httpStatus !== undefined && TRANSIENT_STATUSES.has(this.httpStatus));
  }
}

/** The statuses MLflow's own client retries (mlflow/utils/request_utils.py). */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Removes `user:password@` from a URI so it can appear in messages and files. */
export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    if (!u.username && !u.password) return uri;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return uri.replace(/\/\/[^/@]*@/, '//');
  }
}
