import { pluginModule } from '@cascade-lab/core';
import { meanLogGrowthPlugin } from './plugin.js';

export { meanLogGrowthPlugin, meanLogGrowthHyperparameters, type MeanLogGrowthHyperparameters } from './plugin.js';
export { MeanLogGrowthModel, fitMeanLogGrowth, meanLogGrowthParameters, SAVED, type MeanLogGrowthParameters } from './model.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const meanLogGrowthModule = pluginModule(meanLogGrowthPlugin);
