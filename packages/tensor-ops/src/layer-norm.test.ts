import { tf, layerNorm, layerNormBackward, layerNormForward, LayerNorm } from './index.js';
import { expectParity, gradientCheck, parityBackends, randn } from './testing.test-util.js';

const backends = await parityBackends();
const x = randn(3 * 6, 'ln-x', 2);
const gain = randn(6, 'ln-g', 0.5).map((v) => 1 + v);
const bias = randn(6, 'ln-b', 0.5);

describe('layerNorm', () => {
  it('standard and NDM variants match hand values for [1, 2, 3, 4]', () => {
    const [std, ndm] = tf.tidy(() => {
      const v = tf.tensor2d([[1, 2, 3, 4]]);
      return [layerNorm(v, tf.ones([4]), tf.zeros([4])).arraySync(), layerNorm(v, tf.ones([4]), tf.zeros([4]), { variant: 'ndm' }).arraySync()];
    });
    // mean 2.5, biased variance 1.25: (x - 2.5) / sqrt(1.25 + 1e-5) = [-1.34163542, -0.44721181, ...] (numpy)
    [-1.34163542, -0.44721181, 0.44721181, 1.34163542].forEach((e, i) => expect(std[0][i]).toBeCloseTo(e, 5));
    // unbiased std sqrt(5/3) = 1.2909944: (x - 2.5) / (1.2909944 + 1e-3) = [-1.1609957, -0.38699857, ...] (numpy)
    [-1.1609957, -0.38699857, 0.38699857, 1.1609957].forEach((e, i) => expect(ndm[0][i]).toBeCloseTo(e, 5));
  });

  it('a constant row gives the bias and finite gradients (NDM variant)', () => {
    const [out, grad] = tf.tidy(() => {
      const v = tf.tensor2d([[3, 3, 3]]);
      const g = tf.tensor1d([2, 2, 2]);
      const b = tf.tensor1d([0.5, -1, 0]);
      return [layerNorm(v, g, b, { variant: 'ndm' }).arraySync(), tf.grad((y: tf.Tensor) => tf.sum(tf.mul(layerNorm(y, g, b, { variant: 'ndm' }), tf.tensor2d([[1, 2, 3]]))))(v).arraySync()];
    });
    expect(out[0]).toEqual([0.5, -1, 0]);
    expect(grad[0].every(Number.isFinite)).toBe(true);
  });

  it.each(['standard', 'ndm'] as const)('%s: gradients in x, gain and bias match central differences', (variant) => {
    const r = gradientCheck((v, g, b) => layerNorm(v, g, b, { variant }), [
      { values: x, shape: [3, 6] },
      { values: gain, shape: [6] },
      { values: bias, shape: [6] },
    ]);
    expect(r.failures).toEqual([]);
    expect(r.checked).toBe(30);
  });

  it.each(['standard', 'ndm'] as const)('%s: the written-out backward (layerNormBackward) equals the tape, leading axes and a constant row included', (variant) => {
    tf.tidy(() => {
      // [2, 3, 6]: two leading axes; row [0, 1] constant (the ndm variance floor).
      const values = x.concat(x).slice(0, 36);
      for (let k = 0; k < 6; k++) values[6 + k] = 0.7;
      const v = tf.tensor3d(values, [2, 3, 6]);
      const g = tf.tensor1d(gain);
      const b = tf.tensor1d(bias);
      const dy = tf.tensor3d(randn(36, 'ln-dy', 1), [2, 3, 6]);
      const tape = tf.grads((a: tf.Tensor, c: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(layerNorm(a, c, e, { variant }), dy)) as tf.Scalar)([v, g, b]);
      const forward = layerNormForward(v, g, b, { variant });
      expect(Array.from(forward.y.dataSync())).toEqual(Array.from(layerNorm(v, g, b, { variant }).dataSync()));
      const written = layerNormBackward(dy, g, forward.trace);
      [written.dx, written.dGain, written.dBias].forEach((t, i) => {
        const want = tape[i].dataSync();
        // float32 relative precision (the standard variant's constant row has gradients near 700).
        t.dataSync().forEach((value, j) => expect(Math.abs(value - want[j])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[j]))));
      });
    });
  });

  it(`agrees across backends (cpu vs ${backends.others.join(', ')})`, async () => {
    // Outputs are O(1) after normalisation; a handful of float32 ops: 1e-5 + 1e-5 relative.
    await expectParity(
      backends,
      () => {
        const v = tf.tensor2d(x, [3, 6]);
        const g = tf.tensor1d(gain);
        const b = tf.tensor1d(bias);
        const cot = tf.tensor2d(randn(18, 'ln-c'), [3, 6]);
        const out: Record<string, tf.Tensor> = {};
        for (const variant of ['standard', 'ndm'] as const) {
          const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(layerNorm(a, c, d, { variant }), cot)) as tf.Scalar)([v, g, b]);
          out[`${variant}`] = layerNorm(v, g, b, { variant });
          grads.forEach((t, i) => (out[`${variant}-d${i}`] = t));
        }
        return out;
      },
      1e-5,
      1e-5,
    );
  });
});

describe('LayerNorm (weights)', () => {
  it('starts as gain 1, bias 0 and normalises the last axis', () => {
    const ln = new LayerNorm(4, { variant: 'ndm' });
    expect(ln.gain.arraySync()).toEqual([1, 1, 1, 1]);
    expect(ln.bias.arraySync()).toEqual([0, 0, 0, 0]);
    const mean = tf.tidy(() => tf.mean(ln.apply(tf.tensor2d([[1, 5, 2, 8]]))).arraySync() as number);
    expect(mean).toBeCloseTo(0, 6);
    ln.dispose();
  });
});
