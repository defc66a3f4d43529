import type { Logger } from '@cascade-lab/core';
import { TrackingError } from '../errors.js';

export interface OutageOptions {
  /**
   * A call that keeps failing with connection errors or 5xx answers for this long declares the
   * server down (ms; default 10000). 0: the first such failure does (fail-fast).
   */
  declareAfterMs: number;
  /** First wait of the background probe once the server is down (ms; default 1000). */
  probeInitialMs: number;
  /** Longest wait between probes (ms; default 30000); the wait doubles up to it. */
  probeMaxMs: number;
  /** The tracker errors instead of keeping data locally (`tracking.failFast`): only changes the message. */
  failFast?: boolean;
}

export const DEFAULT_OUTAGE_OPTIONS: OutageOptions = { declareAfterMs: 10_000, probeInitialMs: 1000, probeMaxMs: 30_000 };

/** `1.5 s`, `30 s`: waits as a user reads them. */
export const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;

/**
 * One MLflow server's reachability, shared by every call and every run of a client. Once a call
 * has failed for `declareAfterMs`, the server is "down": calls fail at once (runs spill to the
 * local store instead of each waiting through its own backoff), waits in progress are cut short,
 * and a background probe (doubling from `probeInitialMs` to `probeMaxMs`) tries the server until
 * it answers, printing a "retrying (attempt k, next in s)" line before each wait.
 */
export class ServerOutage {
  private since?: number;
  private cause?: TrackingError;
  private controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private attempt = 0;
  private closed = false;
  private readonly recoveryListeners = new Set<() => void>();

  constructor(
    private readonly uri: string,
    private readonly probe: () => Promise<void>,
    private readonly logger: Logger,
    readonly options: OutageOptions,
  ) {}

  get down(): boolean {
    return this.since !== undefined;
  }

  /** Aborted when the server is declared down: retries waiting on it stop. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Runs `listener` each time the server answers again after an outage. */
  onRecovery(listener: () => void): () => void {
    this.recoveryListeners.add(listener);
    return () => this.recoveryListeners.delete(listener);
  }

  /** The error a call gets while the server is down (transient: callers buffer or spill). */
  error(endpoint: string): TrackingError {
    const cause = this.cause!;
    return new TrackingError(`MLflow ${endpoint}: ${this.uri} unreachable since ${new Date(this.since!).toISOString()} (${cause.message})`, {
      networkCode: cause.networkCode ?? 'ERR_NETWORK',
      httpStatus: cause.httpStatus,
      endpoint,
      hint: 'is the MLflow server running? check MLFLOW_TRACKING_URI; runs keep their data in the local store until it answers, `cascade mlflow sync` uploads it later',
      cause,
    });
  }

  /** Marks the server down (once) and starts the background probe. */
  declare(cause: TrackingError): void {
    if (this.down || this.closed) return;
    this.since = Date.now();
    this.cause = cause;
    this.attempt = 0;
    this.controller.abort(cause);
    this.logger.warn(
      `MLflow unreachable at ${this.uri} (${cause.message}); ${this.options.failFast ? 'calls fail at once until it answers (tracking.failFast)' : 'until it answers, runs keep their data locally instead of waiting'}`,
    );
    this.schedule();
  }

  /** Tries the server once now (e.g. before a run ends); true when it answers. */
  async checkNow(): Promise<boolean> {
    if (!this.down) return true;
    try {
      await this.probe();
    } catch {
      return false;
    }
    this.recover();
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.closed) return;
    const delay = Math.min(this.options.probeMaxMs, this.options.probeInitialMs * 2 ** this.attempt);
    this.attempt++;
    this.logger.warn(`MLflow at ${this.uri} unreachable: retrying (attempt ${this.attempt}, next in ${seconds(delay)})`);
    this.timer = setTimeout(() => void this.probeOnce(), delay);
    // The probe never keeps the process alive on its own.
    this.timer.unref();
  }

  private async probeOnce(): Promise<void> {
    if (!this.down || this.closed) return;
    try {
      await this.probe();
    } catch {
      this.schedule();
      return;
    }
    this.recover();
  }

  private recover(): void {
    if (!this.down) return;
    const downMs = Date.now() - this.since!;
    this.since = undefined;
    this.cause = undefined;
    this.controller = new AbortController();
    if (this.timer) clearTimeout(this.timer);
    this.logger.info(`MLflow at ${this.uri} reachable again after ${seconds(downMs)}; buffered data is being sent`);
    for (const listener of this.recoveryListeners) listener();
  }
}
