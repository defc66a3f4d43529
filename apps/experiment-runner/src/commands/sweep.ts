import type { Argv, CommandModule } from 'yargs';
import { CascadeError, createContainer, PluginRegistry, type Logger } from '@cascade-lab/core';
import { createTracker } from '@cascade-lab/tracking';
import pc from 'picocolors';
import { jsonSafe, loggerFor, type GlobalOptions } from '../global-options.js';
import { pluginModules } from '../plugin-modules.js';
import { runSourceFor } from '../report/runs.js';
import { loadSweep, type ResolvedSweep } from '../sweep/config.js';
import { createSweepDisplay } from '../sweep/display.js';
import { planSweep, runSweep, SweepCancelledError, SweepFailedError, type SweepOutcome } from '../sweep/run-sweep.js';
import { trialTableText } from '../sweep/table.js';
import { checkQueue, parseQueueUrl, QUEUE_ENV, queueUrlFrom } from '../queue/connection.js';
import { runQueuedSweep } from '../queue/queued-sweep.js';

interface SweepArgs extends GlobalOptions {
  config: string;
  set: string[];
  workers?: number;
  seeds?: string;
  only: string[];
  dryRun: boolean;
  trackingUri?: string;
  json: boolean;
  queue?: string;
  cancelOnExit: boolean;
}

