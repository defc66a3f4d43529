import type { Argv, CommandModule } from 'yargs';
import { CascadeError, createContainer, PluginRegistry } from '@cascade-lab/core';
import pc from 'picocolors';
import { loadExperiment } from '../experiment/config.js';
import { checkConfigPaths } from '../experiment/locations.js';
import { runExperiment } from '../experiment/run.js';
import { jsonSafe, loggerFor, progressFor, type GlobalOptions } from '../global-options.js';
import { pluginModules } from '../plugin-modules.js';
import { QUEUE_ENV, queueFromOption } from '../queue/connection.js';

interface RunArgs extends GlobalOptions {
  config: string;
  set: string[];
  trackingUri?: string;
  json: boolean;
  queue?: string;
  shards?: number;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <config>',
  describe: 'Train a model and evaluate it with its task\'s protocol, as an experiment config says; everything is logged to the tracker',
  builder: (y) =>
    (y
      .positional('config', { type: 'string', demandOption: true, describe: 'experiment YAML file (see configs/experiments/)' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a key: --set model.hyperparameters.heads=4 (repeatable)' })
      .option('tracking-uri', { type: 'string', describe: 'MLflow server (default: the config, then $MLFLOW_TRACKING_URI, then the local store ./runs)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the outcome (run id, location, outputs, metrics) as JSON on stdout; logs stay on stderr' })
      .option('queue', { type: 'string', describe: `evaluate on \`cascade worker\` processes through this Redis job queue, in evaluation.shards jobs (microscopic): redis://[:password@]host[:port][/db] or rediss:// ("" = $${QUEUE_ENV})` })
      .option('shards', { type: 'number', describe: 'with --queue: split the test cascades into this many jobs (sets evaluation.shards, else the config\'s, else 1; not part of the config hash)' })
      .check((a) => {
        if (a.shards !== undefined && !(Number.isInteger(a.shards) && (a.shards as number) >= 1)) throw new Error(`--shards must be a positive integer, got ${a.shards}`);
        return true;
      })
      .example('$0 run configs/experiments/ndm-quickstart.yaml', 'a short NDM run on Memetracker')
      .example('$0 run configs/experiments/ndm-memetracker.yaml --set seed=2', 'the paper setting with another seed')
      .example('$0 run configs/experiments/ndm-memetracker.yaml --queue redis://redis.lab:6379 --shards 8', 'train here, evaluate in 8 jobs on `cascade worker`s (the same metrics as a local evaluation)')
      .epilogue(
        'Ctrl-C stops the run and closes it as KILLED. The run\'s local folder (config, metrics.json, predictions, model, plots) is printed at the end. ' +
          'With --queue, the saved model goes to the workers through Redis and the shards\' per-cascade rows come back and are merged here; edge scores (when the model has them) are computed here.',
      )) as unknown as Argv<RunArgs>,
  handler: async (args) => {
    const logger = loggerFor(args);
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const exp = loadExperiment(args.config, registry, [...args.set, ...(args.shards !== undefined ? [`evaluation.shards=${args.shards}`] : [])]);
    checkConfigPaths(exp);
    if (args.queue !== undefined && exp.plugin.task !== 'microscopic') throw new CascadeError('USAGE', `--queue shards the microscopic evaluation only; model ${exp.plugin.name} is ${exp.plugin.task}`);
    const queue = await queueFromOption(args.queue);
    logger.info(`${exp.config.name}: model ${exp.plugin.name} (${exp.plugin.task}), seed ${exp.config.seed}, config hash ${exp.hash.slice(0, 12)}`);
    const outcome = await runExperiment(exp, { logger, progress: progressFor(args), trackingUri: args.trackingUri, queue });
    if (args.json) {
      const { backend: _backend, ...rest } = outcome;
      process.stdout.write(jsonSafe({ ...rest, status: 'FINISHED' }));
      return;
    }
    process.stdout.write(`\n${pc.bold(outcome.runName)}  ${outcome.summary}\n`);
    process.stdout.write(`run: ${outcome.location}\noutputs: ${outcome.outputDir}\n`);
  },
};
