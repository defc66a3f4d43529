import { Rng } from '@cascade-lab/core';
import { tf } from './tf.js';
import { installWasmBatchMatMul } from './wasm-matmul.js';

/** Products and their gradients on the cpu backend, then on wasm with the fast path. */
const cases: [number[], number[], boolean, boolean][] = [
  [[3, 4, 5], [3, 5, 6], false, false],
  [[3, 5, 4], [3, 5, 6], true, false],
  [[3, 4, 5], [3, 6, 5], false, true],
  [[3, 5, 4], [3, 6, 5], true, true],
  [[4, 5], [2, 5, 6], false, false],
  [[2, 3, 4, 5], [5, 6], false, false],
  [[7, 5], [3, 5], false, true],
  [[5, 7], [5, 3], true, false],
];

function run(): { products: number[][]; grads: number[][] } {
  const rng = Rng.fromSeed(1);
  const products: number[][] = [];
  const grads: number[][] = [];
  for (const [sa, sb, ta, tb] of cases) {
    const a = tf.tensor(Float32Array.from({ length: sa.reduce((x, y) => x * y, 1) }, () => rng.normal()), sa);
    const b = tf.tensor(Float32Array.from({ length: sb.reduce((x, y) => x * y, 1) }, () => rng.normal()), sb);
    products.push(Array.from(tf.matMul(a, b, ta, tb).dataSync()));
    // tfjs-core's matMul gradient does not reduce broadcast batch dimensions: products only.
    if (sa.length !== sb.length) continue;
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))))([a, b]);
    grads.push([...ga.dataSync(), ...gb.dataSync()]);
  }
  return { products, grads };
}

describe('wasm BatchMatMul fast path', () => {
  it('gives the cpu backend\'s products and gradients for transposed and batched operands', async () => {
    await tf.setBackend('cpu');
    const reference = run();
    await tf.setBackend('wasm');
    await tf.ready();
    expect(installWasmBatchMatMul()).toBe(true);
    expect(installWasmBatchMatMul()).toBe(false);
    const before = tf.memory().numTensors;
    const ours = run();
    const close = (x: number[], y: number[]) => x.every((v, i) => Math.abs(v - y[i]) <= 1e-4 * (1 + Math.abs(y[i])));
    ours.products.forEach((p, i) => expect(close(p, reference.products[i])).toBe(true));
    ours.grads.forEach((g, i) => expect(close(g, reference.grads[i])).toBe(true));
    // Inputs and results of run() are the only new tensors: nothing leaked inside the kernel.
    const withGrads = cases.filter(([sa, sb]) => sa.length === sb.length).length;
    expect(tf.memory().numTensors - before).toBe(cases.length * 3 + withGrads * 2);
  });
});
