import { pluginModule } from '@cascade-lab/core';
import { hawkesPlugin } from './plugin.js';

export { hawkesPlugin, hawkesHyperparameters, fitCascade, futureMarkWeight, postTimesHours, postFollowers, HawkesModel, MODEL_FORMAT, type CascadeFit, type HawkesHyperparameters } from './plugin.js';
export {
  defaultFitOptions,
  expectedFinalSize,
  expectedSizeAfter,
  fitHawkes,
  fitMarkedHawkes,
  markWeights,
  meanMarkWeight,
  hawkesLogLikelihood,
  pendingOffspring,
  profileLogLikelihood,
  type HawkesFit,
  type HawkesFitOptions,
  type MarkWeights,
  type MarkedHawkesFit,
  type PostTimes,
  type ProfilePoint,
} from './model.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const hawkesModule = pluginModule(hawkesPlugin);
