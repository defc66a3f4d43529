import { initBackend, tf, type BackendName } from '@cascade-lab/tensor-ops';
import { Adam, constantSchedule, noamSchedule } from './adam.js';

/** The backends this machine runs: cpu always; tensorflow (compiled graphs) where tfjs-node loads. */
async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = ['cpu'];
  try {
    await initBackend('tensorflow');
    out.push('tensorflow');
  } catch {
    // tfjs-node absent: the compiled path is not testable here.
  }
  await initBackend('cpu');
  return out;
}
const backends = await availableBackends();

afterAll(() => initBackend('cpu'));

describe('schedules', () => {
  it('Noam rises linearly for the warm-up and then decays as step^-0.5 (hand values)', () => {
    const lr = noamSchedule(64, 1000);
    // 64^-0.5 = 0.125; 1000^-1.5 = 3.16227766e-5; 1000^-0.5 = 3.16227766e-2; 4000^-0.5 = 1.58113883e-2.
    expect(lr(1)).toBeCloseTo(0.125 * 3.16227766e-5, 12);
    expect(lr(1000)).toBeCloseTo(0.125 * 3.16227766e-2, 9);
    expect(lr(4000)).toBeCloseTo(0.125 * 1.58113883e-2, 9);
    // Linear in the warm-up: twice the step, twice the rate; after it, four times the step, half the rate.
    expect(lr(500) / lr(250)).toBeCloseTo(2, 9);
    expect(lr(8000) / lr(2000)).toBeCloseTo(0.5, 9);
    // d 512, warm-up 4000 (the transformer's own numbers): the peak 512^-0.5 * 4000^-0.5 = 6.98771242e-4.
    expect(noamSchedule(512, 4000)(4000)).toBeCloseTo(6.98771242e-4, 11);
  });

  it('constant is constant, and a number means a constant schedule', () => {
    expect([1, 10, 1e6].map(constantSchedule(0.01))).toEqual([0.01, 0.01, 0.01]);
    const adam = new Adam({ learningRate: 0.02 });
    expect(adam.learningRate(1)).toBe(0.02);
    expect(adam.learningRate(999)).toBe(0.02);
    adam.dispose();
  });
});

/**
 * Trains two variables with `pattern[t]` naming those with a gradient at step t (gradients depend
 * on the values, so every step matters); their final values.
 */
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

const EVERY_STEP = [['a', 'b'], ['a', 'b'], ['a', 'b'], ['a', 'b'], ['a', 'b']];
// b has no gradient at step 3: the fused state splits into per-variable moments, carried over.
// (tf.train.adam keys its moments by position in the gradient list, so only a trailing variable
// may skip for it to be a valid reference.)
const SKIPPING = [['a', 'b'], ['a', 'b'], ['a'], ['a', 'b'], ['a', 'b']];

