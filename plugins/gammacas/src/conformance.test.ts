import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { initBackend, tf } from '@cascade-lab/tensor-ops';
import { gammaCasPlugin } from './index.js';

// The plugin contract (core's conformance kit, plus the metric-key check of the evaluation package's) on its tiny macroscopic dataset: small dimensions,
// one epoch, every variant's signals present (the tiny dataset has text and news).
describePluginConformance(gammaCasPlugin, {
  hyperparameters: { stateSize: 8, embeddingDim: 8, maxTextTokens: 8, maxNewsTokens: 8, maxNewsItems: 2, batchSize: 8, epochs: 1 },
  setup: () => initBackend('wasm'),
  numTensors: () => tf.memory().numTensors,
  // Ctrl-C (issue 21): 10,000 epochs aborted after 0.5 s must stop within a second, as must a long prediction.
  cancellation: { hyperparameters: { stateSize: 8, embeddingDim: 8, maxTextTokens: 8, maxNewsTokens: 8, maxNewsItems: 2, batchSize: 8, epochs: 10_000 } },
});
