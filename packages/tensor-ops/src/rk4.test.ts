import { tf, rk4Integrate, rk4GammaRateIntegral, gammaRateIntegral, gammaRate, gammaIntegralF64 } from './index.js';
import { expectParity, gradientCheck, parityBackends } from './testing.test-util.js';

const backends = await parityBackends();

/** Closed form A * integral_0^P t^gamma e^(-lambda t) dt in float64 (checked against mpmath in incomplete-gamma.test.ts). */
const exact = (A: number, gamma: number, lambda: number, p: number) => A * gammaIntegralF64(gamma + 1, lambda, p).value;

function rk4Sizes(A: number, gamma: number, lambda: number, horizons: number[], stepSize: number): number[] {
  return tf.tidy(() => Array.from(rk4GammaRateIntegral(tf.scalar(A), tf.scalar(gamma), tf.scalar(lambda), horizons, { stepSize }).dataSync()));
}

describe('rk4Integrate', () => {
  it('one step of y\' = -y is the RK4 polynomial 1 - h + h^2/2 - h^3/6 + h^4/24 (hand calculation)', () => {
    const [y] = tf.tidy(() => rk4Integrate((_t, y) => tf.neg(y), tf.scalar(1), [0.5], { stepSize: 0.5 }).map((t) => t.dataSync()[0]));
    // h = 0.5: 1 - 0.5 + 0.125 - 0.0208333 + 0.0026042 = 0.6067708
    expect(y).toBeCloseTo(0.60677083, 6);
  });

  it("y' = -y reaches e^-t at each output time (global error h^4 t/120 e^-t < 2e-6, float32 rounding < 3e-6)", () => {
    const ys = tf.tidy(() => rk4Integrate((_t, y) => tf.neg(y), tf.tensor1d([1, 2]), [0.5, 1, 2], { stepSize: 0.1 }).map((t) => Array.from(t.dataSync())));
    [0.5, 1, 2].forEach((t, i) => {
      expect(Math.abs(ys[i][0] - Math.exp(-t))).toBeLessThan(5e-6);
      expect(Math.abs(ys[i][1] - 2 * Math.exp(-t))).toBeLessThan(1e-5);
    });
  });

  it('rejects descending times and non-positive steps', () => {
    expect(() => rk4Integrate((_t, y) => y, tf.scalar(1), [2, 1])).toThrow(/ascending/);
    expect(() => rk4Integrate((_t, y) => y, tf.scalar(1), [1], { stepSize: 0 })).toThrow(/stepSize/);
  });
});

describe('rk4GammaRateIntegral', () => {
  it('matches the closed form A lambda^-(g+1) Gamma(g+1) P(g+1, lambda P) at every horizon', () => {
    // gamma = 2 is smooth at t = 0, so 96 steps leave a discretisation error of 1.5e-7 (numpy, float64);
    // float32 rounding over 96 steps of 4 evaluations is <= 96 * 6e-8 = 6e-6 relative.
    const horizons = [3, 6, 12];
    const got = rk4Sizes(1.5, 2, 0.3, horizons, 12 / 96);
    horizons.forEach((p, i) => expect(Math.abs(got[i] - exact(1.5, 2, 0.3, p))).toBeLessThanOrEqual(1e-5 * exact(1.5, 2, 0.3, p)));
    // lambda = 0: A P^(g+1) / (g+1), here 2 * 4^3 / 3 (a polynomial: RK4 = Simpson is exact up to rounding)
    expect(rk4Sizes(2, 2, 0, [4], 0.5)[0]).toBeCloseTo((2 * 64) / 3, 4);
  });

  it.each([
    // [gamma, lambda, P, coarse steps, expected order]: r(t) ~ t^gamma near 0, so the error of the
    // composite rule falls like h^min(4, gamma + 1) (numpy, float64: error ratios per halving
    // 15.6-16.0 for gamma = 2, 2.85-2.92 for 0.5, 4.98-5.19 for 1.3).
    [2, 0.3, 12, 6, 4],
    [0.5, 0.3, 12, 12, 1.5],
    [1.3, 0.1, 24, 12, 2.3],
  ])('converges at the expected order (gamma %p, lambda %p, P %p)', (gamma, lambda, p, steps, order) => {
    const want = exact(1, gamma, lambda, p);
    const e1 = Math.abs(rk4Sizes(1, gamma, lambda, [p], p / steps)[0] - want);
    const e2 = Math.abs(rk4Sizes(1, gamma, lambda, [p], p / (2 * steps))[0] - want);
    expect(Math.log2(e1 / e2)).toBeGreaterThan(order - 0.3);
    expect(Math.log2(e1 / e2)).toBeLessThan(order + 0.3);
  });

  it('gradients through the RK4 steps match central differences and, closely, the closed-form gradients', () => {
    const f = (A: tf.Tensor, g: tf.Tensor, l: tf.Tensor) => rk4GammaRateIntegral(A, g, l, [2, 6], { stepSize: 0.1 });
    const r = gradientCheck(f, [
      { values: [1.2, 0.6], shape: [2] },
      { values: [0.8, 1.6], shape: [2] },
      { values: [0.3, 0.1], shape: [2] },
    ]);
    expect(r.failures).toEqual([]);
    const [rk, closed] = tf.tidy(() => {
      const inputs = [tf.tensor1d([1.2, 0.6]), tf.tensor1d([1.5, 2.5]), tf.tensor1d([0.3, 0.1])];
      const loss = (fn: typeof rk4GammaRateIntegral) => (A: tf.Tensor, g: tf.Tensor, l: tf.Tensor) => tf.sum(fn(A, g, l, [2, 6], { stepSize: 0.05 })) as tf.Scalar;
      return [tf.grads(loss(rk4GammaRateIntegral))(inputs), tf.grads(loss(gammaRateIntegral))(inputs)].map((gs) => gs.map((g) => Array.from(g.dataSync())));
    });
    // gamma >= 1.5 keeps the integrand smooth enough that 120 steps are within 1e-4 relative.
    rk.forEach((gs, i) => gs.forEach((v, j) => expect(Math.abs(v - closed[i][j])).toBeLessThanOrEqual(1e-4 * Math.abs(closed[i][j]) + 1e-5)));
  });

  it('gammaRate is A t^gamma e^(-lambda t), 0 at t = 0 for gamma > 0', () => {
    const [r2, r0] = tf.tidy(() => [gammaRate(tf.scalar(2), tf.scalar(1.5), tf.scalar(0.1), 4).dataSync()[0], gammaRate(tf.scalar(2), tf.scalar(1.5), tf.scalar(0.1), 0).dataSync()[0]]);
    expect(r2).toBeCloseTo(2 * Math.pow(4, 1.5) * Math.exp(-0.4), 5); // 16 e^-0.4 = 10.7251
    expect(r0).toBe(0);
  });

  it(`agrees across backends (cpu vs ${backends.others.join(', ')}), values and gradients`, async () => {
    // 60 steps of a few float32 ops: rounding differences accumulate to ~60 ulps of the result.
    await expectParity(
      backends,
      () => {
        const A = tf.tensor1d([1.2, 0.6]);
        const g = tf.tensor1d([0.8, 1.6]);
        const l = tf.tensor1d([0.3, 0.1]);
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => rk4GammaRateIntegral(a, b, c, [2, 6], { stepSize: 0.1 });
        const [dA, dg, dl] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(f(a, b, c)) as tf.Scalar)([A, g, l]);
        return { size: f(A, g, l), dA, dg, dl };
      },
      1e-5,
      1e-5,
    );
  });
});
