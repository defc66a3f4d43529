import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexVocabulary } from '@cascade-lab/core/testing';
import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { MemoryLogger, quietProgress, Rng, type MicroscopicDataset, type TrainContext } from '@cascade-lab/core';
import { initBackend, tf } from '@cascade-lab/tensor-ops';
import { lstmHyperparameters } from './hyperparameters.js';
import { LstmNetwork } from './network.js';
import { loadLstmModel, lstmPlugin, type LstmModel } from './plugin.js';
import { patternCascades } from './testing.test-util.js';
import { planBatches } from '@cascade-lab/data';
import { fitLstm, LstmTrainer } from './trainer.js';

// The plugin contract: schema, reproducible training, save/load, well-formed simulations
// (packages/core/src/conformance), and metric keys from the catalogue or `metrics` (packages/evaluation).
describePluginConformance(lstmPlugin, { hyperparameters: { embeddingSize: 8, hiddenSize: 8, maxEpochs: 2, selectionSimulations: 10 } });

const U = 12;
const data: MicroscopicDataset = {
  name: 'pattern',
  users: indexVocabulary(U),
  train: patternCascades(60, U, Rng.fromSeed(1), 'tr'),
  validation: patternCascades(12, U, Rng.fromSeed(2), 'va'),
  test: patternCascades(5, U, Rng.fromSeed(3), 'te'),
};
const context = (seed: number, metrics: TrainContext['metrics'] = { logMetric: () => undefined }): TrainContext => ({
  rng: Rng.fromSeed(seed),
  backend: { name: 'cpu', package: 'none', device: 'cpu' },
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics,
  signal: new AbortController().signal,
  workDir: mkdtempSync(join(tmpdir(), 'lstm-')),
});
const small = lstmHyperparameters.parse({ embeddingSize: 8, hiddenSize: 8, maxEpochs: 4, batchSize: 16, learningRate: 0.02, selectionSimulations: 20 });

describe('lstm plugin', () => {
  beforeAll(() => initBackend('cpu'));

  it('trains reproducibly from a seed, and a different seed gives other weights', async () => {
    const a = (await lstmPlugin.train(data, small, context(7))) as LstmModel;
    const b = (await lstmPlugin.train(data, small, context(7))) as LstmModel;
    const c = (await lstmPlugin.train(data, small, context(8))) as LstmModel;
    for (const k of Object.keys(a.weights)) expect(Array.from(b.weights[k])).toEqual(Array.from(a.weights[k]));
    expect(Array.from(c.weights.embedding)).not.toEqual(Array.from(a.weights.embedding));
    const r1 = await a.simulate([{ seeds: [3], budget: 4, simulations: 20, label: 's' }], Rng.fromSeed(5));
    const r2 = await b.simulate([{ seeds: [3], budget: 4, simulations: 20, label: 's' }], Rng.fromSeed(5));
    expect(Array.from(r2[0].sequences)).toEqual(Array.from(r1[0].sequences));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('learns the pattern: the validation loss falls, and a saved model loads with the same scores', async () => {
    const losses: number[] = [];
    const model = (await lstmPlugin.train(data, { ...small, maxEpochs: 15, earlyStoppingMetric: 'loss', patience: 0 }, context(3, { logMetric: (k, v) => k === 'validation.loss' && losses.push(v) }))) as LstmModel;
    // Uniform over the 10 real users and </s>: ln 11 = 2.398; each user is mostly followed by the next.
    expect(losses[0]).toBeGreaterThan(losses[losses.length - 1]);
    expect(Math.min(...losses)).toBeLessThan(Math.log(11) - 0.5);
    const dir = mkdtempSync(join(tmpdir(), 'lstm-save-'));
    await model.save(dir);
    const loaded = await loadLstmModel(dir);
    const x = await model.nextUserScores([4, 5, 6]);
    const y = await loaded.nextUserScores([4, 5, 6]);
    expect(y.map((r) => Array.from(r))).toEqual(x.map((r) => Array.from(r)));
    expect(x[1][4]).toBe(-Infinity);
    expect(x[1][5]).toBe(-Infinity);
    model.dispose();
    loaded.dispose();
  });

  it('batches: random by default; of similar lengths with lengthBucketing (opt-in: other batches)', () => {
    // 64 cascades of lengths 2..65 in batches of 8: one pool, so sorted batches hold 8 consecutive lengths.
    const lists = Array.from({ length: 64 }, (_, k) => Array.from({ length: k + 2 }, (_, t) => 2 + ((k + t) % (U - 2))));
    const network = new LstmNetwork({ numUsers: U, embeddingSize: 4, hiddenSize: 4 }, Rng.fromSeed(1));
    const spread = (batches: number[][]) => Math.max(...batches.map((b) => Math.max(...b) - Math.min(...b)));
    const plain = new LstmTrainer(network, { ...small, batchSize: 8 }).plan(lists, Rng.fromSeed(4)).batches;
    const bucketed = new LstmTrainer(network, { ...small, batchSize: 8, lengthBucketing: true }).plan(lists, Rng.fromSeed(4)).batches;
    // Index k has length k + 2, so an index spread is a length spread.
    expect(plain).toEqual(planBatches(Int32Array.from(lists, (c) => c.length), { batchSize: 8, bucketing: 'none', rng: Rng.fromSeed(4).derive('batches') }));
    expect(spread(plain)).toBeGreaterThan(20);
    expect(spread(bucketed)).toBe(7);
    expect(bucketed.flat().sort((a, b) => a - b)).toEqual(plain.flat().sort((a, b) => a - b));
    network.dispose();
  });

  it('keeps the live tensor count flat across epochs (simulated selection on)', async () => {
    const network = new LstmNetwork({ numUsers: U, embeddingSize: 8, hiddenSize: 8 }, Rng.fromSeed(1));
    const counts: number[] = [];
    await fitLstm(network, { ...small, maxEpochs: 4, earlyStoppingMetric: 'meanMacroF1', patience: 0 }, data.train, data.validation, Rng.fromSeed(2), {
      metrics: { logMetric: (k) => k === 'train.loss' && counts.push(tf.memory().numTensors) },
    }, 64);
    expect(counts).toHaveLength(4);
    expect(new Set(counts).size).toBe(1);
    network.dispose();
  });
});
