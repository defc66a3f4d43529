import type { Argv, CommandModule } from 'yargs';
import { CascadeError } from '@cascade-lab/core';
import { loggerFor, type GlobalOptions } from '../global-options.js';
import { checkQueue, parseQueueUrl, QUEUE_ENV, queueUrlFrom } from '../queue/connection.js';
import { runQueueWorker } from '../queue/queue-worker.js';

interface WorkerArgs extends GlobalOptions {
  queue?: string;
  concurrency: number;
  trackingUri?: string;
  lockSeconds: number;
  maxJobs?: number;
  exitWhenIdle?: number;
}

export const workerCommand: CommandModule<object, WorkerArgs> = {
  command: 'worker',
  describe: 'Run sweep trials (`cascade sweep --queue`) and evaluation shards (`cascade run|evaluate --queue`) from a Redis job queue, on any number of machines',
  builder: (y) =>
    (y
      .option('queue', { type: 'string', describe: `Redis URL: redis://[:password@]host[:port][/db] or rediss:// (default: $${QUEUE_ENV})` })
      .option('concurrency', { type: 'number', default: 1, describe: 'jobs (trials or shards) run at the same time, each in its own process' })
      .option('tracking-uri', { type: 'string', describe: 'MLflow server to log to (default: the one each job names, then $MLFLOW_TRACKING_URI)' })
      .option('lock-seconds', { type: 'number', default: 30, describe: 'a job whose worker died is retried on another worker after this long' })
      .option('max-jobs', { type: 'number', describe: 'exit after this many jobs' })
      .option('exit-when-idle', { type: 'number', describe: 'exit once the queue has been empty this many seconds (batch Jobs)' })
      .check((a) => {
        if (!Number.isInteger(a.concurrency) || a.concurrency < 1) throw new Error(`--concurrency must be a positive integer, got ${a.concurrency}`);
        if (!((a.lockSeconds as number) > 0)) throw new Error(`--lock-seconds must be positive, got ${a.lockSeconds}`);
        return true;
      })
      .example('$0 worker --queue redis://redis.lab:6379', 'take trials and evaluation shards from the lab queue, one at a time')
      .epilogue(
        `Prefer $${QUEUE_ENV} for a URL with a password (command lines are visible to other users). Ctrl-C (SIGTERM) stops the running trials (runs KILLED) and shards, and puts their jobs back in the queue; a worker killed outright loses its jobs' locks, and they are retried elsewhere after --lock-seconds.`,
      )) as unknown as Argv<WorkerArgs>,
  handler: async (args) => {
    const logger = loggerFor(args);
    const url = queueUrlFrom(args.queue);
    if (!url) throw new CascadeError('USAGE', `no queue: pass --queue redis://host:port or set ${QUEUE_ENV}`);
    const target = parseQueueUrl(url);
    await checkQueue(target);
    const controller = new AbortController();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals > 1) process.exit(130);
      controller.abort(`${sig} received`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const summary = await runQueueWorker({
        target,
        logger,
        concurrency: args.concurrency,
        trackingUri: args.trackingUri,
        lockMs: args.lockSeconds * 1000,
        maxJobs: args.maxJobs,
        exitWhenIdleMs: args.exitWhenIdle !== undefined ? args.exitWhenIdle * 1000 : undefined,
        signal: controller.signal,
      });
      logger.info(`worker done: ${summary.finished} job(s) finished, ${summary.failed} failed or stopped`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
