/**
 * GammaCas on the tensorflow backend, where the training step, the Adam updates, the validation loss and prediction run
 * as compiled TensorFlow graphs: the same losses and predictions as the eager run
 * (CASCADE_GRAPH_FUNCTIONS=off), and no tensors left behind.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, silentLogger, type TrainContext } from '@cascade-lab/core';
import { currentBackend, initBackend, initTensorflowIfInstalled, tf } from '@cascade-lab/tensor-ops';
import { gammaCasHyperparameters, gammaCasPlugin, type GammaCasHyperparameters } from './index.js';
import { syntheticDataset } from './synthetic.test-util.js';

const tensorflow = (await initTensorflowIfInstalled()) !== null;
if (!tensorflow) process.stdout.write('gammacas compiled tests skipped: @tensorflow/tfjs-node is not installed (run tools/native-backend/setup.sh)\n');
const onTensorflow = tensorflow ? it : it.skip;
const work = mkdtempSync(join(tmpdir(), 'gammacas-compiled-'));
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await initBackend('cpu');
});

const data = syntheticDataset({ cascades: 48, validation: 8, test: 8, bins: 12 });

function small(overrides: Partial<GammaCasHyperparameters> = {}): GammaCasHyperparameters {
  return gammaCasHyperparameters.parse({ stateSize: 8, embeddingDim: 8, maxTextTokens: 8, maxNewsTokens: 6, maxNewsItems: 3, batchSize: 16, epochs: 3, rk4Steps: 40, ...overrides });
}

async function trainAndPredict(hp: GammaCasHyperparameters, graphs: boolean): Promise<{ losses: number[]; sizes: number[][]; details: unknown[]; tensorsAfter: number; tensorsBefore: number }> {
  if (!graphs) process.env.CASCADE_GRAPH_FUNCTIONS = 'off';
  try {
    const losses: number[] = [];
    const ctx: TrainContext = {
      rng: Rng.fromSeed(3),
      backend: currentBackend()!,
      progress: { start: () => ({ tick() {}, status() {}, done() {} }) },
      logger: silentLogger,
      metrics: { logMetric: (key, value) => (key === 'train.loss' || key === 'validation.loss' ? losses.push(value) : undefined) },
      signal: new AbortController().signal,
      workDir: work,
    };
    const model = await gammaCasPlugin.train(data, hp, ctx);
    // Horizons the model was not trained on; twice, so that the second call runs the compiled graph.
    await model.predict(data.test, [3, 9.5, 30]);
    const tensorsBefore = tf.memory().numTensors;
    const out = await model.predict(data.test, [3, 9.5, 30]);
    const tensorsAfter = tf.memory().numTensors;
    model.dispose();
    return { losses, sizes: out.sizes.map((s) => Array.from(s)), details: out.details ?? [], tensorsBefore, tensorsAfter };
  } finally {
    delete process.env.CASCADE_GRAPH_FUNCTIONS;
  }
}

describe('GammaCas compiled on tensorflow', () => {
  const variants: [string, Partial<GammaCasHyperparameters>][] = [
    ['full', {}],
    ['counts-only, plain LSTM', { variant: 'counts-only', cell: 'lstm' }],
    ['no-news with a text learning rate', { variant: 'no-news', textLearningRate: 0.01 }],
    // The closed form reads values on the host: its loss and prediction run eagerly, Adam compiled.
    ['counts-only, closed-form integrator', { variant: 'counts-only', integrator: 'closed-form' }],
  ];
  onTensorflow.each(variants)('trains and predicts as the eager run does: %s', async (_, overrides) => {
    const hp = small(overrides);
    const compiled = await trainAndPredict(hp, true);
    const eager = await trainAndPredict(hp, false);
    // Training and validation loss of each of the 3 epochs.
    expect(compiled.losses).toHaveLength(6);
    compiled.losses.forEach((l, i) => expect(Math.abs(l - eager.losses[i]) / eager.losses[i]).toBeLessThan(1e-4));
    compiled.sizes.flat().forEach((s, i) => expect(Math.abs(s - eager.sizes.flat()[i])).toBeLessThanOrEqual(1e-4 * Math.abs(eager.sizes.flat()[i]) + 1e-5));
    // Sizes grow with the horizon (the trained curve integrated at new horizons).
    for (const row of compiled.sizes) expect(row[0] <= row[1] && row[1] <= row[2]).toBe(true);
    // The fitted parameters and attention weights saved with the predictions agree too.
    const numbers = (d: unknown[]) => JSON.stringify(d).match(/-?\d+(\.\d+)?(e-?\d+)?/g)!.map(Number);
    const [c, e] = [numbers(compiled.details), numbers(eager.details)];
    expect(c.length).toBe(e.length);
    c.forEach((x, i) => expect(Math.abs(x - e[i])).toBeLessThanOrEqual(1e-4 * Math.abs(e[i]) + 1e-5));
    expect(compiled.tensorsAfter).toBe(compiled.tensorsBefore);
  });
});
