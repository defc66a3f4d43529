/**
 * @cascade-lab/plugin-ndm: the Neural Diffusion Model (Yang et al., TKDE 2019) as a microscopic
 * cascade plugin.
 */
import { pluginModule } from '@cascade-lab/core';
import { ndmPlugin } from './plugin.js';

export { ndmPlugin, NdmModel, trainNdm, loadNdmModel, socialLinkPrediction, CHECKPOINT_FILE } from './plugin.js';
export { ndmHyperparameters, defaultHyperparameters, type NdmHyperparameters } from './hyperparameters.js';
export { NdmNetwork, MASKED_LOGIT, batchOf, type SequenceBatch } from './model.js';
export { NdmSimulator } from './simulator.js';
export { deepWalk, randomWalks, type DeepWalkOptions } from './deepwalk.js';
export { architectureOf, initialWeights, windowProjectionNorms, type NdmArchitecture, type NdmWeights } from './weights.js';
export { installWasmBatchMatMul } from './wasm-matmul.js';
export { ManualGradients, manualLossAndGradients, manualGradientsSupported, type LossAndGradients, type ManualGradientsOptions } from './manual-gradients.js';
export { tapeLossAndGradients } from './trainer.js';

/** The ContainerModule the experiment runner loads: binds the `ndm` plugin. */
export const ndmModule = pluginModule(ndmPlugin);
