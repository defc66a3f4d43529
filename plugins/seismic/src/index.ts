import { pluginModule } from '@cascade-lab/core';
import { seismicPlugin } from './plugin.js';

export { seismicPlugin, seismicHyperparameters, seismicOptions, windowShares, SeismicModel, MODEL_FORMAT, type SeismicHyperparameters } from './plugin.js';
export {
  DEFAULT_SEISMIC_OPTIONS,
  TWITTER_MEMORY_KERNEL,
  chiSquareQuantile,
  infectiousnessAt,
  memoryCcdf,
  memoryPdf,
  predictFinalReshares,
  triangularKernelIntegral,
  type Infectiousness,
  type MemoryKernel,
  type SeismicOptions,
  type SeismicPrediction,
  type Shares,
} from './model.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const seismicModule = pluginModule(seismicPlugin);
