import { hostname } from 'node:os';
import { CancelledError, CascadeError, type Logger } from '@cascade-lab/core';
import { CASCADE_TAGS, createTracker, withRun, type TrackedRun, type Tracker } from '@cascade-lab/tracking';
import { runSourceFor, SWEEP_TAGS, type RunRecord, type RunSource } from '../report/runs.js';
import type { ResolvedSweep, SweepTrial } from './config.js';
import type { SweepDisplay } from './display.js';
import type { TrialJob } from './protocol.js';
import { defaultWorkers, TrialPool, type TrialOutcome } from './pool.js';
import { trialTableMarkdown, type TrialRow } from './table.js';

export interface SweepRunOptions {
  logger: Logger;
  display: SweepDisplay;
  /** Parallel trial processes (default: the sweep file's `workers`, else one per core). */
  workers?: number;
  /** Overrides the tracking URI of the base config (and MLFLOW_TRACKING_URI). */
  trackingUri?: string;
  /** Tracker for the parent run (tests); trials always open their own. */
  tracker?: Tracker;
  /** Cancellation from outside; when absent, SIGINT/SIGTERM stop the sweep (twice: at once). */
  signal?: AbortSignal;
  /** After a cancel, how long trials may take to close their runs before they are killed (ms). */
  graceMs?: number;
}

export interface SweepOutcome {
  parentRunId: string;
  location: string;
  rows: TrialRow[];
  /** Trials that ran now (not skipped). */
  ran: number;
  skipped: number;
  failed: TrialRow[];
}

/** A sweep that ran to its end with failed trials; carries the table for the summary. */
export class SweepFailedError extends CascadeError {
  constructor(readonly outcome: SweepOutcome) {
    const n = outcome.failed.length;
    super('TRIALS_FAILED', `${n} of ${outcome.rows.length} trials failed: ${outcome.failed.map((r) => `#${r.index} ${r.label} seed=${r.seed}`).join(', ')}`, {
      hint: 'rerun the same command to retry only the failed trials (finished ones are skipped)',
    });
  }
}

/** A sweep stopped by Ctrl-C / SIGTERM; carries the table so far. */
export class SweepCancelledError extends CancelledError {
  constructor(readonly outcome: SweepOutcome) {
    super(`sweep cancelled: ${outcome.rows.filter((r) => r.state === 'FINISHED' || r.state === 'skipped').length} of ${outcome.rows.length} trials finished; run the same command again to finish the rest`);
  }
}

/** Trials as the tracker sees them now: finished ones are skipped, everything else (re)runs. */
export interface SweepPlan {
  rows: TrialRow[];
  /** Earlier runs of each trial hash (any status), oldest first. */
  previous: Map<string, RunRecord[]>;
}

/** Tags of a trial run. */
export function trialTags(sweep: ResolvedSweep, trial: SweepTrial): Record<string, string> {
  return {
    [SWEEP_TAGS.sweep]: sweep.config.name,
    [SWEEP_TAGS.role]: 'trial',
    [SWEEP_TAGS.trialHash]: trial.hash,
    [SWEEP_TAGS.trialLabel]: trial.label,
    [SWEEP_TAGS.trialOverrides]: JSON.stringify(trial.swept),
    [SWEEP_TAGS.trialIndex]: String(trial.fileIndex),
  };
}

/**
 * Looks up the sweep's earlier trial runs (same sweep name, same experiment) and marks every trial
 * whose resolved-config hash already has a FINISHED run as skipped. FAILED, KILLED and RUNNING runs
 * do not count: those trials run again.
 */
