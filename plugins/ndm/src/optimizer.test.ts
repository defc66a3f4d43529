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
