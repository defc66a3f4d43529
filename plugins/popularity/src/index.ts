import { pluginModule } from '@cascade-lab/core';
import { popularityPlugin } from './plugin.js';

export { popularityPlugin, PopularityModel, popularityHyperparameters, type PopularityHyperparameters } from './plugin.js';

/** The inversify module the runner loads. */
export const popularityModule = pluginModule(popularityPlugin);
