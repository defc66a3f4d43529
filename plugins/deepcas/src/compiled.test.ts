/**
 * DeepCas on the tensorflow backend, where the training step and the forward pass run as compiled
 * TensorFlow graphs: the same numbers as the eager run; and the eager path on wasm against cpu
 * (wasm kernels can be wrong: see tensor-ops' OneHot correction).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executionSettings, Rng, silentLogger, type TrainContext } from '@cascade-lab/core';
import { currentBackend, initBackend, initTensorflowIfInstalled, tf } from '@cascade-lab/tensor-ops';
import { deepcasHyperparameters, deepcasPlugin, trainingStep, type DeepCasModel } from './plugin.js';
import { DeepCasNetwork, type DeepCasArchitecture } from './model.js';
import { tinyGraphDataset } from './graphs.test-util.js';

const tensorflow = (await initTensorflowIfInstalled()) !== null;
if (!tensorflow) process.stdout.write('deepcas compiled tests skipped: @tensorflow/tfjs-node is not installed (run tools/native-backend/setup.sh)\n');
const onTensorflow = tensorflow ? it : it.skip;
const work = mkdtempSync(join(tmpdir(), 'deepcas-compiled-'));
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await initBackend('cpu');
});

const arch: DeepCasArchitecture = { vocabularySize: 12, embeddingDim: 5, gruUnits: 4, dense1: 6, dense2: 4, walksPerGraph: 6, walkLength: 4, blockSize: 3, sizeBuckets: 4 };
const hp = { l1: 5e-5, l2: 1e-8, maxGradNorm: 100 };

/** Batch k's inputs (different at every k): walks, buckets, targets, row weights (last row padding). */
function batch(k: number): tf.Tensor[] {
  const rng = Rng.fromSeed(`batch-${k}`);
  const g = 3;
  return [
    tf.tensor3d(Int32Array.from({ length: g * arch.walksPerGraph * arch.walkLength }, () => rng.int(arch.vocabularySize)), [g, arch.walksPerGraph, arch.walkLength], 'int32'),
    tf.tensor1d(Int32Array.from({ length: g }, () => rng.int(arch.sizeBuckets)), 'int32'),
    tf.tensor1d(Float32Array.from({ length: g }, () => 4 * rng.next())),
    tf.tensor1d([1, 1, 0]),
  ];
}

/** Loss and gradients of 3 different batches. */
function stepOutputs(eager: boolean): number[][][] {
  const net = new DeepCasNetwork(arch, Rng.fromSeed(9), { initStd: 0.3 });
  const step = trainingStep(net, hp);
  const out: number[][][] = [];
  for (let k = 0; k < 3; k++) {
    const inputs = batch(k);
    const results = step.call(inputs, '', { eager });
    out.push(results.map((t) => Array.from(t.dataSync())));
    tf.dispose([...inputs, ...results]);
  }
  step.dispose();
  net.dispose();
  return out;
}

function expectClose(a: number[][][], b: number[][][], rtol: number, atol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((call, i) =>
    call.forEach((tensor, j) =>
      tensor.forEach((v, k) => {
        const w = b[i][j][k];
        if (!(Math.abs(v - w) <= atol + rtol * Math.abs(w))) throw new Error(`call ${i}, output ${j}, entry ${k}: ${v} vs ${w}`);
      }),
    ),
  );
}

async function trainAndPredict(graphs: boolean, knobs: Record<string, unknown> = {}): Promise<{ losses: number[]; sizes: number[][] }> {
  if (!graphs) process.env.CASCADE_GRAPH_FUNCTIONS = 'off';
  try {
    const losses: number[] = [];
    const ctx: TrainContext = {
      rng: Rng.fromSeed(3),
      backend: currentBackend()!,
      progress: { start: () => ({ tick() {}, status() {}, done() {} }) },
      logger: silentLogger,
      metrics: { logMetric: (key, value) => (/\.loss$/.test(key) ? losses.push(value) : undefined) },
      signal: new AbortController().signal,
      workDir: work,
      execution: executionSettings({ workers: 1 }),
    };
    const small = deepcasHyperparameters.parse({ walksPerGraph: 8, walkLength: 4, blockSize: 2, embeddingDim: 6, gruUnits: 4, dense1: 6, dense2: 4, skipGramEpochs: 1, batchSize: 8, epochs: 3, ...knobs });
    const model = (await deepcasPlugin.train(tinyGraphDataset(), small, ctx)) as DeepCasModel;
    const out = await model.predict(tinyGraphDataset().test, [3, 12, 30]);
    model.dispose();
    return { losses, sizes: out.sizes.map((s) => Array.from(s)) };
  } finally {
    delete process.env.CASCADE_GRAPH_FUNCTIONS;
  }
}

describe('DeepCas compiled on tensorflow', () => {
  onTensorflow('the compiled training step gives the eager loss and gradients, batch after batch', async () => {
    await initBackend('tensorflow');
    const compiled = stepOutputs(false);
    const eager = stepOutputs(true);
    expectClose(compiled, eager, 1e-5, 1e-7);
  });

  onTensorflow.each([{ graphSizeInput: false, graphSizeSkip: false }, { graphSizeInput: true, graphSizeSkip: true }])('training and prediction with graphs equal the eager run (CASCADE_GRAPH_FUNCTIONS=off), knobs %j', async (knobs) => {
    await initBackend('tensorflow');
    const compiled = await trainAndPredict(true, knobs);
    const eager = await trainAndPredict(false, knobs);
    expect(compiled.losses.length).toBeGreaterThan(0);
    compiled.losses.forEach((v, i) => expect(Math.abs(v - eager.losses[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v))));
    compiled.sizes.forEach((row, c) => row.forEach((v, h) => expect(Math.abs(v - eager.sizes[c][h])).toBeLessThanOrEqual(1e-4 * Math.max(1, v))));
  });
});

describe('DeepCas on wasm equals cpu', () => {
  it('the training step (loss and every gradient) on wasm equals cpu', async () => {
    await initBackend('cpu');
    const cpu = stepOutputs(true);
    await initBackend('wasm');
    const wasm = stepOutputs(true);
    // float32 on both; the kernels sum in different orders.
    expectClose(wasm, cpu, 1e-4, 1e-6);
  });
});
