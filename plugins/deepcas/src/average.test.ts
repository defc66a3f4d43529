import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executionSettings, MemoryLogger, quietProgress, Rng, type TrainContext } from '@cascade-lab/core';
import { initBackend, tf } from '@cascade-lab/tensor-ops';
import { averageDecayAt, WeightAverage } from './average.js';
import { deepcasHyperparameters, deepcasPlugin, type DeepCasModel } from './plugin.js';
import { tinyGraphDataset } from './graphs.test-util.js';

const SMALL = { walksPerGraph: 8, walkLength: 4, blockSize: 2, embeddingDim: 6, gruUnits: 4, dense1: 6, dense2: 4, skipGramEpochs: 1 };

const context = (seed: number): TrainContext => ({
  rng: Rng.fromSeed(seed),
  backend: { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'wasm-simd' },
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics: { logMetric: () => undefined },
  signal: new AbortController().signal,
  workDir: mkdtempSync(join(tmpdir(), 'deepcas-average-')),
  execution: executionSettings({ workers: 1 }),
});

describe('weight average', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('decay of the n-th update is min(decay, n / (n + 9)) (hand-computed)', () => {
    expect(averageDecayAt(0.98, 1)).toBeCloseTo(0.1, 12); // 1 / 10
    expect(averageDecayAt(0.98, 9)).toBeCloseTo(0.5, 12); // 9 / 18
    expect(averageDecayAt(0.98, 441)).toBeCloseTo(0.98, 12); // 441 / 450 = 0.98 exactly
    expect(averageDecayAt(0.98, 1000)).toBe(0.98); // 1000 / 1009 = 0.9911 > 0.98
    expect(averageDecayAt(0.15, 2)).toBe(0.15); // 2 / 11 = 0.1818 > 0.15
  });

  it('shadow starts at the weights and follows shadow <- d_n shadow + (1 - d_n) w (hand-computed)', () => {
    const w = tf.variable(tf.tensor1d([1, 2]));
    const s = tf.variable(tf.tensor1d([0, 0]));
    const average = new WeightAverage({ a: w }, { a: s }, 0.15);
    expect(Array.from(s.dataSync())).toEqual([1, 2]);
    w.assign(tf.tensor1d([3, 6]));
    average.update(); // d_1 = min(0.15, 1/10) = 0.1: 0.1 [1, 2] + 0.9 [3, 6] = [2.8, 5.6]
    Array.from(s.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([2.8, 5.6][i], 5));
    w.assign(tf.tensor1d([0, 0]));
    average.update(); // d_2 = min(0.15, 2/11) = 0.15: 0.15 [2.8, 5.6] + 0.85 [0, 0] = [0.42, 0.84]
    Array.from(s.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([0.42, 0.84][i], 5));
    expect(average.count).toBe(2);
    expect(Array.from(w.dataSync())).toEqual([0, 0]); // the source is untouched
    expect(() => new WeightAverage({ a: w }, { b: s }, 0.5)).toThrow(/no shadow weight a/);
    expect(() => new WeightAverage({ a: w }, { a: s }, 1)).toThrow(/decay/);
    tf.dispose([w, s]);
  });

  it('the trained model holds the averaged weights: after one step 2 A(0.05) - A(0.1) equals the trained weights W1', async () => {
    // No validation split: every run keeps its last (here only) epoch. One batch holds every
    // training cascade, so an epoch is one step and A(d) = d W0 + (1 - d) W1 for d <= 0.1 (d_1 = min(d, 1/10)):
    // 2 A(0.05) - A(0.1) = (0.1 - 0.1) W0 + (1.9 - 0.9) W1 = W1, the weights without averaging.
    const data = { ...tinyGraphDataset(), validation: [] };
    const batchSize = data.train.length;
    const weightsOf = async (decay: number) => {
      const model = (await deepcasPlugin.train(data, deepcasHyperparameters.parse({ ...SMALL, batchSize, epochs: 1, weightAverageDecay: decay }), context(3))) as DeepCasModel;
      const out = model.horizonNetworks.map((n) => Object.fromEntries(Object.entries(n.network.allWeights()).map(([k, v]) => [k, Float64Array.from(v.dataSync())])));
      model.dispose();
      return out;
    };
    const before = tf.memory().numTensors;
    const w1 = await weightsOf(0);
    const a05 = await weightsOf(0.05);
    const a10 = await weightsOf(0.1);
    expect(tf.memory().numTensors).toBe(before); // the trained network is freed when the average is kept
    let largestChange = 0;
    w1.forEach((byName, h) => {
      for (const [name, w] of Object.entries(byName)) {
        w.forEach((v, i) => {
          expect(2 * a05[h][name][i] - a10[h][name][i]).toBeCloseTo(v, 4);
          largestChange = Math.max(largestChange, Math.abs(a10[h][name][i] - v));
        });
      }
    });
    expect(largestChange).toBeGreaterThan(1e-4); // the average is not the trained weights
  });

  it('averaged training validates, keeps several epochs and leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const model = (await deepcasPlugin.train(tinyGraphDataset(), deepcasHyperparameters.parse({ ...SMALL, batchSize: 8, epochs: 3, patience: 0, ensembleEpochs: 2, weightAverageDecay: 0.9 }), context(4))) as DeepCasModel;
    expect(model.membersPerHorizon).toEqual(model.trainedHorizonsHours.map(() => 2));
    for (const h of model.trainedHorizonsHours) expect(Number.isFinite(model.summaryMetrics()[`h${h}.ensembleValidationLoss`])).toBe(true);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
