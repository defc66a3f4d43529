import { CascadeError } from '@cascade-lab/core';
import { tf, regularizedLowerGamma, gammaRateIntegral, regularizedLowerGammaF64, gammaIntegralF64, lgamma, digamma } from './index.js';
import { expectParity, gradientCheck, parityBackends, runOn } from './testing.test-util.js';

const backends = await parityBackends();

// [a, x, P(a, x), dP/da, dP/dx], computed once (mpmath 1.3 at 40 digits, scipy 1.17):
//   P     = scipy.special.gammainc(a, x)
//   dP/da = mpmath.diff(lambda aa: mpmath.gammainc(aa, 0, x, regularized=True), a)
//   dP/dx = scipy.stats.gamma.pdf(x, a)
// Points cover the series (x < a + 1) and continued-fraction (x >= a + 1) branches, a < 1, large a.
const P_REFS: [number, number, number, number, number][] = [
  [0.5, 0.1, 0.34527915398142317, -0.8229360969795988, 1.6143422587153617],
  [0.5, 2.0, 0.9544997361036415, -0.13561933520399724, 0.053990966513188056],
  [1.0, 1.0, 0.6321205588285577, -0.4317297106348987, 0.36787944117144233],
  [2.5, 1.0, 0.15085496391539038, -0.1800996069540415, 0.2767383316137298],
  [2.5, 3.5, 0.7793596920632894, -0.1872354473407891, 0.14874253544024568],
  [5.0, 2.0, 0.052653017343711125, -0.05691325064457105, 0.09022352215774178],
  [10.0, 15.0, 0.9301463393005901, -0.04008077846711626, 0.03240716721973691],
  [30.0, 25.0, 0.1821039159774551, -0.049954877425834855, 0.054495342156142663],
  [100.0, 90.0, 0.15822098918643007, -0.02461191684397991, 0.02591202825015784],
  [0.1, 5.0, 0.9998560610341533, -0.0017539473155578874, 0.00016638490099201526],
  [1.7, 50.0, 1.0, -1.2390839651219831e-20, 3.2821895784352915e-21],
  [7.3, 8.3, 0.6832729477867314, -0.13145168379867245, 0.12057506429795385],
];

// [z, scipy.special.gammaln(z), scipy.special.psi(z)]
const LGAMMA_REFS: [number, number, number][] = [
  [0.1, 2.252712651734206, -10.423754940411076],
  [0.5, 0.5723649429247, -1.9635100260214235],
  [1.0, 0.0, -0.5772156649015329],
  [2.5, 0.2846828704729192, 0.7031566406452432],
  [7.3, 7.147892523022249, 1.917820335637986],
  [30.0, 71.257038967168, 3.384438132685525],
  [171.5, 709.1431630309283, 5.141664981434],
];

// [a, lambda, P, I, dI/da, dI/dlambda, dI/dP] for I(a, lambda, P) = integral_0^P t^(a-1) e^(-lambda t) dt,
// computed once with mpmath (dps 40): I = mpmath.quad(lambda t: t**(a-1)*mpmath.exp(-lam*t), [0, P]),
// dI/da = mpmath.quad(lambda t: t**(a-1)*mpmath.log(t)*mpmath.exp(-lam*t), [0, P]),
// dI/dlambda = -I(a + 1, lambda, P), dI/dP = P**(a-1) * exp(-lambda P).
const I_REFS: [number, number, number, number, number, number, number][] = [
  [1.5, 0.1, 12.0, 14.190867459943938, 22.815988945997773, -87.6589291845348, 1.0433673559552021],
  [2.2, 0.02, 360.0, 5972.280211349504, 26534.20892604244, -641250.2598708087, 0.8722535209798152],
  [1.3, 0.0, 240.0, 955.7212928556613, 4502.793092217882, -129645.67103085478, 5.176823669634832],
  [3.0, 2.0, 10.0, 0.24999988612126237, 0.05740902046874128, -0.37499879860508234, 2.061153622438558e-7],
  [1.05, 1e-6, 100.0, 119.89151737291749, 437.93559098157, -6140.686822839418, 1.2587995255474054],
  [4.5, 0.3, 24.0, 2336.5667485137533, 5839.160141390765, -31003.589361636783, 50.561398325869],
  [1.8, 0.05, 0.5, 0.15700084069748912, -0.19654926961294783, -0.05034580731336591, 0.5601684457796242],
];

