import { initBackend, initTensorflowIfInstalled, tf } from '@cascade-lab/tensor-ops';
import { END_USER } from '@cascade-lab/core';
import { trainingChunk, type LstmNetwork } from './network.js';
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

  it('padding rows and columns change neither the loss nor the gradients', () => {
    const network = handNetwork();
    const lg = new LossAndGradients(network, { eager: true });
    const a = lg.compute(trainingChunk([[2, 4, 3], [5, 2]], true), 5);
    const b = lg.compute(trainingChunk([[2, 4, 3], [5, 2]], true, 4, 7), 5);
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
    const chunks = [trainingChunk([[2, 4, 3], [5, 2]], true, 4, 4), trainingChunk([[3, 5], [4, 2, 5, 3]], true, 4, 4), trainingChunk([[5, 4, 3, 2], [2]], false, 4, 4)];
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
    expect(compiled.graph.stats.graphCalls).toBe(2); // the first call of the one signature traces eagerly
    network.dispose();
  });
});
