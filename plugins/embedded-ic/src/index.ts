import { pluginModule } from '@cascade-lab/core';
import { embeddedIcPlugin } from './plugin.js';

export { embeddedIcPlugin, embeddedIcHyperparameters, type EmbeddedIcHyperparameters } from './plugin.js';
export { EmbeddedIcModel, simulationGraph, type PredictionOptions, type GraphSummary } from './simulator.js';
export { trainEmbeddedIc, meanLogLikelihood, negativesFor, type TrainOptions, type TrainResult } from './trainer.js';
export {
  cascadeLogLikelihood,
  cascadeUsers,
  initialParameters,
  sampleNegatives,
  transmissionProbability,
  transmissionScore,
  type EmbeddedIcParameters,
  type EmbeddedIcGradient,
  EVERY_EARLIER_USER,
  type ParentRule,
} from './model.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const embeddedIcModule = pluginModule(embeddedIcPlugin);
