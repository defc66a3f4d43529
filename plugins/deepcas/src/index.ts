import { pluginModule } from '@cascade-lab/core';
import { deepcasPlugin } from './plugin.js';

export { deepcasPlugin, deepcasHyperparameters, type DeepcasHyperparameters } from './plugin.js';
export { DeepcasModel } from './model.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const deepcasModule = pluginModule(deepcasPlugin);
