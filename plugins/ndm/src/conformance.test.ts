import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { initBackend, tf } from '@cascade-lab/tensor-ops';
import { ndmPlugin } from './index.js';

// The plugin contract (core's conformance kit, plus the evaluation package's metric-key check) on
// its tiny microscopic dataset: a small network, two epochs, on wasm (the backend every machine has).
describePluginConformance(ndmPlugin, {
  hyperparameters: { dimension: 8, heads: 2, batchSize: 8, maxEpochs: 2, patience: 0, learningRateSchedule: 'constant', learningRate: 0.01 },
  setup: () => initBackend('wasm'),
  numTensors: () => tf.memory().numTensors,
});
