/**
 * @cascade-lab/plugin-deepcas: DeepCas (Li et al., WWW 2017) for the macroscopic task.
 * `deepcasModule` is the ContainerModule the runner loads; the rest is for tests and benchmarks.
 */
import { pluginModule } from '@cascade-lab/core';
import { deepcasPlugin } from './plugin.js';

export {
  deepcasPlugin,
  deepcasHyperparameters,
  DeepCasModel,
  HorizonNetwork,
  NodeVocabulary,
  prepareCascade,
  cascadeWalks,
  preparedFromWalks,
  trainingVocabulary,
  logIncrement,
  sizesFromLogIncrements,
  initialEmbeddings,
  horizonKey,
  trainingStep,
  networkLearningRate,
  CHECKPOINT_FILE,
  type DeepCasHyperparameters,
  type PreparedCascade,
} from './plugin.js';
export { DeepCasNetwork, geometricWalkWeights, sizeGeometricWalkWeights, gruSequence, sizeBucket, PAD_NODE, UNKNOWN_NODE, RESERVED_NODES, type DeepCasArchitecture, type ForwardOutput } from './model.js';
export { WeightAverage, averageDecayAt } from './average.js';
// The walk sampler lives in @cascade-lab/simulation (its `random-walks` tasks run it on worker threads); re-exported here.
export { sampleWalks, startNodes, transitionTable, WALK_END, DEFAULT_WALK_OPTIONS, type WalkOptions, type TransitionRule, type TransitionTable } from '@cascade-lab/simulation';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const deepcasModule = pluginModule(deepcasPlugin);
