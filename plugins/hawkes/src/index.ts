import { pluginModule } from '@cascade-lab/core';
import { hawkesPlugin } from './plugin.js';

export { hawkesPlugin, hawkesHyperparameters, type HawkesHyperparameters } from './plugin.js';
export { HawkesModel } from './model.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const hawkesModule = pluginModule(hawkesPlugin);