export async function planSweep(sweep: ResolvedSweep, source: RunSource): Promise<SweepPlan> {
  const runs = await source.list({ experiment: sweep.experiment, tags: { [SWEEP_TAGS.sweep]: sweep.config.name, [SWEEP_TAGS.role]: 'trial' } });
  const previous = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const h = r.tags[SWEEP_TAGS.trialHash];
    if (!h) continue;
    if (!previous.has(h)) previous.set(h, []);
    previous.get(h)!.push(r);
  }
  const rows = sweep.trials.map((t): TrialRow => {
    const finished = (previous.get(t.hash) ?? []).filter((r) => r.status === 'FINISHED');
    const last = finished[finished.length - 1];
    return last
      ? { index: t.index, label: t.label, seed: t.seed, hash: t.hash, state: 'skipped', runId: last.runId, metrics: last.metrics }
      : { index: t.index, label: t.label, seed: t.seed, hash: t.hash, state: 'pending' };
  });
  return { rows, previous };
}

/**
 * Runs a sweep: one parent run (the sweep file and the filling trial table as artifacts), every
 * pending trial in its own process under it (`mlflow.parentRunId`, a readable run name, the sweep
 * tags), finished trials skipped. A failing trial does not stop the others. Resolves when every
 * trial ended; throws SweepFailedError (parent FAILED) when some failed, SweepCancelledError
 * (parent KILLED) when stopped.
 */
export async function runSweep(sweep: ResolvedSweep, options: SweepRunOptions): Promise<SweepOutcome> {
  const { logger, display } = options;
  const trackingUri = options.trackingUri ?? sweep.trackingUri;
  const tracker = options.tracker ?? createTracker({ trackingUri, runsDir: sweep.runsDir, experiment: sweep.experiment, logger });
  const controller = new AbortController();
  const outer = options.signal;
  const onOuter = () => controller.abort(outer?.reason ?? 'cancelled');
  outer?.addEventListener('abort', onOuter, { once: true });
  if (outer?.aborted) onOuter();
  let pool: TrialPool | undefined;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      logger.warn(`${sig}: stopping the sweep; running trials close their runs as KILLED (${sig} again to kill them now)`);
      controller.abort(`interrupted by ${sig}`);
    } else pool?.kill();
  };
  const handleSignals = outer === undefined;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const source = runSourceFor(tracker);
    let plan = await planSweep(sweep, source);
    // Trial processes of an earlier sweep that was killed may still be closing (or finishing) their
    // runs: wait for them, or their trials could end FINISHED twice.
    for (let leftovers = liveLeftovers(plan); leftovers.length > 0; leftovers = liveLeftovers(plan)) {
      if (controller.signal.aborted) throw new CancelledError(String(controller.signal.reason ?? 'cancelled'));
      logger.warn(`waiting for ${leftovers.length} trial process(es) of an earlier run of this sweep to end: ${leftovers.map((r) => `${r.name} (pid ${r.tags[SWEEP_TAGS.trialPid]})`).join(', ')}`);
      await waitForExit(leftovers.map((r) => Number(r.tags[SWEEP_TAGS.trialPid])), controller.signal);
      plan = await planSweep(sweep, source);
    }
    for (const [h, runs] of plan.previous) {
      const running = runs.filter((r) => r.status === 'RUNNING');
      if (running.length && !runs.some((r) => r.status === 'FINISHED'))
        logger.warn(`trial ${h} has a RUNNING run (${running.map((r) => r.runId).join(', ')}) whose process is gone (or on another host); running it again`);
    }
    await closeDeadParents(sweep, source, logger);
    const rows = plan.rows;
    const pending = rows.filter((r) => r.state === 'pending');
    const skipped = rows.length - pending.length;
    if (skipped) logger.info(`${skipped} of ${rows.length} trials already finished in earlier runs of this sweep: skipped`);

    return await withRun(
      tracker,
      {
        name: sweep.config.name,
        experiment: sweep.experiment,
        signal: controller.signal,
        handleSignals: false,
        logger,
        tags: {
          [SWEEP_TAGS.sweep]: sweep.config.name,
          [SWEEP_TAGS.role]: 'parent',
          [SWEEP_TAGS.sweepPid]: String(process.pid),
          'cascade.sweep.file': sweep.file,
          'cascade.sweep.base': sweep.baseFile,
          ...(sweep.config.description ? { 'mlflow.note.content': sweep.config.description } : {}),
        },
      },
      async (parent, signal) => {
        const workers = Math.min(options.workers ?? sweep.config.workers ?? defaultWorkers(), Math.max(1, pending.length));
        await parent.logParams({ sweep: { name: sweep.config.name, base: sweep.baseFile, trials: rows.length, pending: pending.length, workers } });
        await parent.logText(sweep.text, 'sweep.yaml');
        const uploads = new TableUploads(parent, sweep.config.name, rows, logger);
        const closing: Promise<void>[] = [];
        await uploads.push();

        pool = new TrialPool({
          workers,
          graceMs: options.graceMs,
          events: {
            trialStarted: (index, slot) => {
              rows[index].state = 'running';
              display.trialStarted(describe(sweep.trials[index]), slot);
            },
            runStarted: (index, runId) => {
              rows[index].runId = runId;
              void uploads.push();
            },
            task: (index, slot, update) => display.task(describe(sweep.trials[index]), slot, update),
            log: (index, level, message) => {
              const line = `[${describe(sweep.trials[index])}] ${message}`;
              if (level === 'warn' || level === 'error') display.log(level, `${level === 'warn' ? 'warning' : 'error'}: ${line}`);
              else logger.debug(line);
            },
            trialEnded: (index, slot, outcome) => {
              record(rows[index], outcome);
              if (outcome.abandoned && outcome.runId) {
                const runId = outcome.runId;
                closing.push(
                  source.closeAbandoned(runId, outcome.status === 'KILLED' ? 'KILLED' : 'FAILED', outcome.error ?? 'the trial process died').catch((e) => logger.warn(`could not close run ${runId} of a dead trial process: ${(e as Error).message}`)),
                );
              }
              display.trialEnded(describe(sweep.trials[index]), slot, outcome);
              const done = rows.filter((r) => r.state === 'FINISHED').length;
              parent.logMetrics({ 'evaluation.trialsFinished': done + skipped, 'evaluation.trialsFailed': rows.filter((r) => r.state === 'FAILED').length }, done + skipped);
              void uploads.push();
            },
          },
        });
        const onAbort = () => pool?.cancel(String(signal.reason ?? 'cancelled'));
        signal.addEventListener('abort', onAbort, { once: true });
        display.begin(pending.length, skipped);
        try {
          await pool.run(pending.map((r) => ({ index: r.index, job: jobFor(sweep, sweep.trials[r.index], parent.runId, trackingUri) })));
        } finally {
          signal.removeEventListener('abort', onAbort);
          display.end();
        }
        await Promise.all(closing);
        // Stopped before they started: no run was opened, nothing was killed.
        for (const r of rows) if (r.state === 'pending') r.state = 'not run';
        return concludeSweep(parent, rows, uploads, pending.length, skipped, signal);
      },
    );
  } finally {
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    outer?.removeEventListener('abort', onOuter);
    if (!options.tracker) await tracker.close();
  }
}

