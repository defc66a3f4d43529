import type { Argv, CommandModule } from 'yargs';
import { createContainer, PluginRegistry } from '@cascade-lab/core';
import pc from 'picocolors';
import { evaluateSaved } from '../experiment/saved.js';
import { jsonSafe, loggerFor, progressFor, type GlobalOptions } from '../global-options.js';
import { pluginModules } from '../plugin-modules.js';
import { QUEUE_ENV, queueFromOption } from '../queue/connection.js';

interface EvaluateArgs extends GlobalOptions {
  dir: string;
  set: string[];
  trackingUri?: string;
  json: boolean;
  queue?: string;
  shards?: number;
}

export const evaluateCommand: CommandModule<object, EvaluateArgs> = {
  command: 'evaluate <dir>',
  describe: 'Re-evaluate a saved model without training (new seeds, more simulations, other horizons)',
  builder: (y) =>
    (y
      .positional('dir', { type: 'string', demandOption: true, describe: 'a run\'s outputs folder (printed by `cascade run`) or a local run folder' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a key of the saved config, e.g. evaluation.simulations=100' })
      .option('tracking-uri', { type: 'string', describe: 'MLflow server (default: the saved config, then $MLFLOW_TRACKING_URI, then the local store)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the outcome (run id, location, outputs, metrics) as JSON on stdout; logs stay on stderr' })
      .option('queue', { type: 'string', describe: `evaluate on \`cascade worker\` processes through this Redis job queue, in evaluation.shards jobs (microscopic): redis://[:password@]host[:port][/db] or rediss:// ("" = $${QUEUE_ENV})` })
      .option('shards', { type: 'number', describe: 'with --queue: split the test cascades into this many jobs (sets evaluation.shards, else the config\'s, else 1; not part of the config hash)' })
      .check((a) => {
        if (a.shards !== undefined && !(Number.isInteger(a.shards) && (a.shards as number) >= 1)) throw new Error(`--shards must be a positive integer, got ${a.shards}`);
        return true;
      })
      .example('$0 evaluate outputs/ndm-memetracker-1a2b3c4d', 'the same protocol again')
      .example("$0 evaluate outputs/gammacas-x --set 'dataset.window.horizonsHours=[6,30,90]'", 'sizes at horizons the model was not trained on')
      .example('$0 evaluate outputs/ndm-memetracker-1a2b3c4d --queue redis://redis.lab:6379 --shards 8', 'the 1000-simulation protocol in 8 jobs on `cascade worker`s; the same metrics as here')
      .epilogue('With --queue (microscopic models), the saved model folder goes to the workers through Redis, each worker loads it with the plugin and simulates its share of the test cascades, and the rows are merged here.')) as unknown as Argv<EvaluateArgs>,
  handler: async (args) => {
    const logger = loggerFor(args);
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const queue = await queueFromOption(args.queue);
    const overrides = [...args.set, ...(args.shards !== undefined ? [`evaluation.shards=${args.shards}`] : [])];
    const outcome = await evaluateSaved(args.dir, { registry, logger, progress: progressFor(args), overrides, trackingUri: args.trackingUri, queue });
    if (args.json) {
      process.stdout.write(jsonSafe({ ...outcome, status: 'FINISHED' }));
      return;
    }
    process.stdout.write(`\n${pc.bold('evaluation')}  ${outcome.summary}\nrun: ${outcome.location}\noutputs: ${outcome.outputDir}\n`);
  },
};
