import type { Argv, CommandModule } from 'yargs';
import { LocalStore, MlflowClient, TrackingError, syncLocalRuns, type SyncRunReport } from '@cascade-lab/tracking';
import { loggerFor, type GlobalOptions } from '../global-options.js';

interface SyncArgs extends Partial<GlobalOptions> {
  dryRun: boolean;
  uri?: string;
  dir?: string;
  experiment?: string;
  run?: string[];
  json: boolean;
}

function describeCounts(r: SyncRunReport): string {
  const c = r.counts;
  return `${c.params} params, ${c.tags} tags, ${c.metricPoints} metric points, ${c.artifacts} artifacts`;
}

async function sync(args: SyncArgs): Promise<void> {
  const uri = args.uri ?? process.env.MLFLOW_TRACKING_URI;
  if (!uri) throw new TrackingError('no MLflow server to sync to', { hint: 'pass --uri http://host:5000 or set MLFLOW_TRACKING_URI' });
  const logger = loggerFor(args);
  const store = new LocalStore(args.dir ?? LocalStore.defaultRoot(), { onWarning: (m) => logger.warn(m) });
  const client = MlflowClient.fromEnv(process.env, { trackingUri: uri, logger });
  let reports: SyncRunReport[];
  try {
    reports = await syncLocalRuns(store, client, { dryRun: args.dryRun, experiment: args.experiment, runIds: args.run, logger });
  } finally {
    client.close();
  }
  if (args.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
  else if (reports.length === 0) process.stdout.write(`no runs in ${store.root}\n`);
  else
    for (const r of reports) {
      const what = r.action === 'skipped' || r.action === 'failed' ? (r.reason ?? '') : describeCounts(r);
      const where = r.remoteRunId && r.experimentId ? `  ${client.runPageUrl(r.experimentId, r.remoteRunId)}` : r.remoteRunId ? `  -> ${r.remoteRunId}` : '';
      process.stdout.write(`${r.action.padEnd(12)}  ${r.name} (${r.localRunId})  ${what}${where}\n`);
    }
  const failed = reports.filter((r) => r.action === 'failed');
  if (failed.length > 0)
    throw new TrackingError(`${failed.length} of ${reports.length} runs could not be synced to ${client.trackingUri}`, {
      hint: 'fix the cause above and run `cascade mlflow sync` again: uploaded runs are skipped, partial ones resume',
    });
}

/** `cascade mlflow sync`. */
export const mlflowSyncCommand: CommandModule<object, SyncArgs> = {
  command: 'sync',
  describe:
    'Upload local runs to an MLflow server, keeping run names, steps, timestamps and parent/child nesting; a run already uploaded is never uploaded again',
  builder: (b) =>
    b
      .option('dry-run', { type: 'boolean', default: false, describe: 'only report what would be uploaded; contacts no server' })
      .option('uri', { type: 'string', describe: 'tracking server (default $MLFLOW_TRACKING_URI); credentials from MLFLOW_TRACKING_USERNAME/PASSWORD/TOKEN' })
      .option('dir', { type: 'string', describe: 'local store directory (default $CASCADE_RUNS_DIR or ./runs)' })
      .option('experiment', { type: 'string', describe: "upload into this experiment instead of each run's own" })
      .option('run', { type: 'string', array: true, describe: 'only these local run ids' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable report' })
      .example('$0 mlflow sync --dry-run', 'what would be uploaded to $MLFLOW_TRACKING_URI')
      .example('$0 mlflow sync --uri http://127.0.0.1:5000', 'upload every local run not uploaded yet') as unknown as Argv<SyncArgs>,
  handler: sync,
};

export const mlflowCommand: CommandModule<object, object> = {
  command: 'mlflow',
  describe: 'MLflow tracking server operations: sync',
  builder: (y) => y.command(mlflowSyncCommand).demandCommand(1, 'name an mlflow command: sync'),
  handler: () => undefined,
};