/**
 * Closes the parent runs of earlier runs of this sweep that are still RUNNING although their sweep
 * process is gone (it was SIGKILLed, or its machine died): KILLED, with a `cascade.error` tag that
 * says so. Only parents started on this host can be checked (by pid); others are reported.
 */
/**
 * The end of a sweep, local or queued: the trial table's last upload, then the outcome, thrown as
 * SweepCancelledError after Ctrl-C or SweepFailedError (with the parent tagged) when trials failed.
 */
export async function concludeSweep(parent: TrackedRun, rows: TrialRow[], uploads: TableUploads, ran: number, skipped: number, signal: AbortSignal): Promise<SweepOutcome> {
  await uploads.push();
  await uploads.settled();
  const outcome: SweepOutcome = { parentRunId: parent.runId, location: parent.location, rows, ran, skipped, failed: rows.filter((r) => r.state === 'FAILED' || r.state === 'KILLED') };
  if (signal.aborted) throw new SweepCancelledError(outcome);
  if (outcome.failed.length) {
    await parent.setTags({ 'cascade.sweep.failed': String(outcome.failed.length) });
    throw new SweepFailedError(outcome);
  }
  return outcome;
}

export async function closeDeadParents(sweep: ResolvedSweep, source: RunSource, logger: Logger): Promise<string[]> {
  const parents = await source.list({ experiment: sweep.experiment, tags: { [SWEEP_TAGS.sweep]: sweep.config.name, [SWEEP_TAGS.role]: 'parent' }, statuses: ['RUNNING'] });
  const closed: string[] = [];
  for (const p of parents) {
    const pid = Number(p.tags[SWEEP_TAGS.sweepPid]);
    if (p.tags[CASCADE_TAGS.host] !== hostname() || !Number.isInteger(pid) || pid <= 0) {
      logger.warn(`an earlier run of this sweep (${p.runId}, host ${p.tags[CASCADE_TAGS.host] ?? '?'}) is still RUNNING; left as it is (its process cannot be checked from here)`);
      continue;
    }
    if (processAlive(pid)) {
      logger.warn(`an earlier run of this sweep (${p.runId}) is still running in process ${pid} on this host`);
      continue;
    }
    await source.closeAbandoned(p.runId, 'KILLED', `the sweep process (pid ${pid} on ${hostname()}) died without closing this run; closed by a later run of the sweep`);
    logger.info(`closed the parent run ${p.runId} of an earlier run of this sweep whose process (pid ${pid}) died: KILLED`);
    closed.push(p.runId);
  }
  return closed;
}

