import type { Argv, CommandModule } from 'yargs';
import { CascadeError } from '@cascade-lab/core';
import type { GlobalOptions } from '../global-options.js';
import { checkQueue, parseQueueUrl, QUEUE_ENV, queueUrlFrom, redact } from '../queue/connection.js';
import { queueStatus, queueStatusText } from '../queue/status.js';

interface QueueArgs extends GlobalOptions {
  queue?: string;
  sweep?: string;
  json: boolean;
}

export const queueCommand: CommandModule<object, QueueArgs> = {
  command: 'queue <action>',
  describe: 'Inspect the Redis job queue of `cascade sweep --queue` and of sharded evaluations (`cascade run|evaluate --queue`)',
  builder: (y) =>
    (y
      .positional('action', { choices: ['status'] as const, demandOption: true, describe: 'status: queued, active and failed trial jobs per sweep, and shard jobs per evaluation' })
      .option('queue', { type: 'string', describe: `Redis URL (default: $${QUEUE_ENV})` })
      .option('sweep', { type: 'string', describe: 'only this sweep (or this evaluation id)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .example('$0 queue status --queue redis://localhost:6379', 'what the workers are doing')) as unknown as Argv<QueueArgs>,
  handler: async (args) => {
    const url = queueUrlFrom(args.queue);
    if (!url) throw new CascadeError('USAGE', `no queue: pass --queue redis://host:port or set ${QUEUE_ENV}`);
    const target = parseQueueUrl(url);
    await checkQueue(target);
    let counts;
    try {
      counts = await queueStatus(target, args.sweep);
    } catch (e) {
      throw new CascadeError('USAGE', `cannot read the queue ${target.display}: ${redact((e as Error).message, target)}`);
    }
    process.stdout.write(args.json ? JSON.stringify(counts, null, 2) + '\n' : queueStatusText(target, counts));
  },
};
