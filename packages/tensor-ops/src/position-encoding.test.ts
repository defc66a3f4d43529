import { tf, sinusoidalPositionEncoding, addPositionEncoding } from './index.js';
import { expectParity, gradientCheck, parityBackends, randn } from './testing.test-util.js';

const backends = await parityBackends();

describe('sinusoidalPositionEncoding', () => {
  it('is sin / cos of pos / 10000^(2i/d) (hand values, d = 4)', () => {
    const pe = tf.tidy(() => sinusoidalPositionEncoding(4, 4).arraySync());
    expect(pe[0]).toEqual([0, 1, 0, 1]);
    expect(pe[1][0]).toBeCloseTo(Math.sin(1), 6);
    expect(pe[1][1]).toBeCloseTo(Math.cos(1), 6);
    // i = 1: 10000^(2/4) = 100
    expect(pe[2][2]).toBeCloseTo(Math.sin(0.02), 7);
    expect(pe[3][3]).toBeCloseTo(Math.cos(0.03), 7);
  });

  it('handles an odd width (the last column is a sine)', () => {
    const pe = tf.tidy(() => sinusoidalPositionEncoding(2, 3).arraySync());
    // j = 2: 10000^(2/3) = 464.1589
    expect(pe[1][2]).toBeCloseTo(Math.sin(1 / Math.pow(10000, 2 / 3)), 7);
  });
});

describe('addPositionEncoding', () => {
  it('scales by sqrt(d) and adds the encoding', () => {
    const out = tf.tidy(() => addPositionEncoding(tf.ones([1, 2, 4])).arraySync());
    expect(out[0][0]).toEqual([2, 3, 2, 3]); // 1 * sqrt(4) + [0, 1, 0, 1]
  });

  it('has the gradient of a linear map (central differences)', () => {
    const r = gradientCheck((e) => addPositionEncoding(e as tf.Tensor3D, { scale: 16 }), [{ values: randn(2 * 3 * 4, 'pe'), shape: [2, 3, 4] }]);
    expect(r.failures).toEqual([]);
  });

  it(`agrees across backends (cpu vs ${backends.others.join(', ')})`, async () => {
    await expectParity(
      backends,
      () => {
        const e = tf.tensor3d(randn(2 * 5 * 6, 'pep'), [2, 5, 6]);
        return { out: addPositionEncoding(e), grad: tf.grad((x: tf.Tensor) => tf.sum(tf.square(addPositionEncoding(x as tf.Tensor3D))))(e) };
      },
      1e-6,
      1e-6,
    );
  });
});
