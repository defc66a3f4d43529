import type { CommandModule } from 'yargs';
import { createContainer, PluginRegistry } from '@cascade-lab/core';
import pc from 'picocolors';
import { stringify } from 'yaml';
import { loadExperiment } from '../experiment/config.js';
import { checkConfigPaths } from '../experiment/locations.js';
import { jsonSafe } from '../global-options.js';
import { pluginModules } from '../plugin-modules.js';

interface ValidateArgs {
  config: string;
  set: string[];
  print: boolean;
  json: boolean;
}

export const validateCommand: CommandModule<object, ValidateArgs> = {
  command: 'validate <config>',
  describe: 'Check an experiment config (structure, dataset section, model name, hyperparameters) without running anything',
  builder: (y) =>
    y
      .positional('config', { type: 'string', demandOption: true, describe: 'experiment YAML file' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a key: --set model.hyperparameters.heads=4 (repeatable)' })
      .option('print', { type: 'boolean', default: false, describe: 'print the resolved config (all defaults filled in)' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable result (with the resolved config); errors stay on stderr with their exit code' })
      .example('$0 validate configs/experiments/ndm-memetracker.yaml', 'check a config')
      .example('$0 validate exp.yaml --set seed=3 --print', 'see what a run would use'),
  handler: (args) => {
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const exp = loadExperiment(args.config, registry, args.set);
    checkConfigPaths(exp);
    if (args.json) {
      process.stdout.write(jsonSafe({ ok: true, file: args.config, model: exp.plugin.name, task: exp.plugin.task, hash: exp.hash, resolved: exp.resolved }));
      return;
    }
    if (args.print) process.stdout.write(stringify(exp.resolved));
    process.stdout.write(`${pc.green('ok')} ${args.config}: model ${exp.plugin.name} (${exp.plugin.task}), config hash ${exp.hash.slice(0, 12)}\n`);
  },
};
