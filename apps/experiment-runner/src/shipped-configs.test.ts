/**
 * Every config the repository ships resolves: each experiment under configs/experiments (structure,
 * dataset section, plugin, hyperparameters against the plugin's schema) and each sweep under
 * configs/sweeps (its base, overrides and every trial). A renamed or removed hyperparameter, or a
 * changed schema, fails here rather than in a user's run. Nothing is trained or loaded.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer, PluginRegistry } from '@cascade-lab/core';
import { loadExperiment } from './experiment/config.js';
import { pluginModules } from './plugin-modules.js';
import { loadSweep } from './sweep/config.js';

const configs = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../configs');
const registry = createContainer(pluginModules).get(PluginRegistry);
const yamlIn = (dir: string) =>
  readdirSync(join(configs, dir))
    .filter((f) => f.endsWith('.yaml'))
    .sort();

describe('shipped configs', () => {
  it('there are experiments and sweeps to check', () => {
    expect(yamlIn('experiments').length).toBeGreaterThan(10);
    expect(yamlIn('sweeps').length).toBeGreaterThan(5);
  });

  it.each(yamlIn('experiments'))('configs/experiments/%s resolves', (file) => {
    const exp = loadExperiment(join(configs, 'experiments', file), registry);
    expect(exp.plugin.name).toBe(exp.config.model.name);
  });

  it.each(yamlIn('sweeps'))('configs/sweeps/%s resolves, every trial', (file) => {
    const sweep = loadSweep(join(configs, 'sweeps', file), registry);
    expect(sweep.trials.length).toBeGreaterThan(0);
  });
});