export const sweepCommand: CommandModule<object, SweepArgs> = {
  command: 'sweep <config>',
  describe: 'Run every trial of a sweep (grid, list, zip, seeds over a base experiment) in parallel processes, nested under one tracked parent run; finished trials are skipped',
  builder: (y) =>
    (y
      .positional('config', { type: 'string', demandOption: true, describe: 'sweep YAML file (see configs/sweeps/)' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a key of every trial: --set evaluation.simulations=100 (repeatable)' })
      .option('workers', { type: 'number', describe: 'trials run in parallel, each in its own process (default: the file\'s `workers`, else one per core)' })
      .option('seeds', { type: 'string', describe: 'replace the file\'s sweep.seeds, e.g. --seeds 1 for a quick pass or --seeds 1,2,3,4,5' })
      .option('only', { type: 'string', array: true, default: [] as string[], describe: 'run only the trials whose label matches (`*`, `?` wildcards, case-insensitive, repeatable), e.g. --only "ndm *"; the rest stay for a later run of the whole sweep' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the trials (and which already finished) without running anything' })
      .option('tracking-uri', { type: 'string', describe: 'MLflow server (default: the base config, then $MLFLOW_TRACKING_URI, then the local store ./runs)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the plan (--dry-run) or the outcome (parent run, every trial with its state and metrics) as JSON on stdout' })
      .option('queue', { type: 'string', describe: `run the trials on \`cascade worker\` processes through this Redis job queue: redis://[:password@]host[:port][/db] or rediss:// ("" = $${QUEUE_ENV})` })
      .option('cancel-on-exit', { type: 'boolean', default: false, describe: 'with --queue: Ctrl-C removes the sweep\'s waiting jobs and stops its running trials (default: they stay queued)' })
      .check((a) => {
        if (a.workers !== undefined && (!Number.isInteger(a.workers) || a.workers < 1)) throw new Error(`--workers must be a positive integer, got ${a.workers}`);
        if (a.seeds !== undefined && !/^\d+(,\d+)*$/.test(a.seeds)) throw new Error(`--seeds expects comma-separated non-negative integers, got "${a.seeds}"`);
        return true;
      })
      .example('$0 sweep configs/sweeps/ndm-sensitivity.yaml --dry-run', 'list the trials of the NDM parameter study')
      .example('$0 sweep configs/sweeps/gammacas-ablation.yaml --workers 2', 'the GammaCas ablations, two at a time')
      .example('$0 sweep configs/sweeps/ndm-table2.yaml --only "ndm *" --only "netrate *"', 'part of a long sweep now; the whole sweep later skips what finished')
      .epilogue(
        'A trial is identified by the hash of its resolved config: running the same sweep again skips trials that already FINISHED and reruns FAILED or KILLED ones. ' +
          'Ctrl-C stops the sweep (running trials close as KILLED); twice kills them at once. Exit code 8 when some trials failed.',
      )) as unknown as Argv<SweepArgs>,
  handler: async (args) => {
    const logger = loggerFor(args);
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const sweep = loadSweep(args.config, registry, args.set, { seeds: args.seeds?.split(',').map(Number), only: args.only });
    for (const [dup, kept] of sweep.duplicates) logger.warn(`trial "${dup}" resolves to the same config as "${kept}": run once`);
    if (args.dryRun) {
      await printPlan(sweep, args.trackingUri, logger, args.json);
      return;
    }
    logger.info(`sweep ${sweep.config.name}: ${sweep.trials.length} trials of ${sweep.baseFile}`);
    if (args.queue !== undefined) {
      const url = queueUrlFrom(args.queue || undefined);
      if (!url) throw new CascadeError('USAGE', `--queue needs a Redis URL (or ${QUEUE_ENV})`);
      const target = parseQueueUrl(url);
      await checkQueue(target);
      try {
        const outcome = await runQueuedSweep(sweep, { target, logger, display: createSweepDisplay({ mode: args.quiet ? 'quiet' : args.progress }), trackingUri: args.trackingUri, cancelOnExit: args.cancelOnExit });
        printSummary(outcome);
      } catch (e) {
        if (e instanceof SweepFailedError || e instanceof SweepCancelledError) printSummary(e.outcome);
        throw e;
      }
      return;
    }
    try {
      const outcome = await runSweep(sweep, { logger, display: createSweepDisplay({ mode: args.quiet || args.json ? 'quiet' : args.progress }), workers: args.workers, trackingUri: args.trackingUri });
      printSummary(outcome, args.json);
    } catch (e) {
      if (e instanceof SweepFailedError || e instanceof SweepCancelledError) printSummary(e.outcome, args.json);
      throw e;
    }
  },
};

function printSummary(outcome: SweepOutcome, json = false): void {
  const out = process.stdout;
  if (json) {
    out.write(jsonSafe({ parentRunId: outcome.parentRunId, location: outcome.location, ran: outcome.ran, skipped: outcome.skipped, failed: outcome.failed.length, trials: outcome.rows }));
    return;
  }
  out.write(`\n${trialTableText(outcome.rows)}`);
  const finished = outcome.rows.filter((r) => r.state === 'FINISHED').length;
  const notRun = outcome.rows.filter((r) => r.state === 'not run').length;
  out.write(`\n${pc.bold('sweep')}: ${finished} finished now, ${outcome.skipped} skipped (finished earlier), ${outcome.failed.length} failed or killed${notRun ? `, ${notRun} not run (stopped before they started; the next run of the sweep runs them)` : ''}\n`);
  if (outcome.failed.length) {
    out.write(`${pc.red('failures')}:\n`);
    for (const r of outcome.failed) out.write(`  #${r.index} ${r.label} seed=${r.seed} (${r.state})${r.runId ? ` run ${r.runId}` : ''}: ${(r.error ?? 'not run').split('\n').join('\n    ')}\n`);
  }
  out.write(`parent run: ${outcome.location}\n`);
}

async function printPlan(sweep: ResolvedSweep, trackingUri: string | undefined, logger: Logger, json = false): Promise<void> {
  const out = process.stdout;
  if (!json) out.write(`sweep ${sweep.config.name}: ${sweep.trials.length} trials of ${sweep.baseFile}\n\n`);
  let states: Map<number, string> | undefined;
  const tracker = createTracker({ trackingUri: trackingUri ?? sweep.trackingUri, runsDir: sweep.runsDir, experiment: sweep.experiment, logger });
  try {
    const plan = await planSweep(sweep, runSourceFor(tracker));
    states = new Map(plan.rows.map((r) => [r.index, r.state === 'skipped' ? `finished (${r.runId})` : 'to run']));
  } catch (e) {
    logger.warn(`cannot tell which trials already finished: ${(e as Error).message}`);
  } finally {
    await tracker.close();
  }
  if (json) {
    const trials = sweep.trials.map((t) => ({ index: t.index, label: t.label, seed: t.seed, hash: t.hash, state: states?.get(t.index) ?? 'unknown', overrides: t.swept }));
    out.write(jsonSafe({ name: sweep.config.name, base: sweep.baseFile, trials }));
    return;
  }
  const rows = sweep.trials.map((t) => [
    String(t.fileIndex),
    t.label,
    String(t.seed),
    t.hash.slice(0, 12),
    states?.get(t.index) ?? '?',
    Object.entries(t.swept).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' '),
  ]);
  const header = ['#', 'trial', 'seed', 'hash', 'state', 'overrides'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) out.write(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd() + '\n');
  const toRun = states ? [...states.values()].filter((s) => s === 'to run').length : sweep.trials.length;
  out.write(`\n${toRun} to run, ${sweep.trials.length - toRun} already finished\n`);
}
