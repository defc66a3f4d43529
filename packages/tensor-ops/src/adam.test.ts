import { CompiledAdam, initBackend, tf, type BackendName } from './index.js';
import { parityBackends } from './testing.test-util.js';

const backends = await parityBackends();

/** Trains two variables for five steps with gradients that depend on the values; their final values. */
function train(apply: (variables: tf.Variable[], grads: Record<string, tf.Tensor>) => void): number[][] {
  const a = tf.tidy(() => tf.variable(tf.tensor2d([[1, -2], [0.5, 3]]), true));
  const b = tf.tidy(() => tf.variable(tf.tensor1d([0.25, -1, 2]), true));
  for (let t = 0; t < 5; t++) {
    const grads = { [a.name]: tf.tidy(() => tf.mul(tf.sin(tf.add(a, t)), 0.7)), [b.name]: tf.tidy(() => tf.mul(tf.cos(tf.mul(b, t + 1)), 1.3)) };
    apply([a, b], grads);
    Object.values(grads).forEach((g) => g.dispose());
  }
  const out = [Array.from(a.dataSync()), Array.from(b.dataSync())];
  a.dispose();
  b.dispose();
  return out;
}

describe('CompiledAdam', () => {
  afterAll(() => initBackend('cpu'));
  it.each(['cpu', ...backends.others] as BackendName[])('takes the steps of tf.train.adam on %s', async (backend) => {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    const ours = new CompiledAdam({ learningRate: 0.05, beta1: 0.8, beta2: 0.99 });
    const got = train((variables, grads) => ours.applyGradients(variables, grads));
    expect(ours.iterations).toBe(5);
    ours.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const reference = tf.train.adam(0.05, 0.8, 0.99);
    const expected = train((_, grads) => reference.applyGradients(grads));
    reference.dispose();
    got.flat().forEach((x, i) => expect(Math.abs(x - expected.flat()[i])).toBeLessThan(1e-6));
    // The steps are not trivially small: the values moved.
    expect(Math.abs(got[0][0] - 1)).toBeGreaterThan(0.1);
  });

  it('refuses a missing gradient and a changed variable list', async () => {
    await initBackend('cpu');
    const a = tf.variable(tf.scalar(1), true, 'adam-test/a');
    const b = tf.variable(tf.scalar(2), true, 'adam-test/b');
    const adam = new CompiledAdam({ learningRate: 0.1 });
    const g = tf.scalar(0.5);
    expect(() => adam.applyGradients([a, b], { [a.name]: g })).toThrow(/no gradient for variable adam-test\/b/);
    adam.applyGradients([a], { [a.name]: g });
    expect(() => adam.applyGradients([b], { [b.name]: g })).toThrow(/the same variables/);
    adam.dispose();
    tf.dispose([a, b, g]);
  });
});
