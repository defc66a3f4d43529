import { Adam, constantSchedule, noamSchedule } from './optimizer.js';
import { useBackend } from './testing.test-util.js';
import { tf } from './tf.js';

beforeAll(() => useBackend('cpu'));

describe('Noam schedule (authors\' code)', () => {
  it('rises linearly for the warm-up and then decays as step^-0.5', () => {
    const lr = noamSchedule(64, 1000);
    // Hand values: 64^-0.5 = 0.125; 1000^-1.5 = 3.16227766e-5; 4000^-0.5 = 1.58113883e-2.
    expect(lr(1)).toBeCloseTo(0.125 * 3.16227766e-5, 12);
    expect(lr(1000)).toBeCloseTo(0.125 * 3.16227766e-2, 9);
    expect(lr(4000)).toBeCloseTo(0.125 * 1.58113883e-2, 9);
    expect(lr(500) / lr(250)).toBeCloseTo(2, 9);
  });
});

describe('Adam', () => {
  it('takes steps of exactly lr under a constant gradient (bias correction), as by hand', () => {
    // p = 1, g = 0.5, lr 0.1, betas (0.9, 0.98): m_hat = 0.5 and v_hat = 0.25 at every step, so each
    // update is 0.1 * 0.5 / (0.5 + 1e-9) = 0.1.
    const p = tf.variable(tf.scalar(1), true, 'adam-test/p');
    const adam = new Adam({ beta1: 0.9, beta2: 0.98, epsilon: 1e-9, schedule: constantSchedule(0.1) });
    for (const expected of [0.9, 0.8, 0.7]) {
      const g = tf.scalar(0.5);
      adam.apply([p], { [p.name]: g });
      g.dispose();
      expect(p.dataSync()[0]).toBeCloseTo(expected, 6);
    }
    expect(adam.iterations).toBe(3);
    adam.dispose();
    p.dispose();
  });
});

describe('Adam, fused and per variable', () => {
  // TensorFlow.js' own Adam (constant rate; it also skips the moments of a variable without a
  // gradient and corrects with the global step) is the reference for both update paths.
  /** Trains two variables with `pattern[t]` naming those with a gradient at step t; their final values. */
  function train(pattern: string[][], apply: (variables: tf.Variable[], grads: Record<string, tf.Tensor>) => void): number[][] {
    const a = tf.tidy(() => tf.variable(tf.tensor2d([[1, -2], [0.5, 3]]), true));
    const b = tf.tidy(() => tf.variable(tf.tensor1d([0.25, -1, 2]), true));
    for (let t = 0; t < pattern.length; t++) {
      const grads: Record<string, tf.Tensor> = {};
      if (pattern[t].includes('a')) grads[a.name] = tf.tidy(() => tf.mul(tf.sin(tf.add(a, t)), 0.7));
      if (pattern[t].includes('b')) grads[b.name] = tf.tidy(() => tf.mul(tf.cos(tf.mul(b, t + 1)), 1.3));
      apply([a, b], grads);
      Object.values(grads).forEach((g) => g.dispose());
    }
    const out = [Array.from(a.dataSync()), Array.from(b.dataSync())];
    a.dispose();
    b.dispose();
    return out;
  }

  function run(pattern: string[][]): number[][] {
    const ours = new Adam({ beta1: 0.9, beta2: 0.98, epsilon: 1e-9, schedule: constantSchedule(0.01) });
    const out = train(pattern, (variables, grads) => ours.apply(variables, grads));
    ours.dispose();
    return out;
  }

  function reference(pattern: string[][]): number[][] {
    const opt = tf.train.adam(0.01, 0.9, 0.98, 1e-9);
    const out = train(pattern, (_, grads) => opt.applyGradients(grads));
    opt.dispose();
    return out;
  }

  it.each([
    ['every variable at every step (fused)', [['a', 'b'], ['a', 'b'], ['a', 'b'], ['a', 'b']]],
    ['a variable skips a step (fused, then per variable with the moments carried over)', [['a', 'b'], ['a', 'b'], ['a'], ['a', 'b']]],
  ])('matches TensorFlow.js Adam: %s', (_, pattern) => {
    const before = tf.memory().numTensors;
    const ours = run(pattern as string[][]);
    // Our optimizer frees everything it made (TensorFlow.js' keeps a few scalars after dispose()).
    expect(tf.memory().numTensors).toBe(before);
    const expected = reference(pattern as string[][]);
    ours.flat().forEach((x, i) => expect(x).toBeCloseTo(expected.flat()[i], 6));
  });
});
