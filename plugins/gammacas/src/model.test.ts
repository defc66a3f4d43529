import { beforeAll, describe, expect, it } from '@jest/globals';
import { Rng } from '@cascade-lab/core';
import { initBackend, rk4GammaRateIntegral, tf } from '@cascade-lab/tensor-ops';
import { packCascades } from './inputs.js';
import { GammaCasNetwork, batchTensors, disposeBatch, integrateSizes, type GammaCasArchitecture, type IntegratorSettings } from './model.js';
import { syntheticCascades } from './synthetic.test-util.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const ARCH: GammaCasArchitecture = {
  variant: 'full',
  cell: 'follower-gated',
  gateActivation: 'sigmoid',
  inputNormalization: 'log-standardize',
  stateSize: 16,
  embeddingDim: 8,
  maxTextTokens: 6,
  maxNewsTokens: 5,
  maxNewsItems: 3,
  vocabularySize: 20,
  bins: 12,
  binWidthHours: 5 / 60,
  retweetUnit: 1,
};
const INIT = { logMean: [0.5, 3] as [number, number], logStd: [0.7, 2] as [number, number] };

function settings(integrator: IntegratorSettings['integrator'], rk4StepHours = 0.36): IntegratorSettings {
  return { integrator, rk4StepHours, dopri5RelativeTolerance: 1e-7, dopri5AbsoluteTolerance: 1e-7, dopri5MaxSteps: 5000 };
}

function pack(arch: GammaCasArchitecture, n: number, seed = 3) {
  const { cascades } = syntheticCascades({ cascades: n, bins: arch.bins, seed });
  return packCascades(cascades, {
    bins: arch.bins,
    withText: arch.variant !== 'counts-only',
    withNews: arch.variant === 'full',
    maxTextTokens: arch.maxTextTokens,
    maxNewsItems: arch.maxNewsItems,
    maxNewsTokens: arch.maxNewsTokens,
    vocabularySize: arch.vocabularySize,
    horizons: 4,
  });
}

describe('GammaCasNetwork shapes and parameters', () => {
  it('has the parameter counts of the equations (hand count, state s = 16)', () => {
    // Follower-gated cell: count kernel 1 x 4s, recurrent s x 4s, bias 4s, follower kernel 1 x s and
    // bias s = 4s^2 + 10s = 1184; heads 3s + 3 = 51; input scale and shift 2 + 2 = 4. Total 1239.
    const co = new GammaCasNetwork({ ...ARCH, variant: 'counts-only', vocabularySize: 0 }, Rng.fromSeed(1), INIT);
    expect(co.parameterCountAll()).toBe(1239);
    // Plain LSTM on [count, followers]: 2 x 4s + 4s^2 + 4s = 1216; + 51 + 4 = 1271.
    const lstm = new GammaCasNetwork({ ...ARCH, variant: 'counts-only', cell: 'lstm', vocabularySize: 0 }, Rng.fromSeed(1), INIT);
    expect(lstm.parameterCountAll()).toBe(1271);
    // Layer norm instead of scale/shift: gain 2 + bias 2, same count.
    const ln = new GammaCasNetwork({ ...ARCH, variant: 'counts-only', inputNormalization: 'layer-norm', vocabularySize: 0 }, Rng.fromSeed(1), INIT);
    expect(ln.parameterCountAll()).toBe(1239);
    // Full: + embeddings 20 x 8 + word attention 8 + 1 + mu 8 + 1 = 178.
    const full = new GammaCasNetwork(ARCH, Rng.fromSeed(1), INIT);
    expect(full.parameterCountAll()).toBe(1239 + 178);
    for (const n of [co, lstm, ln, full]) n.dispose();
  });

  it('returns per-step and pooled parameters of the right shapes, with the activations of Eq. 14-16', () => {
    const net = new GammaCasNetwork(ARCH, Rng.fromSeed(2), INIT);
    const p = pack(ARCH, 5);
    const b = batchTensors(p);
    const out = tf.tidy(() => {
      const o = net.forward(b);
      return { steps: o.amplitudeSteps.shape, A: o.amplitude.arraySync(), g: o.gammaSteps.arraySync(), l: o.lambdaSteps.arraySync(), word: o.wordAttention!.shape, news: o.newsAttention!.shape, mu: o.mu!.arraySync() };
    });
    expect(out.steps).toEqual([5, 13]);
    expect(out.word).toEqual([5, 6]);
    expect(out.news).toEqual([5, 3]);
    for (const row of out.g) for (const v of row) expect(v).toBeGreaterThan(0); // softplus
    for (const row of out.l) for (const v of row) expect(v).toBeGreaterThanOrEqual(0); // relu
    for (const v of out.mu) expect(v).toBeGreaterThanOrEqual(0);
    disposeBatch(b);
    net.dispose();
  });
});