/** RUNNING trial runs (of trials not finished yet) whose process is alive on this host. */
function liveLeftovers(plan: SweepPlan): RunRecord[] {
  const finished = new Set(plan.rows.filter((r) => r.state === 'skipped').map((r) => r.hash));
  return [...plan.previous.entries()]
    .filter(([h]) => !finished.has(h))
    .flatMap(([, runs]) => runs)
    .filter((r) => r.status === 'RUNNING' && r.tags[CASCADE_TAGS.host] === hostname() && processAlive(Number(r.tags[SWEEP_TAGS.trialPid])));
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pids: number[], signal: AbortSignal): Promise<void> {
  while (!signal.aborted && pids.some(processAlive)) await new Promise((r) => setTimeout(r, 250));
}

function describe(trial: SweepTrial): string {
  return `${trial.label} seed=${trial.seed}`;
}

function record(row: TrialRow, outcome: TrialOutcome): void {
  row.state = outcome.status;
  row.runId = outcome.runId ?? row.runId;
  row.metrics = outcome.metrics;
  row.error = outcome.error;
  row.seconds = outcome.seconds;
}

export function jobFor(sweep: ResolvedSweep, trial: SweepTrial, parentRunId: string, trackingUri: string | undefined): TrialJob {
  return {
    baseFile: sweep.baseFile,
    overrideArgs: trial.overrideArgs,
    hash: trial.hash,
    runName: trial.runName,
    tags: trialTags(sweep, trial),
    parentRunId,
    trackingUri,
    runsDir: sweep.runsDir,
    experiment: sweep.experiment,
  };
}

/** Uploads the trial table (`trials.md`, `trials.json`) after each change, one upload at a time. */
export class TableUploads {
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  constructor(
    private readonly run: TrackedRun,
    private readonly name: string,
    private readonly rows: TrialRow[],
    private readonly logger: Logger,
  ) {}

  /** Schedules an upload of the current table (coalesces requests made while one is running). */
  push(): Promise<void> {
    if (this.queued) return this.chain;
    this.queued = true;
    this.chain = this.chain.then(async () => {
      this.queued = false;
      try {
        await this.run.logText(trialTableMarkdown(this.name, this.rows), 'trials.md');
        await this.run.logText(JSON.stringify(this.rows, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n', 'trials.json');
      } catch (e) {
        this.logger.warn(`could not upload the trial table: ${(e as Error).message}`);
      }
    });
    return this.chain;
  }

  settled(): Promise<void> {
    return this.chain;
  }
}