/** |got - want| <= atol + rtol |want| */
function near(got: number, want: number, rtol: number, atol = 0): void {
  if (!(Math.abs(got - want) <= atol + rtol * Math.abs(want))) throw new Error(`got ${got}, want ${want} (rtol ${rtol}, atol ${atol})`);
}

describe('float64 kernels', () => {
  it('lgamma and digamma match scipy to 1e-13 relative', () => {
    for (const [z, lg, psi] of LGAMMA_REFS) {
      near(lgamma(z), lg, 1e-13, 1e-14);
      near(digamma(z), psi, 1e-13, 1e-14);
    }
  });

  it('P(a, x) and both partial derivatives match scipy / mpmath (values 1e-13, d/da 1e-9, d/dx 1e-12)', () => {
    for (const [a, x, p, da, dx] of P_REFS) {
      const r = regularizedLowerGammaF64(a, x);
      near(r.value, p, 1e-13, 1e-15);
      // d/da is carried by forward-mode differentiation through the series / continued fraction;
      // both converge to 1e-15, the mpmath reference is exact to double precision.
      near(r.da, da, 1e-9, 1e-15);
      near(r.dx, dx, 1e-12, 1e-15);
    }
  });

  it('handles x = 0 and x = Infinity exactly', () => {
    expect(regularizedLowerGammaF64(2, 0)).toEqual({ value: 0, da: 0, dx: 0 });
    expect(regularizedLowerGammaF64(1, 0).dx).toBe(1);
    expect(regularizedLowerGammaF64(3, Infinity)).toEqual({ value: 1, da: 0, dx: 0 });
  });

  it('the size integral and its partials match mpmath quadrature to 1e-10', () => {
    for (const [a, lambda, p, value, da, dl, dp] of I_REFS) {
      const r = gammaIntegralF64(a, lambda, p);
      near(r.value, value, 1e-10);
      near(r.da, da, 1e-9);
      near(r.dLambda, dl, 1e-10);
      near(r.dP, dp, 1e-12);
    }
  });

  it('at lambda = 0 the integral is P^a / a (closed form)', () => {
    // a = 2.5, P = 4: 4^2.5 / 2.5 = 32 / 2.5 = 12.8
    near(gammaIntegralF64(2.5, 0, 4).value, 12.8, 1e-14);
  });

  it('refuses arguments outside the domain with a MODEL error', () => {
    expect(() => regularizedLowerGammaF64(0, 1)).toThrow(CascadeError);
    expect(() => regularizedLowerGammaF64(1, -0.5)).toThrow(/a > 0 and x >= 0/);
    expect(() => gammaIntegralF64(1.5, -0.1, 3)).toThrow(/lambda >= 0/);
    expect(regularizedLowerGammaF64(NaN, 1).value).toBeNaN();
  });
});

