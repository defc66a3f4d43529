import type { CommandModule } from 'yargs';
import { createContainer, dataNeedsOf, PluginRegistry, type Task } from '@cascade-lab/core';
import { pluginModules } from '../plugin-modules.js';
import { describeSchema } from '../schema-docs.js';

interface PluginsArgs {
  task?: Task;
  json: boolean;
  name?: string;
}

export const pluginsCommand: CommandModule<object, PluginsArgs> = {
  command: 'plugins [name]',
  describe: 'List the model plugins: name, task, description and every hyperparameter with its default',
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'show only this plugin' })
      .option('task', { choices: ['microscopic', 'macroscopic'] as const, describe: 'only plugins of this task' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' }),
  handler: (args) => {
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const plugins = args.name ? [registry.get(args.name)] : registry.list(args.task);
    const described = plugins.map((p) => ({
      name: p.name,
      task: p.task,
      description: p.description,
      reference: p.reference,
      // With the default hyperparameters (a plugin may need less with others, e.g. GammaCas counts-only).
      dataNeeds: [...dataNeedsOf(p, p.hyperparameters.parse({}))],
      fitting: p.fitting ?? 'data',
      hyperparameters: describeSchema(p.hyperparameters),
    }));
    if (args.json) {
      process.stdout.write(JSON.stringify(described, null, 2) + '\n');
      return;
    }
    if (described.length === 0) {
      process.stdout.write('no plugins registered\n');
      return;
    }
    for (const p of described) {
      process.stdout.write(`${p.name}  (${p.task})\n  ${p.description}\n`);
      if (p.reference) process.stdout.write(`  reference: ${p.reference}\n`);
      process.stdout.write(`  data needs (defaults): ${p.dataNeeds.length ? p.dataNeeds.join(', ') : 'none beyond the task'}${p.fitting === 'none' ? '; nothing to fit' : ''}\n`);
      const width = Math.max(...p.hyperparameters.map((h) => h.key.length), 4);
      for (const h of p.hyperparameters) {
        process.stdout.write(`    ${h.key.padEnd(width)}  ${h.type.padEnd(10)} default ${JSON.stringify(h.default)}${h.description ? `  ${h.description}` : ''}\n`);
      }
      process.stdout.write('\n');
    }
  },
};
