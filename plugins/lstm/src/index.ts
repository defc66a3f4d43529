import { pluginModule } from '@cascade-lab/core';
import { lstmPlugin } from './plugin.js';

export { lstmPlugin, LstmModel, loadLstmModel, trainLstm } from './plugin.js';
export { lstmHyperparameters, SIZE_CHOICES, type LstmHyperparameters } from './hyperparameters.js';
export { LstmNetwork, trainingChunk, griddedChunk, rowGroups, MASKED_LOGIT, type LstmArchitecture, type RowGroup, type TrainingChunk } from './network.js';
export { LstmSimulator, LstmStepper } from './simulator.js';
export { fitLstm, LstmTrainer, validationLoss } from './trainer.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const lstmModule = pluginModule(lstmPlugin);
