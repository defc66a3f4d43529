import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePluginConformance, tinyMacroscopicDataset } from '@cascade-lab/core/testing';
import { MemoryLogger, quietProgress, Rng, type MacroscopicDataset, type TrainContext } from '@cascade-lab/core';
import { initBackend, tf } from '@cascade-lab/tensor-ops';
import { DeepcasModel } from './model.js';
import { deepcasPlugin } from './plugin.js';

// The plugin contract: schema, reproducible training, save/load, well-formed sizes, no tensor leak
// (packages/core/src/conformance).
describePluginConformance(deepcasPlugin, {
  hyperparameters: { epochs: 50 },
  setup: () => initBackend('cpu'),
  numTensors: () => tf.memory().numTensors,
});

const context = async (): Promise<TrainContext> => ({
  rng: Rng.fromSeed(1),
  backend: await initBackend('cpu'),
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics: { logMetric: () => undefined },
  signal: new AbortController().signal,
  workDir: mkdtempSync(join(tmpdir(), 'deepcas-')),
});

describe('deepcas: log-linear growth', () => {
  const one = tinyMacroscopicDataset().test[0];

  it('S(h) = S_obs (h / T)^beta, flat before the window ends (hand-computed)', async () => {
    // w = 0 and b = ln(e - 1): beta = softplus(b) = 1, so S(12 h) = S_obs * 12 / 6 = 2 S_obs.
    const model = new DeepcasModel({ weights: [0, 0, 0], bias: Math.log(Math.E - 1), featureMean: [0, 0, 0], featureStd: [1, 1, 1], windowHours: 6 });
    const { sizes } = await model.predict([one], [3, 12, 24]);
    expect(sizes[0][0]).toBeCloseTo(one.observedSize, 9);
    expect(sizes[0][1]).toBeCloseTo(2 * one.observedSize, 9);
    expect(sizes[0][2]).toBeCloseTo(4 * one.observedSize, 9);
  });

  it('recovers a known growth exponent from data that follows the model', async () => {
    // Every cascade grows with beta = 0.5: S(h) = S_obs sqrt(h / 6). The least-squares optimum is
    // w = 0, b = ln(e^0.5 - 1), i.e. an exponent of 0.5 for every cascade.
    const base = tinyMacroscopicDataset();
    const exact = (c: MacroscopicDataset['train'][number]) => ({ ...c, targets: Float64Array.from(base.horizonsHours, (h) => c.observedSize * Math.sqrt(h / 6)) });
    const data: MacroscopicDataset = { ...base, train: base.train.map(exact), validation: base.validation.map(exact), test: base.test.map(exact) };
    const model = (await deepcasPlugin.train(data, { learningRate: 0.05, epochs: 400, l2: 0 }, await context())) as DeepcasModel;
    for (const c of data.test) expect(model.growthExponent(c)).toBeCloseTo(0.5, 2);
  });
});
