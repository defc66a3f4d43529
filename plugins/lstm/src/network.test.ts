import { initBackend, initTensorflowIfInstalled, tf } from '@cascade-lab/tensor-ops';
import { END_USER } from '@cascade-lab/core';
import { griddedChunk, rowGroups, trainingChunk, type LstmNetwork } from './network.js';
import { handNetwork } from './testing.test-util.js';
import { LossAndGradients } from './trainer.js';

/*
 * Expected values: an independent numpy port (float64) of the forward pass, run once here:
 *   sig = 1/(1+exp(-x)); z = emb[u] @ K + h @ R + b; i, f, c~, o = split(z, 4)
 *   c = sig(f) c + sig(i) tanh(c~); h = sig(o) tanh(c); logits = h @ W + b_out
 * with the weights of testing.test-util.ts (the same closed forms), sequence [2, 4, 3], padding and
 * the users infected so far set to -inf, and the mean of -log softmax at targets [4, 3, </s>].
 */
const EXPECTED_ROWS = [
  [-Infinity, 0.03856815, -Infinity, 0.1501989, 0.20625908, 0.26176016],
  [-Infinity, 0.01973711, -Infinity, 0.12829668, -Infinity, 0.24443785],
  [-Infinity, 0.04464534, -Infinity, -Infinity, -Infinity, 0.24860118],
];
const EXPECTED_NLL_WITH_END = 1.0844208081854507;
const EXPECTED_NLL_WITHOUT_END = 1.2264732833311776;

function forwardRows(network: LstmNetwork, users: number[]): number[][] {
  const logits = tf.tidy(() => network.maskedLogits(tf.tensor2d(users, [1, users.length], 'int32')));
  const v = Array.from(logits.dataSync());
  logits.dispose();
  const U = network.architecture.numUsers;
  return users.map((_, t) => v.slice(t * U, (t + 1) * U));
}

function chunkLoss(network: LstmNetwork, learnEnd: boolean, eager = true): { loss: number; grads: Record<string, Float32Array> } {
  const chunk = trainingChunk([[2, 4, 3]], learnEnd);
  const r = new LossAndGradients(network, { eager }).compute(chunk, chunk.count);
  // By weight name (variable names differ between networks).
  const grads: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(network.allWeights())) grads[name] = (r.grads[v.name].dataSync() as Float32Array).slice();
  tf.dispose(Object.values(r.grads));
  return { loss: r.loss, grads };
}

