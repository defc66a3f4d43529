import type { Argv, CommandModule } from 'yargs';
import { createContainer, PluginRegistry } from '@cascade-lab/core';
import pc from 'picocolors';
import { evaluateSaved } from '../experiment/saved.js';
import { jsonSafe, loggerFor, progressFor, type GlobalOptions } from '../global-options.js';
import { pluginModules } from '../plugin-modules.js';

interface EvaluateArgs extends GlobalOptions {
  dir: string;
  set: string[];
  trackingUri?: string;
  json: boolean;
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
      .example('$0 evaluate outputs/ndm-memetracker-1a2b3c4d', 'the same protocol again')
      .example("$0 evaluate outputs/gammacas-x --set 'dataset.window.horizonsHours=[6,30,90]'", 'sizes at horizons the model was not trained on')) as unknown as Argv<EvaluateArgs>,
  handler: async (args) => {
    const logger = loggerFor(args);
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const outcome = await evaluateSaved(args.dir, { registry, logger, progress: progressFor(args), overrides: args.set, trackingUri: args.trackingUri });
    if (args.json) {
      process.stdout.write(jsonSafe({ ...outcome, status: 'FINISHED' }));
      return;
    }
    process.stdout.write(`\n${pc.bold('evaluation')}  ${outcome.summary}\nrun: ${outcome.location}\noutputs: ${outcome.outputDir}\n`);
  },
};