describe('Adam', () => {
  it('takes steps of exactly lr under a constant gradient (bias correction), as by hand', async () => {
    await initBackend('cpu');
    // p = 1, g = 0.5, lr 0.1, betas (0.9, 0.98): m_hat = 0.5 and v_hat = 0.25 at every step, so each
    // update is 0.1 * 0.5 / (0.5 + 1e-9) = 0.1.
    const p = tf.variable(tf.scalar(1), true, 'adam-test/p');
    const adam = new Adam({ beta1: 0.9, beta2: 0.98, epsilon: 1e-9, learningRate: 0.1 });
    for (const expected of [0.9, 0.8, 0.7]) {
      const g = tf.scalar(0.5);
      adam.applyGradients([p], { [p.name]: g });
      g.dispose();
      expect(p.dataSync()[0]).toBeCloseTo(expected, 6);
    }
    expect(adam.iterations).toBe(3);
    adam.dispose();
    p.dispose();
  });

  it('follows its schedule: each step moves by that step\'s rate', async () => {
    await initBackend('cpu');
    // Same constant gradient as above, so step t moves p by exactly lr(t) (to float32 rounding);
    // schedule lr(t) = 0.01 t: after three steps p = 1 - 0.01 - 0.02 - 0.03 = 0.94.
    const p = tf.variable(tf.scalar(1), true, 'adam-test/q');
    const adam = new Adam({ beta1: 0.9, beta2: 0.98, epsilon: 1e-9, learningRate: (t) => 0.01 * t });
    expect(adam.learningRate()).toBeCloseTo(0.01, 12);
    for (let t = 0; t < 3; t++) {
      const g = tf.scalar(0.5);
      adam.applyGradients([p], { [p.name]: g });
      g.dispose();
    }
    expect(p.dataSync()[0]).toBeCloseTo(0.94, 6);
    expect(adam.learningRate()).toBeCloseTo(0.04, 12);
    adam.dispose();
    p.dispose();
  });

  describe.each(backends)('on %s: tf.train.adam\'s numbers, bit for bit', (backend) => {
    it.each([
      ['every variable at every step (fused)', EVERY_STEP, { lr: 0.05, b1: 0.8, b2: 0.99, eps: undefined }],
      ['a variable skips steps (fused, then per variable with the moments carried over)', SKIPPING, { lr: 0.01, b1: 0.9, b2: 0.98, eps: 1e-9 }],
    ])('%s', async (_, pattern, o) => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const ours = new Adam({ learningRate: o.lr, beta1: o.b1, beta2: o.b2, epsilon: o.eps });
      const got = train(pattern, (variables, grads) => ours.applyGradients(variables, grads));
      expect(ours.iterations).toBe(pattern.length);
      ours.dispose();
      // Everything it made is freed (tf.train.adam keeps a few scalars after dispose()).
      expect(tf.memory().numTensors).toBe(before);
      const reference = tf.train.adam(o.lr, o.b1, o.b2, o.eps);
      const expected = train(pattern, (_, grads) => reference.applyGradients(grads));
      reference.dispose();
      // The same float32 operations in the same order: equal, not merely close.
      expect(got).toEqual(expected);
      // The steps are not trivially small: the values moved.
      expect(Math.abs(got[0][0] - 1)).toBeGreaterThan(0.01);
    });
  });

  it('with a Noam schedule, matches Algorithm 1 of Kingma & Ba computed in float64 on the host', async () => {
    await initBackend('cpu');
    const schedule = (t: number) => noamSchedule(16, 3)(t) * 0.1;
    const adam = new Adam({ learningRate: schedule, beta1: 0.9, beta2: 0.98, epsilon: 1e-9 });
    const got = train(EVERY_STEP, (v, g) => adam.applyGradients(v, g));
    adam.dispose();
    // The same five steps in doubles: m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g^2,
    // p <- p - lr(t) (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), gradients as train() makes them.
    const values = [[1, -2, 0.5, 3], [0.25, -1, 2]];
    const m = values.map((r) => r.map(() => 0));
    const v = values.map((r) => r.map(() => 0));
    for (let t = 0; t < EVERY_STEP.length; t++) {
      const step = t + 1;
      const grads = [values[0].map((x) => 0.7 * Math.sin(x + t)), values[1].map((x) => 1.3 * Math.cos(x * (t + 1)))];
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < values[i].length; j++) {
          const g = grads[i][j];
          m[i][j] = 0.9 * m[i][j] + 0.1 * g;
          v[i][j] = 0.98 * v[i][j] + 0.02 * g * g;
          values[i][j] -= (schedule(step) * (m[i][j] / (1 - 0.9 ** step))) / (Math.sqrt(v[i][j] / (1 - 0.98 ** step)) + 1e-9);
        }
      }
    }
    // float32 against float64 over five steps of size <= 0.1 * 16^-0.5 * 3^-0.5 = 0.0144: a few ulps.
    got.flat().forEach((x, k) => expect(Math.abs(x - values.flat()[k])).toBeLessThan(1e-6));
    expect(Math.abs(got[0][0] - 1)).toBeGreaterThan(0.01);
  });
});
