import { pluginModule } from '@cascade-lab/core';
import { seismicPlugin } from './plugin.js';

export { seismicPlugin, seismicHyperparameters, type SeismicHyperparameters } from './plugin.js';
export { SeismicModel } from './model.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const seismicModule = pluginModule(seismicPlugin);
