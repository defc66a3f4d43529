import { tf, registerWasmKernelGaps } from './index.js';
import { randn, runOn, closeness } from './testing.test-util.js';

// Parity with the cpu backend (the reference implementation of every kernel). Both compute in
// float32; sums of the same terms in another order differ by a few ulps, so |wasm - cpu| <=
// 1e-5 + 1e-5 |cpu| for unit-scale data.
const ATOL = 1e-5;
const RTOL = 1e-5;

describe('wasm kernel gaps', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.setBackend('cpu');
  });

  it('registers UnsortedSegmentSum and Conv2DBackpropFilter for wasm, corrects OneHot and replaces the slicing kernels, once', () => {
    const slice = tf.getKernel('Slice', 'wasm');
    expect(registerWasmKernelGaps()).toEqual(['UnsortedSegmentSum', 'Conv2DBackpropFilter', 'OneHot', 'Slice', 'Unpack', 'SplitV']);
    expect(tf.getKernel('Slice', 'wasm')).toBe(slice); // already replaced when tensor-ops loaded; not wrapped twice
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('OneHot gives the asked dtype (wasm 4.22 wrote int32 bits into float32 outputs)', async () => {
    const out = await runOn('wasm', () => ({
      f: tf.oneHot(tf.tensor1d([1, 3, 0], 'int32'), 4, 1, 0, 'float32'),
      scaled: tf.oneHot(tf.tensor1d([2], 'int32'), 3, 5, -1, 'float32'),
      i: tf.oneHot(tf.tensor1d([2, 0], 'int32'), 3),
    }));
    expect(Array.from(out.f)).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
    expect(Array.from(out.scaled)).toEqual([-1, -1, 5]);
    expect(Array.from(out.i)).toEqual([0, 0, 1, 1, 0, 0]);
  });

  it('UnsortedSegmentSum matches a hand computation, drops out-of-range ids, keeps int32', async () => {
    const out = await runOn('wasm', () => ({
      f: tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]), tf.tensor1d([2, 0, 2, 5], 'int32'), 3),
      i: tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2),
    }));
    // segment 0 <- row 1; segment 1 <- nothing; segment 2 <- rows 0 and 2; id 5 is out of range.
    expect(Array.from(out.f)).toEqual([3, 4, 0, 0, 6, 8]);
    expect(Array.from(out.i)).toEqual([3, 3]);
  });

  it('Slice, Unpack and SplitV (read from heap views) equal the cpu backend, every dtype and axis', async () => {
    const values = randn(3 * 4 * 5, 'slicing');
    const compute = () => {
      const x = tf.tensor3d(values, [3, 4, 5]);
      const ints = tf.tensor3d(values.map((v) => Math.round(10 * v)), [3, 4, 5], 'int32');
      const bools = tf.greater(x, 0);
      const out: Record<string, tf.Tensor> = {
        // Contiguous runs of every length: a whole trailing block, part of a row, single elements.
        rows: tf.slice(x, [1, 0, 0], [2, 4, 5]),
        block: tf.slice(x, [0, 1, 0], [3, 2, 5]),
        inner: tf.slice(x, [1, 1, 2], [2, 3, 2]),
        column: tf.slice(x, [0, 0, 4], [3, 4, 1]),
        toEnd: tf.slice(x, [2, 3, 1], [-1, -1, -1]),
        empty: tf.slice(x, [0, 0, 0], [3, 0, 5]),
        flat: tf.slice(tf.reshape(x, [60]), [7], [11]),
        ints: tf.slice(ints, [0, 2, 1], [3, 2, 3]),
        bools: tf.cast(tf.slice(bools, [1, 0, 3], [1, 4, 2]), 'float32'),
        split: tf.concat(tf.split(x, [1, 3, 1], 2).map((t, i) => tf.mul(t, i + 1)), 2),
        splitRows: tf.concat(tf.split(ints, 3, 0).map((t, i) => tf.mul(t, i + 1)), 0),
        // A gradient through split (its gradient is a concat) and unstack (a stack).
        grad: tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.split(t, [2, 2], 1)[1], tf.stack(tf.unstack(t, 0).map((u, i) => tf.mul(u, i)), 0).slice([0, 0, 0], [3, 2, 5]))))(x),
      };
      for (const axis of [0, 1, 2, -1]) tf.unstack(x, axis).forEach((t, i) => (out[`unstack${axis}_${i}`] = t));
      tf.unstack(ints, 1).forEach((t, i) => (out[`unstackInts${i}`] = t));
      return out;
    };
    const cpu = await runOn('cpu', compute);
    const wasm = await runOn('wasm', compute);
    expect(Object.keys(wasm).sort()).toEqual(Object.keys(cpu).sort());
    // Slicing copies values: equal exactly, but the gradient (sums of products) to rounding.
    for (const k of Object.keys(cpu)) {
      if (k === 'grad') expect(closeness({ grad: wasm.grad }, { grad: cpu.grad }, ATOL, RTOL).worst).toBeLessThanOrEqual(1);
      else expect(Array.from(wasm[k])).toEqual(Array.from(cpu[k]));
    }
    expect(cpu.toEnd).toHaveLength(4);
    expect(cpu.empty).toHaveLength(0);
    expect(cpu.unstack2_4).toHaveLength(12);
  });

  it('gradient of gather (an embedding lookup with repeated ids) equals the cpu backend', async () => {
    const table = randn(7 * 5, 'table');
    const compute = () => {
      const embedding = tf.tensor2d(table, [7, 5]);
      const ids = tf.tensor2d([[0, 3, 3], [6, 0, 2]], [2, 3], 'int32');
      const weights = tf.tensor3d(randn(2 * 3 * 5, 'w'), [2, 3, 5]);
      const grad = tf.grad((e: tf.Tensor) => tf.sum(tf.mul(tf.gather(e, ids), weights)))(embedding);
      return { grad };
    };
    const cpu = await runOn('cpu', compute);
    const wasm = await runOn('wasm', compute);
    expect(closeness(wasm, cpu, ATOL, RTOL).worst).toBeLessThanOrEqual(1);
    // Rows never looked up (1, 4, 5) get exactly zero gradient.
    for (const row of [1, 4, 5]) for (let j = 0; j < 5; j++) expect(wasm.grad[row * 5 + j]).toBe(0);
  });

  it('filter gradient of a causal conv1d (kernel 3, the NDM window) equals the cpu backend', async () => {
    const compute = () => {
      const x = tf.tensor3d(randn(2 * 6 * 4, 'x'), [2, 6, 4]);
      const filter = tf.tensor3d(randn(3 * 4 * 5, 'f'), [3, 4, 5]);
      const dyWeights = tf.tensor3d(randn(2 * 6 * 5, 'dy'), [2, 6, 5]);
      const causal = (f: tf.Tensor) => tf.conv1d(tf.pad(x, [[0, 0], [2, 0], [0, 0]]) as tf.Tensor3D, f as tf.Tensor3D, 1, 'valid');
      const grad = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(causal(f), dyWeights)))(filter);
      return { grad };
    };
    const cpu = await runOn('cpu', compute);
    const wasm = await runOn('wasm', compute);
    expect(closeness(wasm, cpu, ATOL, RTOL).worst).toBeLessThanOrEqual(1);
  });

  it.each([
    ['NHWC', [2, 7, 6, 3], [3, 2, 3, 4], [2, 2], 'same'],
    ['NHWC', [1, 5, 5, 2], [2, 2, 2, 3], [1, 1], 'valid'],
    ['NHWC', [1, 6, 5, 2], [3, 3, 2, 2], [2, 1], 1],
    ['NCHW', [2, 3, 6, 5], [3, 3, 3, 2], [2, 2], 'same'],
  ] as const)('Conv2DBackpropFilter kernel %s x=%j filter=%j strides=%j pad=%j equals the cpu backend', async (dataFormat, xShape, filterShape, strides, pad) => {
    const info = tf.backend_util.computeConv2DInfo(
      (dataFormat === 'NCHW' ? [xShape[0], xShape[2], xShape[3], xShape[1]] : xShape) as [number, number, number, number],
      filterShape as unknown as [number, number, number, number],
      strides as unknown as [number, number],
      1,
      pad,
    );
    const dyShape = dataFormat === 'NCHW' ? [info.batchSize, info.outChannels, info.outHeight, info.outWidth] : info.outShape;
    const compute = () => {
      const x = tf.tensor(randn(xShape.reduce((a, b) => a * b, 1), 'cx'), [...xShape]);
      const dy = tf.tensor(randn(dyShape.reduce((a, b) => a * b, 1), 'cdy'), [...dyShape]);
      const grad = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [...strides], pad, dataFormat, filterShape: [...filterShape] } as unknown as tf.NamedAttrMap) as tf.Tensor;
      x.dispose();
      dy.dispose();
      return { grad };
    };
    const cpu = await runOn('cpu', compute);
    const wasm = await runOn('wasm', compute);
    expect(closeness(wasm, cpu, ATOL, RTOL).worst).toBeLessThanOrEqual(1);
  });
});
