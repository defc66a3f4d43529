import { pluginModule } from '@cascade-lab/core';
import { netratePlugin } from './plugin.js';

export { netratePlugin, netrateHyperparameters, type NetrateHyperparameters } from './plugin.js';
export { NetrateModel } from './model.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const netrateModule = pluginModule(netratePlugin);
