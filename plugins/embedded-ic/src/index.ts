import { pluginModule } from '@cascade-lab/core';
import { embeddedIcPlugin } from './plugin.js';

export { embeddedIcPlugin, embeddedIcHyperparameters, type EmbeddedIcHyperparameters } from './plugin.js';
export { EmbeddedIcModel } from './model.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const embeddedIcModule = pluginModule(embeddedIcPlugin);