describe('retweet unit', () => {
  it('scales A, the sizes and the next-bin predictions by the unit, and the next-bin MSE by 1 / unit^2 against scaled counts', () => {
    const p = pack(ARCH, 3);
    const b = batchTensors(p);
    const run = (retweetUnit: number) => {
      const net = new GammaCasNetwork({ ...ARCH, retweetUnit }, Rng.fromSeed(8), INIT);
      const r = tf.tidy(() => {
        const o = net.forward(b);
        return { A: o.amplitude.arraySync(), ar: net.autoregressivePredictions(o).arraySync(), sizes: integrateSizes(o.amplitude, o.gamma, o.lambda, [24], settings('closed-form')).arraySync() };
      });
      net.dispose();
      return r;
    };
    const one = run(1);
    const ten = run(10);
    for (let i = 0; i < 3; i++) {
      expect(ten.A[i]).toBeCloseTo(10 * one.A[i], 4);
      expect(ten.sizes[i][0]).toBeCloseTo(10 * one.sizes[i][0], 3);
      expect(ten.ar[i][4]).toBeCloseTo(10 * one.ar[i][4], 5);
    }
    disposeBatch(b);
  });
});

describe('text encoder and attention', () => {
  it('computes the factored form of the paper\'s encoder exactly (embeddings * sqrt(d) + PE, word attention)', () => {
    const net = new GammaCasNetwork(ARCH, Rng.fromSeed(4), INIT);
    // 3 x 6 = 18 tokens < 20 words: scores from the gathered vectors; the 5 x 6 batch below takes
    // the whole-vocabulary path. Both must equal the direct form.
    const tokens = tf.tensor2d([[3, 7, 2, 0, 0, 0], [5, 5, 5, 9, 11, 19], [0, 0, 0, 0, 0, 0]], [3, 6], 'int32');
    const many = tf.tensor2d([[3, 7, 2, 0, 0, 0], [5, 5, 5, 9, 11, 19], [0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6], [8, 0, 0, 0, 0, 0]], [5, 6], 'int32');
    const manyDirect = net.encodeTextDirect(many);
    const manyFactored = net.encodeTextFactored(many);
    const [mdv, mfv, mda, mfa] = [manyDirect.vectors, manyFactored.vectors, manyDirect.attention, manyFactored.attention].map((t) => t.arraySync() as number[][]);
    for (let i = 0; i < 5; i++) {
      for (let k = 0; k < 8; k++) expect(mfv[i][k]).toBeCloseTo(mdv[i][k], 4);
      for (let j = 0; j < 6; j++) expect(mfa[i][j]).toBeCloseTo(mda[i][j], 6);
    }
    for (const t of [many, manyDirect.vectors, manyDirect.attention, manyFactored.vectors, manyFactored.attention]) t.dispose();
    const direct = net.encodeTextDirect(tokens);
    const factored = net.encodeTextFactored(tokens);
    const [dv, fv, da, fa] = [direct.vectors, factored.vectors, direct.attention, factored.attention].map((t) => t.arraySync() as number[][]);
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 8; k++) expect(fv[i][k]).toBeCloseTo(dv[i][k], 4);
      for (let j = 0; j < 6; j++) expect(fa[i][j]).toBeCloseTo(da[i][j], 6);
    }
    // Padding gets no attention; real tokens' weights sum to 1; an empty text has weight 0 and vector 0.
    expect(fa[0].slice(3)).toEqual([0, 0, 0]);
    expect(fa[0].slice(0, 3).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(fa[2]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(fv[2]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    for (const t of [tokens, direct.vectors, direct.attention, factored.vectors, factored.attention]) t.dispose();
    net.dispose();
  });

  it('ignores empty news items and gives the same result whether news items are shared in the batch or not', () => {
    const net = new GammaCasNetwork(ARCH, Rng.fromSeed(5), INIT);
    const p = pack(ARCH, 6);
    // Give cascade 1 the news of cascade 0 (a shared item: encoded once in the batch).
    p.news!.set(p.news!.subarray(0, 15), 15);
    const whole = batchTensors(p);
    const all = tf.tidy(() => net.forward(whole).amplitude.arraySync());
    const one = (i: number) => {
      const rows = { ...p, size: 1, sequence: p.sequence.slice(i * 26, (i + 1) * 26), text: p.text!.slice(i * 6, (i + 1) * 6), news: p.news!.slice(i * 15, (i + 1) * 15) };
      const b = batchTensors(rows);
      const r = tf.tidy(() => net.forward(b).amplitude.arraySync()[0]);
      disposeBatch(b);
      return r;
    };
    for (let i = 0; i < 6; i++) expect(one(i)).toBeCloseTo(all[i], 5);
    // Cascade 2 with one of its items removed vs the same cascade with that slot empty (all padding).
    const row = { ...p, size: 1, sequence: p.sequence.slice(2 * 26, 3 * 26), text: p.text!.slice(2 * 6, 3 * 6), news: p.news!.slice(2 * 15, 3 * 15) };
    const moved = { ...row, news: new Int32Array(15) };
    moved.news.set(row.news.subarray(0, 5), 0);
    moved.news.set(row.news.subarray(5, 10), 10); // item 1 moved to slot 2, slot 1 left empty
    const withGap = { ...row, news: moved.news };
    const dense = { ...row, news: new Int32Array(15) };
    dense.news.set(row.news.subarray(0, 10), 0);
    const [b1, b2] = [withGap, dense].map((r) => batchTensors(r));
    const [a1, a2] = [b1, b2].map((b) => tf.tidy(() => net.forward(b).amplitude.arraySync()[0]));
    expect(a1).toBeCloseTo(a2, 5);
    for (const b of [whole, b1, b2]) disposeBatch(b);
    net.dispose();
  });
});

describe('size integral', () => {
  // A = 2.5, gamma = 0.6, lambda = 0.15; exact sizes from
  // python3: from scipy.special import gamma, gammainc; A*gamma(g+1)*gammainc(g+1, l*P)/l**(g+1)
  const HORIZONS = [36, 1.5, 360, 12];
  const EXACT = [45.76940993173405, 2.6071196879293765, 46.4831993029915, 30.735560180317513];
  const params = () => [tf.tensor1d([2.5, 5]), tf.tensor1d([0.6, 0.6]), tf.tensor1d([0.15, 0.15])] as tf.Tensor1D[];

  it('RK4, Dormand-Prince and the closed form agree with scipy (horizons in any order)', () => {
    const [A, g, l] = params();
    for (const s of [settings('closed-form'), settings('rk4', 0.05), settings('dopri5')]) {
      const sizes = tf.tidy(() => integrateSizes(A, g, l, HORIZONS, s).arraySync());
      for (let j = 0; j < 4; j++) {
        expect(Math.abs(sizes[0][j] - EXACT[j]) / EXACT[j]).toBeLessThan(1e-3);
        expect(Math.abs(sizes[1][j] - 2 * EXACT[j]) / EXACT[j]).toBeLessThan(2e-3); // linear in A
      }
    }
    for (const t of [A, g, l]) t.dispose();
  });

  it('gives the same gradients in A, gamma and lambda from RK4 and from the closed form', () => {
    const [A, g, l] = params();
    const gradsOf = (s: IntegratorSettings) => {
      const f = (a: tf.Tensor, gg: tf.Tensor, ll: tf.Tensor) => tf.sum(integrateSizes(a as tf.Tensor1D, gg as tf.Tensor1D, ll as tf.Tensor1D, HORIZONS, s));
      const grads = tf.grads(f)([A, g, l]);
      const values = grads.map((t) => t.arraySync() as number[]);
      grads.forEach((t) => t.dispose());
      return values;
    };
    const exact = gradsOf(settings('closed-form'));
    const rk4 = gradsOf(settings('rk4', 0.05));
    const dopri5 = gradsOf(settings('dopri5'));
    for (let p = 0; p < 3; p++) {
      for (let i = 0; i < 2; i++) {
        expect(Math.abs(rk4[p][i] - exact[p][i]) / Math.abs(exact[p][i])).toBeLessThan(2e-3);
        expect(Math.abs(dopri5[p][i] - exact[p][i]) / Math.abs(exact[p][i])).toBeLessThan(2e-3);
      }
    }
    // d(sum of sizes)/dA = (sum of sizes) / A = 125.595 / 2.5 (the sizes are linear in A).
    expect(exact[0][0]).toBeCloseTo(EXACT.reduce((a, b) => a + b, 0) / 2.5, 2);
    for (const t of [A, g, l]) t.dispose();
  });

  it('matches tensor-ops\' step-by-step RK4 on the same grid, and does not depend on the other horizons asked for', () => {
    const [A, g, l] = params();
    // Horizons on the 0.5 h grid: tensor-ops integrating to each one alone with steps of 0.5 h takes
    // exactly our steps.
    const horizons = [1.5, 12, 36];
    const ours = tf.tidy(() => integrateSizes(A, g, l, horizons, settings('rk4', 0.5)).arraySync());
    horizons.forEach((h, j) => {
      const reference = tf.tidy(() => rk4GammaRateIntegral(A, g, l, [h], { stepSize: 0.5 }).arraySync() as number[][]);
      for (let i = 0; i < 2; i++) expect(Math.abs(ours[i][j] - reference[i][0]) / reference[i][0]).toBeLessThan(1e-5);
    });
    const alone = tf.tidy(() => integrateSizes(A, g, l, [12], settings('rk4', 0.5)).arraySync());
    expect(alone[0][0]).toBe(ours[0][1]);
    for (const t of [A, g, l]) t.dispose();
  });

  it('rejects horizons that are not positive', () => {
    const [A, g, l] = params();
    expect(() => integrateSizes(A, g, l, [12, 0], settings('rk4'))).toThrow(/> 0 hours/);
    for (const t of [A, g, l]) t.dispose();
  });
});

describe('loss', () => {
  it('is MAPE (percent, known targets only) + zeta * MSE of the next-bin predictions (Eq. 18), computed by hand from the forward pass', () => {
    const arch = { ...ARCH, variant: 'counts-only' as const, vocabularySize: 0 };
    const net = new GammaCasNetwork(arch, Rng.fromSeed(6), INIT);
    const p = pack(arch, 4);
    const horizons = [2, 4, 8, 16];
    // Mark one target unknown: it must not count.
    p.targetMask![5] = 0;
    p.targets![5] = 0;
    const b = batchTensors(p);
    const targets = tf.tensor2d(p.targets!, [4, 4]);
    const mask = tf.tensor2d(p.targetMask!, [4, 4]);
    const s = settings('closed-form');
    const zeta = 0.25;
    const got = tf.tidy(() => {
      const r = net.loss(b, targets, mask, horizons, zeta, s);
      return [r.loss.dataSync()[0], r.mape.dataSync()[0], r.mse.dataSync()[0]];
    });
    const { sizes, aSteps, gSteps, lSteps } = tf.tidy(() => {
      const o = net.forward(b);
      return {
        sizes: integrateSizes(o.amplitude, o.gamma, o.lambda, horizons, s).arraySync(),
        aSteps: o.amplitudeSteps.arraySync(),
        gSteps: o.gammaSteps.arraySync(),
        lSteps: o.lambdaSteps.arraySync(),
      };
    });
    let ape = 0;
    let known = 0;
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        if (p.targetMask![i * 4 + j] === 0) continue;
        ape += Math.abs(p.targets![i * 4 + j] - sizes[i][j]) / p.targets![i * 4 + j];
        known++;
      }
    }
    const mape = (100 * ape) / known;
    // Step k predicts bin k+1 (1-based) at the midpoint of that bin, t = (k + 0.5) * 5 min.
    let se = 0;
    const delta = 5 / 60;
    for (let i = 0; i < 4; i++) {
      for (let k = 0; k < 12; k++) {
        const t = (k + 0.5) * delta;
        const predicted = aSteps[i][k] * Math.pow(t, gSteps[i][k]) * Math.exp(-lSteps[i][k] * t) * delta;
        se += (predicted - p.sequence[(i * 13 + k + 1) * 2]) ** 2;
      }
    }
    const mse = se / 48;
    expect(known).toBe(15);
    expect(got[1]).toBeCloseTo(mape, 3);
    expect(got[2]).toBeCloseTo(mse, 3);
    expect(got[0]).toBeCloseTo(mape + zeta * mse, 3);
    disposeBatch(b);
    targets.dispose();
    mask.dispose();
    net.dispose();
  });
});