describe('lstm network (cpu)', () => {
  beforeAll(() => initBackend('cpu'));

  it('forward pass equals the numpy port, infected users and padding masked', () => {
    const network = handNetwork();
    const rows = forwardRows(network, [2, 4, 3]);
    rows.forEach((row, t) =>
      row.forEach((x, v) => {
        if (EXPECTED_ROWS[t][v] === -Infinity) expect(x).toBeLessThan(-1e8);
        else expect(x).toBeCloseTo(EXPECTED_ROWS[t][v], 6);
      }),
    );
    network.dispose();
  });

  it('loss equals the numpy mean NLL, with and without </s> as a target', () => {
    const network = handNetwork();
    expect(chunkLoss(network, true).loss).toBeCloseTo(EXPECTED_NLL_WITH_END, 5);
    expect(chunkLoss(network, false).loss).toBeCloseTo(EXPECTED_NLL_WITHOUT_END, 5);
    network.dispose();
  });

  it('targets: next user, </s> last, repeated users and padding weighted out', () => {
    // [2, 3, 2, 4]: the target 2 at position 1 is already infected (weight 0); row 2 is padding.
    const c = trainingChunk([[2, 3, 2, 4], [5]], true, 3, 5);
    expect(Array.from(c.targets.slice(0, 5))).toEqual([3, 2, 4, END_USER, 0]);
    expect(Array.from(c.weights.slice(0, 5))).toEqual([1, 0, 1, 1, 0]);
    expect(Array.from(c.targets.slice(5, 10))).toEqual([END_USER, 0, 0, 0, 0]);
    expect(c.count).toBe(4);
    expect(Array.from(c.weights.slice(10))).toEqual([0, 0, 0, 0, 0]);
    expect(trainingChunk([[2, 3, 2, 4], [5]], false).count).toBe(2);
  });

  it('loss rows: the trained positions, their targets, and the infected users to mask', () => {
    // Length 5 (+ 1 slot): row 0 is [2, 3, 2, 4] (position 1's target 2 is repeated: not a loss row).
    const c = trainingChunk([[2, 3, 2, 4], [5]], true, 3, 5, () => 6);
    expect(Array.from(c.positions)).toEqual([0, 2, 3, 5, 0, 0]);
    expect(Array.from(c.positionTargets)).toEqual([3, 4, END_USER, END_USER, 0, 0]);
    expect(Array.from(c.positionWeights)).toEqual([1, 1, 1, 1, 0, 0]);
    const masked = (k: number) => Array.from({ length: 6 }, (_, j) => [c.maskIndices[(k * 6 + j) * 2], c.maskIndices[(k * 6 + j) * 2 + 1]]);
    expect(masked(1)).toEqual([[1, 2], [1, 3], [1, 2], [1, 0], [1, 0], [1, 0]]); // after 2, 3, 2; then padding
    expect(masked(3)).toEqual([[3, 5], [3, 0], [3, 0], [3, 0], [3, 0], [3, 0]]);
    expect(masked(5)).toEqual(Array.from({ length: 6 }, () => [5, 0]));
    expect(() => trainingChunk([[2, 3, 2, 4], [5]], true, 3, 5, () => 3)).toThrow(RangeError);
  });

  it('row groups: each row group runs over its own length, and the loss rows index the groups laid end to end', () => {
    // Rows [2, 3, 2, 4], [5, 3], [4]; groups of 1 row x 5 and 2 rows x 2: states 0..4 are row 0's,
    // 5..6 row 1's, 7..8 row 2's. Trained: row 0 at t = 0, 2, 3; row 1 at t = 0, 1; row 2 at t = 0.
    const c = trainingChunk([[2, 3, 2, 4], [5, 3], [4]], true, 3, 5, () => 6, [{ rows: 1, length: 5 }, { rows: 2, length: 2 }]);
    expect(Array.from(c.positions)).toEqual([0, 2, 3, 5, 6, 7]);
    expect(Array.from(c.positionTargets)).toEqual([3, 4, END_USER, 3, END_USER, END_USER]);
    // The mask pairs follow the users, whatever the groups: row 1 at t = 1 has 5 and 3 infected.
    const masked = (k: number) => Array.from({ length: 6 }, (_, j) => [c.maskIndices[(k * 6 + j) * 2], c.maskIndices[(k * 6 + j) * 2 + 1]]);
    expect(masked(4)).toEqual([[4, 5], [4, 3], [4, 0], [4, 0], [4, 0], [4, 0]]);
    // A group shorter than one of its cascades, or groups that do not cover the rows, are refused.
    expect(() => trainingChunk([[2, 3, 2, 4], [5, 3, 2], [4]], true, 3, 5, () => 6, [{ rows: 1, length: 5 }, { rows: 2, length: 2 }])).toThrow(RangeError);
    expect(() => trainingChunk([[2, 3, 2, 4], [5, 3], [4]], true, 3, 5, () => 6, [{ rows: 1, length: 5 }, { rows: 1, length: 2 }])).toThrow(RangeError);
  });

  it('rowGroups: the first quarter of 8 or more rows at the chunk length, the rest at the power of two above their longest', () => {
    const lengths = [40, 30, 9, 5, 5, 4, 3, 2, 2];
    // 16 rows (9 cascades and 7 padding rows): the first 4 rows at 40, the other 12 at 8 >= 5.
    expect(rowGroups(lengths, 16, 40)).toEqual([{ rows: 4, length: 40 }, { rows: 12, length: 8 }]);
    // The rest as long as the chunk (no saving) and fewer than 8 rows: one group.
    expect(rowGroups([9, 9, 9, 9, 9, 9, 9, 9], 8, 10)).toEqual([{ rows: 8, length: 10 }]);
    expect(rowGroups([40, 3, 2], 7, 40)).toEqual([{ rows: 7, length: 40 }]);
    // griddedChunk uses them (8 cascades: 8 rows, length 40 on the grid).
    expect(griddedChunk([Array.from({ length: 40 }, (_, i) => i + 2), [1, 2], [3, 4], [5], [6], [7], [8], [9]], true).groups).toEqual([{ rows: 2, length: 40 }, { rows: 6, length: 2 }]);
    expect(griddedChunk([Array.from({ length: 40 }, (_, i) => i + 2), [1, 2], [3, 4], [5], [6], [7], [8], [9]], true, { rowGroups: false }).groups).toEqual([{ rows: 8, length: 40 }]);
  });

  it('griddedChunk pads the trained positions to 2 sizes per doubling (powers of two with lossRowSteps 1)', () => {
    // 40 distinct users with learnEnd: 39 next-user targets and </s>, 40 trained; the grid of 2
    // sizes a doubling above 32 has steps of 16 (32, 48, 64): 48, powers of two: 64.
    const long = Array.from({ length: 40 }, (_, i) => i + 2);
    expect(griddedChunk([long], true).count).toBe(40);
    expect(griddedChunk([long], true).positions.length).toBe(48);
    expect(griddedChunk([long], true, { lossRowSteps: 1 }).positions.length).toBe(64);
    // 3 trained (3 users: 2 next users and </s>): below 4 every size is on the grid; the power of two is 4.
    expect(griddedChunk([[2, 3, 4]], true).positions.length).toBe(3);
    expect(griddedChunk([[2, 3, 4]], true, { lossRowSteps: 1 }).positions.length).toBe(4);
  });

  it('loss and gradients equal the dense formulation (softmax over every padded position, mask from a running one-hot count)', () => {
    // The reference: what the loss computed before the loss rows and the scattered mask (a
    // [B, L, U] one-hot running count, logSoftmax over all B x L positions, weighted).
    const network = handNetwork();
    const variables = network.trainableVariables();
    const cascades = [[2, 4, 3], [5, 2, 5, 3], [3]];
    for (const learnEnd of [true, false]) {
      const chunk = trainingChunk(cascades, learnEnd, 4, 6, (n) => n + 3);
      const reference = tf.variableGrads(() => {
        const logp = tf.logSoftmax(network.maskedLogits(tf.tensor2d(chunk.users, [4, 6], 'int32')));
        const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(chunk.targets, 'int32'), 6, 1, 0, 'float32')), 1);
        return tf.div(tf.neg(tf.sum(tf.mul(picked, tf.tensor1d(chunk.weights)))), chunk.count) as tf.Scalar;
      }, variables);
      const r = new LossAndGradients(network, { eager: true }).compute(chunk, chunk.count);
      expect(r.loss).toBeCloseTo(reference.value.dataSync()[0], 6);
      for (const v of variables) {
        const y = reference.grads[v.name].dataSync();
        r.grads[v.name].dataSync().forEach((x, i) => expect(x).toBeCloseTo(y[i], 6));
      }
      tf.dispose([reference.value, ...Object.values(reference.grads), ...Object.values(r.grads)]);
    }
    network.dispose();
  });

  it.each([
    ['padding rows and columns', [{ rows: 4, length: 7 }]],
    ['row groups (2 rows x 7, 2 rows x 2)', [{ rows: 2, length: 7 }, { rows: 2, length: 2 }]],
    ['row groups (1 row x 3, 3 rows x 7)', [{ rows: 1, length: 3 }, { rows: 3, length: 7 }]],
  ])('%s change neither the loss nor the gradients', (_, groups) => {
    const network = handNetwork();
    const lg = new LossAndGradients(network, { eager: true });
    const a = lg.compute(trainingChunk([[2, 4, 3], [5, 2]], true), 5);
    const b = lg.compute(trainingChunk([[2, 4, 3], [5, 2]], true, 4, 7, undefined, groups), 5);
    expect(a.loss).toBeGreaterThan(0.5);
    expect(b.loss).toBeCloseTo(a.loss, 6);
    for (const k of Object.keys(a.grads)) {
      const x = a.grads[k].dataSync();
      const y = b.grads[k].dataSync();
      x.forEach((v, i) => expect(y[i]).toBeCloseTo(v, 6));
    }
    tf.dispose([...Object.values(a.grads), ...Object.values(b.grads)]);
    network.dispose();
  });
});

