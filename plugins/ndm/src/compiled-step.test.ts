/**
 * The compiled training step (tensorflow backend): each pass as one TensorFlow graph (chunk
 * lengths padded to the grid, row counts and packed sizes dynamic), against the same computation run eagerly (the compiled Adam update is tested in
 * @cascade-lab/training).
 */
import { Rng } from '@cascade-lab/core';
import { initBackend, initTensorflowIfInstalled } from '@cascade-lab/tensor-ops';
import { attentionBlocks, MAX_ATTENTION_BLOCK_CELLS, ManualGradients, manualLossAndGradients, paddedLength, paddedRows } from './manual-gradients.js';
import { batchOf, NdmNetwork, nextUserTargets, type SequenceBatch } from './model.js';
import { smallHyperparameters } from './testing.test-util.js';
import { tf } from './tf.js';
import type { NdmHyperparameters } from './hyperparameters.js';
import { architectureOf, initialWeights } from './weights.js';

const tensorflow = (await initTensorflowIfInstalled()) !== null;
if (!tensorflow) process.stdout.write('compiled-step tests skipped: @tensorflow/tfjs-node is not installed (run tools/native-backend/setup.sh)\n');
const onTensorflow = tensorflow ? it : it.skip;
afterAll(() => initBackend('cpu'));

const U = 14;
// Steps of chunks: lengths off the grid (11 -> 12) and on it, a length-1 row, and one padded length
// with 2, 5 and 7 rows (one graph serves them all unless the attention is in query blocks).
const steps: SequenceBatch[][] = [
  [
    batchOf([[2, 5, 7, 3, 9], [4, 6], [8, 2, 8, 10], [11]]),
    batchOf([[3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], [9, 2, 3], [4, 5], [6], [7, 8, 9, 10]]),
  ],
  [batchOf([[13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3], [2, 3], [5, 7, 9], [12], [4, 13, 6, 2]])],
  [
    batchOf([[3, 5, 7, 9, 11], [2, 4, 6, 8], [10], [12, 13]]),
    batchOf([[6, 5, 4, 3, 2, 7, 8, 9, 10, 11, 12], [13, 2], [3, 4, 5, 6], [7], [8, 9]]),
  ],
  [
    batchOf([[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [13, 12, 11, 10, 9, 8, 7, 6, 5, 4]]),
    batchOf([[5, 6, 7], [8, 9, 10, 11, 12], [2], [3, 4], [5, 6, 7, 8], [9, 10], [11, 12, 13]]),
  ],
];

function network(overrides: Partial<NdmHyperparameters>): NdmNetwork {
  const arch = architectureOf(smallHyperparameters(overrides), U);
  const frozen = arch.frozenDimensions > 0 ? Float32Array.from({ length: U * arch.frozenDimensions }, (_, i) => Math.cos(i)) : undefined;
  return new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(5), frozen));
}

function result(r: { lossSum: number; grads: Record<string, tf.Tensor> }): { loss: number; grads: Record<string, Float32Array> } {
  const grads: Record<string, Float32Array> = {};
  for (const [name, g] of Object.entries(r.grads)) {
    grads[name.split('/')[1]] = g.dataSync() as Float32Array;
    g.dispose();
  }
  return { loss: r.lossSum, grads };
}

function expectClose(a: ReturnType<typeof result>, b: ReturnType<typeof result>): void {
  expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-5);
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
  for (const name of Object.keys(b.grads)) {
    const scale = Math.max(...Array.from(b.grads[name], Math.abs), 1e-3);
    let worst = 0;
    for (let i = 0; i < b.grads[name].length; i++) worst = Math.max(worst, Math.abs(a.grads[name][i] - b.grads[name][i]));
    expect({ name, close: worst / scale < 1e-4 }).toEqual({ name, close: true });
  }
}

describe('shape grid', () => {
  it('pads lengths and row counts up to the grid, and never down (tensor-ops\' gridSize tests the grid itself)', () => {
    // The grid NDM's compiled steps used before the shared helper, by hand.
    expect([1, 8, 9, 16, 17, 33, 65, 129, 200].map(paddedLength)).toEqual([1, 8, 10, 16, 20, 40, 80, 160, 224]);
    expect([1, 5, 7, 13, 32, 33].map(paddedRows)).toEqual([1, 6, 8, 16, 32, 48]);
    for (let n = 1; n < 300; n++) {
      expect(paddedLength(n)).toBeGreaterThanOrEqual(n);
      expect(paddedRows(n)).toBeGreaterThanOrEqual(n);
    }
  });
});

describe('compiled NDM training step', () => {
  const settings: [string, Partial<NdmHyperparameters>][] = [
    ['paper defaults (dropout 0.1)', {}],
    ['authors\' layer norm, no dropout, window 5, 3 heads', { layerNorm: 'ndm-code', dropout: 0, window: 5, heads: 3 }],
    ['NDM+SN (frozen half), dropout 0.3', { socialEmbedding: true, dropout: 0.3 }],
  ];
  type Case = [string, Partial<NdmHyperparameters>, number | undefined, number | undefined];
  onTensorflow.each([
    ...settings.map(([name, o]) => [name, o, undefined, undefined] as Case),
    // The attention in query blocks (a low cap) in the graph, against the whole attention run eagerly.
    ['paper defaults, the attention in query blocks (cap 100 cells)', {}, 100, undefined] as Case,
    // Each chunk in a position-wise pass of its own (at most 6 packed rows a pass: every chunk has more).
    ['paper defaults, a position-wise pass per chunk', {}, undefined, 6 * U] as Case,
  ])('equals the eager pass, padded lengths and dynamic row counts included: %s', (_, overrides, maxAttentionBlockCells, maxLogitCells) => {
    const net = network(overrides);
    const compiled = new ManualGradients(net, { maxAttentionBlockCells, maxLogitCells });
    const before = tf.memory().numTensors;
    // Each step twice: the first traces (and runs eagerly), the second runs the graph.
    for (const chunks of [...steps, ...steps]) {
      const targets = chunks.map((c) => nextUserTargets(c, true));
      const total = targets.reduce((s, t) => s + t.count, 0);
      const rngA = Rng.fromSeed(total);
      const rngB = Rng.fromSeed(total);
      const got = result(compiled.compute(chunks, targets, total, rngA));
      const expected = result(manualLossAndGradients(net, chunks, targets, total, rngB));
      expectClose(got, expected);
      // The same dropout seeds were drawn.
      expect(rngA.seedInt()).toBe(rngB.seedInt());
    }
    const stats = compiled.graphStats!;
    expect(stats.graphCalls).toBeGreaterThan(0);
    // Two graphs (attention forward and backward) per padded length (5, 12), or per padded shape
    // for a chunk in query blocks, one position-wise graph for every packed row count, and the
    // step's score products and score gradients.
    const h = net.architecture.heads;
    const attentionKeys = steps.flat().map((c) => {
      const [rows, length] = [paddedRows(c.batchSize), paddedLength(c.maxLength)];
      return attentionBlocks(rows, length, h, maxAttentionBlockCells ?? MAX_ATTENTION_BLOCK_CELLS).length > 1 ? `${rows}x${length}` : `x${length}`;
    });
    expect(stats.compiled).toBe(2 * new Set(attentionKeys).size + 3);
    compiled.dispose();
    // Nothing left behind (the running zeros are freed by dispose).
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });
});
