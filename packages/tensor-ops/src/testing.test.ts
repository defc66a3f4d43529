import { tf } from './index.js';
import { gradientCheck, randn } from './testing.test-util.js';

// The gradient checker must be able to fail: a function whose custom gradient is off by 1% (and
// one whose gradient misses a term) are caught, while the true gradient passes.
describe('gradientCheck', () => {
  const values = randn(6, 'gc', 1).map((v) => v + 2); // away from 0, |gradient| ~ 1..10

  const withGradient = (scale: number, extra: number) =>
    tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      // f(x) = x^3 / 3 + sin(x), f'(x) = x^2 + cos(x)
      return {
        value: tf.add(tf.div(tf.pow(x, 3), 3), tf.sin(x)),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.add(tf.mul(tf.square(saved[0]), scale), tf.mul(tf.cos(saved[0]), extra))),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);

  it('accepts the true gradient', () => {
    const f = withGradient(1, 1);
    expect(gradientCheck((x) => f(x), [{ values, shape: [6] }]).failures).toEqual([]);
  });

  it('rejects a gradient 1% too large', () => {
    const f = withGradient(1.01, 1);
    expect(gradientCheck((x) => f(x), [{ values, shape: [6] }]).failures.length).toBeGreaterThan(0);
  });

  it('rejects a gradient that misses a term', () => {
    const f = withGradient(1, 0);
    expect(gradientCheck((x) => f(x), [{ values, shape: [6] }]).failures.length).toBeGreaterThan(0);
  });
});