describe('regularizedLowerGamma (tensor op)', () => {
  it('broadcasts and matches scipy within float32 rounding', () => {
    const a = P_REFS.map((r) => r[0]);
    const x = P_REFS.map((r) => r[1]);
    const got = tf.tidy(() => regularizedLowerGamma(tf.tensor1d(a), tf.tensor1d(x)).dataSync());
    P_REFS.forEach((r, i) => near(got[i], r[2], 2e-7, 1e-7));
    const grid = tf.tidy(() => regularizedLowerGamma(tf.tensor2d([[1], [2.5]]), tf.tensor1d([1, 3.5])).arraySync());
    near(grid[0][0], 0.6321205588285577, 2e-7);
    near(grid[1][1], 0.7793596920632894, 2e-7);
    expect(grid.length).toBe(2);
  });

  it('its tf gradients are the exact partial derivatives (float32-rounded)', () => {
    const a = P_REFS.map((r) => r[0]);
    const x = P_REFS.map((r) => r[1]);
    const [ga, gx] = tf.tidy(() => tf.grads((aa: tf.Tensor, xx: tf.Tensor) => tf.sum(regularizedLowerGamma(aa, xx)) as tf.Scalar)([tf.tensor1d(a), tf.tensor1d(x)]).map((g) => g.dataSync()));
    P_REFS.forEach((r, i) => {
      near(ga[i], r[3], 2e-7, 1e-30);
      near(gx[i], r[4], 2e-7, 1e-30);
    });
  });

  it('gradients match central differences of the float32 op, and broadcasting sums them', () => {
    const r = gradientCheck((a, x) => regularizedLowerGamma(a, x), [
      { values: [0.7, 1.5, 3.2], shape: [3, 1] },
      { values: [0.4, 2.0, 6.5, 11.0], shape: [4] },
    ]);
    expect(r.failures).toEqual([]);
    expect(r.checked).toBe(7);
  });

  it('frees every tensor it makes, with and without gradients', async () => {
    await runOn('cpu', () => ({ g: tf.grad((a: tf.Tensor) => tf.sum(regularizedLowerGamma(a, tf.tensor1d([1, 2]))))(tf.tensor1d([1.5, 2.5])) }));
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      regularizedLowerGamma(tf.scalar(2), tf.scalar(1));
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('gammaRateIntegral (closed form of the GammaCas size)', () => {
  it('equals A I(gamma + 1, lambda, P) at every horizon (mpmath references)', () => {
    const rows = I_REFS.filter(([, , p]) => p === 12.0 || p === 24.0);
    const got = tf.tidy(() =>
      gammaRateIntegral(tf.tensor1d([2, 0.5]), tf.tensor1d(rows.map((r) => r[0] - 1)), tf.tensor1d(rows.map((r) => r[1])), [12, 24]).arraySync(),
    ) as number[][];
    expect(got.length).toBe(2);
    near(got[0][0], 2 * 14.190867459943938, 2e-7);
    near(got[1][1], 0.5 * 2336.5667485137533, 2e-7);
  });

  it('is A P^(gamma+1) / (gamma+1) at lambda = 0', () => {
    const v = tf.tidy(() => gammaRateIntegral(tf.scalar(3), tf.scalar(1.5), tf.scalar(0), [4]).dataSync()[0]);
    near(v, (3 * Math.pow(4, 2.5)) / 2.5, 2e-7); // 3 * 32 / 2.5 = 38.4
  });

  it('gradients in A, gamma, lambda and the horizons match central differences', () => {
    // Outputs up to ~30 and derivatives up to ~60: float32 rounding of an output is <= 2e-6, well
    // inside the default tolerance at h = 1e-2.
    const r = gradientCheck((A, g, l, p) => gammaRateIntegral(A, g, l, p as tf.Tensor1D), [
      { values: [1.2, 0.6], shape: [2] },
      { values: [0.4, 1.3], shape: [2] },
      { values: [0.3, 0.08], shape: [2] },
      { values: [2, 6, 12], shape: [3] },
    ]);
    expect(r.failures).toEqual([]);
    expect(r.checked).toBe(9);
  });

  it(`agrees across backends (cpu vs ${backends.others.join(', ')})`, async () => {
    // Computed on the host in float64 on every backend: identical up to the float32 rounding of the
    // downstream multiply, 1e-7 + 1e-6 relative.
    await expectParity(
      backends,
      () => {
        const A = tf.tensor1d([1.2, 0.6, 2]);
        const g = tf.tensor1d([0.4, 1.3, 2.1]);
        const l = tf.tensor1d([0.3, 0.08, 0]);
        const [dA, dg, dl] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(gammaRateIntegral(a, b, c, [1, 6, 24])) as tf.Scalar)([A, g, l]);
        const [pa, px] = tf.grads((a: tf.Tensor, x: tf.Tensor) => tf.sum(regularizedLowerGamma(a, x)) as tf.Scalar)([g.add(0.5), l.add(1)]);
        return { size: gammaRateIntegral(A, g, l, [1, 6, 24]), dA, dg, dl, p: regularizedLowerGamma(g.add(0.5), l.add(1)), pa, px };
      },
      1e-7,
      1e-6,
    );
  });
});