describe('lstm network: wasm equals cpu', () => {
  afterAll(() => initBackend('cpu'));
  it('forward, loss and gradients agree to float rounding', async () => {
    await initBackend('cpu');
    const cpuNet = handNetwork();
    const cpu = { rows: forwardRows(cpuNet, [2, 4, 3, 5]), ...chunkLoss(cpuNet, true) };
    cpuNet.dispose();
    await initBackend('wasm');
    const wasmNet = handNetwork();
    const wasm = { rows: forwardRows(wasmNet, [2, 4, 3, 5]), ...chunkLoss(wasmNet, true) };
    wasmNet.dispose();
    cpu.rows.flat().forEach((x, i) => expect(wasm.rows.flat()[i]).toBeCloseTo(x, 5));
    expect(wasm.loss).toBeCloseTo(cpu.loss, 5);
    for (const k of Object.keys(cpu.grads)) cpu.grads[k].forEach((x, i) => expect(wasm.grads[k][i]).toBeCloseTo(x, 5));
  });
});

const tensorflow = (await initTensorflowIfInstalled()) !== null;
const onTensorflow = tensorflow ? it : it.skip;
describe('lstm training chunk: compiled graph equals eager', () => {
  afterAll(() => initBackend('cpu'));
  onTensorflow('a compiled loss-and-gradients call matches the eager one, on inputs that change between calls', async () => {
    await initBackend('tensorflow');
    const network = handNetwork();
    const compiled = new LossAndGradients(network);
    const eager = new LossAndGradients(network, { eager: true });
    // One signature: 4 x 4 users and 8 loss rows (5, 6 and 3 trained targets, the rest padding).
    const eight = () => 8;
    // Then a second signature, the same shapes cut into row groups (the graph's key).
    const groups = [{ rows: 1, length: 4 }, { rows: 3, length: 2 }];
    const chunks = [
      trainingChunk([[2, 4, 3], [5, 2]], true, 4, 4, eight),
      trainingChunk([[3, 5], [4, 2, 5, 3]], true, 4, 4, eight),
      trainingChunk([[5, 4, 3, 2], [2]], false, 4, 4, eight),
      trainingChunk([[5, 4, 3, 2], [2]], false, 4, 4, eight, groups),
      trainingChunk([[2, 4, 5, 3], [5, 2], [3]], true, 4, 4, eight, groups),
    ];
    for (const chunk of chunks) {
      const a = compiled.compute(chunk, 3);
      const b = eager.compute(chunk, 3);
      expect(a.loss).toBeCloseTo(b.loss, 6);
      for (const k of Object.keys(a.grads)) {
        const y = b.grads[k].dataSync();
        a.grads[k].dataSync().forEach((v, i) => expect(v).toBeCloseTo(y[i], 6));
      }
      tf.dispose([...Object.values(a.grads), ...Object.values(b.grads)]);
    }
    expect(compiled.graph.stats.graphCalls).toBe(3); // the first call of each signature traces eagerly
    expect(compiled.graph.stats.compiled).toBe(2);
    network.dispose();
  });
});
