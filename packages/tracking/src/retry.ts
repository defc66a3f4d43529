import { TRANSIENT_STATUSES } from './errors.js';

/**
 * Retries shaped like MLflow's Python client (urllib3 Retry with backoff and jitter): transient
 * HTTP statuses (408, 429, 500, 502, 503, 504) and connection errors are retried with exponential
 * backoff; a `Retry-After` header, when present, is waited instead of the backoff.
 */
export interface RetryPolicy {
  /** Retries after the first attempt (MLflow's default `MLFLOW_HTTP_REQUEST_MAX_RETRIES` is 7). */
  maxRetries: number;
  /** Backoff before the first retry, ms. */
  initialDelayMs: number;
  /** Growth per retry. */
  backoffFactor: number;
  /** Cap on one backoff, ms. */
  maxDelayMs: number;
  /** Fraction of the delay drawn at random: delay * (1 - jitter * U[0,1)). 0 = no jitter. */
  jitter: number;
  /** Cap on an honoured Retry-After, ms. */
  maxRetryAfterMs: number;
  retryStatuses: ReadonlySet<number>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 7,
  initialDelayMs: 1000,
  backoffFactor: 2,
  maxDelayMs: 60_000,
  jitter: 0.5,
  maxRetryAfterMs: 120_000,
  retryStatuses: TRANSIENT_STATUSES,
};

/** Backoff before retry number `attempt` (0 = the first retry). */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.backoffFactor ** attempt);
  return base * (1 - policy.jitter * random());
}

/**
 * `Retry-After` in ms: either delay-seconds (`120`, `1.5`) or an HTTP date. Undefined when absent
 * or unparsable; a date in the past gives 0.
 */
export function parseRetryAfter(header: string | undefined | null, nowMs: number = Date.now()): number | undefined {
  if (header === undefined || header === null) return undefined;
  const text = String(header).trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

export interface RetryDecision {
  retryable: boolean;
  retryAfterMs?: number;
}

export interface RetryOptions {
  /** Absolute time (ms since the epoch) after which no retry starts. */
  deadline?: number;
  /** Stops waiting between retries. */
  signal?: AbortSignal;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, `classify` says the error is final, retries run out, or the
 * next wait would pass the deadline; then rethrows the last error.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  classify: (error: unknown) => RetryDecision,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<T> {
  const wait = options.sleep ?? sleep;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      const decision = classify(error);
      if (!decision.retryable || n >= policy.maxRetries) throw error;
      const delayMs =
        decision.retryAfterMs !== undefined
          ? Math.min(decision.retryAfterMs, policy.maxRetryAfterMs)
          : backoffDelayMs(policy, n, options.random);
      if (options.deadline !== undefined && Date.now() + delayMs > options.deadline) throw error;
      options.onRetry?.({ attempt: n + 1, delayMs, error });
      await wait(delayMs, options.signal);
    }
  }
}
