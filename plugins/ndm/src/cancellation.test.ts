import { afterAll, describe, it } from '@jest/globals';
import { conformanceChecks } from '@cascade-lab/core/testing';
import { initBackend } from '@cascade-lab/tensor-ops';
import { ndmPlugin } from './index.js';

// The conformance kit's Ctrl-C checks (issue 21): training (10,000 epochs on the kit's tiny
// dataset, aborted after 0.5 s) and simulation (20,000 simulations per request, aborted after
// 50 ms) must stop within a second of the abort. NDM's epoch loop used to block the event loop,
// so SIGINT was only seen after the last epoch.
const small = { dimension: 8, heads: 2, batchSize: 8, patience: 0, learningRateSchedule: 'constant', learningRate: 0.01 };
const suite = conformanceChecks(ndmPlugin, {
  hyperparameters: { ...small, maxEpochs: 1 },
  setup: () => initBackend('cpu'),
  cancellation: { hyperparameters: { ...small, maxEpochs: 10_000 } },
});

describe('ndm: Ctrl-C stops training and simulation within a second', () => {
  for (const check of suite.checks.filter((c) => /^stops /.test(c.name))) it(check.name, () => check.run(), 120_000);
  afterAll(() => suite.dispose());
});
