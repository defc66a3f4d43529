import type { Argv, CommandModule } from 'yargs';
import { createContainer, PluginRegistry } from '@cascade-lab/core';
import pc from 'picocolors';
import { loadExperiment } from '../experiment/config.js';
import { checkConfigPaths } from '../experiment/locations.js';
import { runExperiment } from '../experiment/run.js';
import { jsonSafe, loggerFor, progressFor, type GlobalOptions } from '../global-options.js';
import { pluginModules } from '../plugin-modules.js';

interface RunArgs extends GlobalOptions {
  config: string;
  set: string[];
  trackingUri?: string;
  json: boolean;
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
      .example('$0 run configs/experiments/ndm-quickstart.yaml', 'a short NDM run on Memetracker')
      .example('$0 run configs/experiments/ndm-memetracker.yaml --set seed=2', 'the paper setting with another seed')
      .epilogue('Ctrl-C stops the run and closes it as KILLED. The run\'s local folder (config, metrics.json, predictions, model, plots) is printed at the end.')) as unknown as Argv<RunArgs>,
  handler: async (args) => {
    const logger = loggerFor(args);
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const exp = loadExperiment(args.config, registry, args.set);
    checkConfigPaths(exp);
    logger.info(`${exp.config.name}: model ${exp.plugin.name} (${exp.plugin.task}), seed ${exp.config.seed}, config hash ${exp.hash.slice(0, 12)}`);
    const outcome = await runExperiment(exp, { logger, progress: progressFor(args), trackingUri: args.trackingUri });
    if (args.json) {
      const { backend: _backend, ...rest } = outcome;
      process.stdout.write(jsonSafe({ ...rest, status: 'FINISHED' }));
      return;
    }
    process.stdout.write(`\n${pc.bold(outcome.runName)}  ${outcome.summary}\n`);
    process.stdout.write(`run: ${outcome.location}\noutputs: ${outcome.outputDir}\n`);
  },
};
