import { CancelledError, silentLogger, type Logger } from '@cascade-lab/core';
import { errorTag } from './run-common.js';
import { CASCADE_TAGS } from './system-tags.js';
import type { EndStatus, StartRunOptions, TrackedRun, Tracker } from './types.js';

export interface RunScopeOptions extends StartRunOptions {
  /**
   * Cancellation from outside (e.g. the parent run's signal for a nested run). When given, no
   * process signal handlers are installed by this scope unless `handleSignals` is true.
   */
  signal?: AbortSignal;
  /** Install SIGINT/SIGTERM handlers while the run is open (default: true unless `signal` is given). */
  handleSignals?: boolean;
  /**
   * After a signal, how long the body may take to stop before the run is closed KILLED and the
   * process exits anyway (ms; default 30000). A second signal does this at once.
   */
  graceMs?: number;
  /**
   * After a second signal (or the grace period), how long closing the run may take before what is
   * unsent is written to the local store and the process exits anyway (ms; default 2000).
   */
  forceExitMs?: number;
  /** How long closing the run may wait for the server (ms; default: the tracker's own). */
  endDeadlineMs?: number;
  logger?: Logger;
  /** How the process is ended after the grace period (tests replace it). */
  exit?: (code: number) => void;
}

const SIGNAL_EXIT_CODES: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Opens a run, runs `body`, and always closes the run: FINISHED when `body` resolves, KILLED when
 * it was cancelled (SIGINT/SIGTERM or the given signal; the error is rethrown), FAILED with the
 * error in the `cascade.error` tag when it throws otherwise. While the run is open, SIGINT and
 * SIGTERM abort the `AbortSignal` passed to `body` (the trainer checks it between batches), and
 * an `exit` hook writes anything unsent to the local store if the process ends abruptly.
 */
export async function withRun<T>(
  tracker: Tracker,
  options: RunScopeOptions,
  body: (run: TrackedRun, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const logger = options.logger ?? silentLogger;
  const controller = new AbortController();
  const outer = options.signal;
  const onOuterAbort = (): void => controller.abort(outer?.reason ?? 'cancelled');
  if (outer?.aborted) onOuterAbort();
  outer?.addEventListener('abort', onOuterAbort, { once: true });

  const run = await tracker.startRun(options);
  let ended = false;
  let receivedSignal: 'SIGINT' | 'SIGTERM' | undefined;
  let forceTimer: NodeJS.Timeout | undefined;
  const exit = options.exit ?? ((code: number) => process.exit(code));

  const forceEnd = (sig: 'SIGINT' | 'SIGTERM'): void => {
    if (ended) return;
    ended = true;
    logger.warn(`run ${run.name} did not stop after ${sig}; closing it KILLED and exiting`);
    // "At once": a server that hangs must not hold the exit. What end() has not sent by then is
    // written to the local store (synchronously), for `cascade mlflow sync`.
    const forceExitMs = options.forceExitMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        const dir = run.spillSync('KILLED');
        logger.warn(`run ${run.name}: closing took over ${forceExitMs} ms; kept KILLED locally${dir ? ` in ${dir}` : ''}`);
        resolve();
      }, forceExitMs);
    });
    Promise.race([
      run.end('KILLED', { deadlineMs: Math.min(options.endDeadlineMs ?? forceExitMs, forceExitMs) }).catch((err) => {
        run.spillSync('KILLED');
        logger.error(`closing run ${run.name}: ${(err as Error).message}`);
      }),
      giveUp,
    ]).finally(() => {
      clearTimeout(timer);
      exit(SIGNAL_EXIT_CODES[sig]);
    });
  };
  const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
    if (receivedSignal) return forceEnd(sig);
    receivedSignal = sig;
    logger.warn(`${sig} received: stopping run ${run.name} (again to force)`);
    controller.abort(`interrupted by ${sig}`);
    forceTimer = setTimeout(() => forceEnd(sig), options.graceMs ?? 30_000);
  };
  const onSigint = (): void => onSignal('SIGINT');
  const onSigterm = (): void => onSignal('SIGTERM');
  // Last resort: the process is exiting while the run is open (process.exit elsewhere).
  const onExit = (): void => {
    if (!ended) run.spillSync(receivedSignal || controller.signal.aborted ? 'KILLED' : 'FAILED');
  };
  const handleSignals = options.handleSignals ?? outer === undefined;
  if (handleSignals) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
  }
  process.on('exit', onExit);

  const close = async (status: EndStatus, endTime: number): Promise<void> => {
    if (ended) return;
    ended = true;
    const result = await run.end(status, { deadlineMs: options.endDeadlineMs, endTime });
    if (result.spilledTo) logger.warn(`run ${run.name}: unsent data kept in ${result.spilledTo}; \`cascade mlflow sync\` finishes it`);
  };

  try {
    const result = await body(run, controller.signal);
    // A body that finished its work despite a signal still finished. The run ends when its work
    // did, not when an unreachable server finally gave up.
    await close('FINISHED', Date.now());
    return result;
  } catch (err) {
    const workEnd = Date.now();
    const cancelled = controller.signal.aborted || err instanceof CancelledError;
    if (!cancelled) await run.setTags({ [CASCADE_TAGS.error]: errorTag(err) }).catch(() => undefined);
    await close(cancelled ? 'KILLED' : 'FAILED', workEnd).catch((endErr) => {
      logger.error(`closing run ${run.name}: ${(endErr as Error).message}`);
    });
    throw err;
  } finally {
    if (forceTimer) clearTimeout(forceTimer);
    if (handleSignals) {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    }
    process.off('exit', onExit);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}
