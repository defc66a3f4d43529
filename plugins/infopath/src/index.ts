import { pluginModule } from '@cascade-lab/core';
import { infopathPlugin } from './plugin.js';

export { infopathPlugin, infopathHyperparameters, type InfopathHyperparameters } from './plugin.js';
export { fitInfoPath, SAMPLINGS, type Sampling, type InfoPathOptions, type InfoPathFit } from './fit.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const infopathModule = pluginModule(infopathPlugin);
