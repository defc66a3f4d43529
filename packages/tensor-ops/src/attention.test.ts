import { Rng } from '@cascade-lab/core';
import { tf, multiHeadAttention, MultiHeadAttention, type MultiHeadAttentionWeights } from './index.js';
import { expectParity, gradientCheck, parityBackends, randn } from './testing.test-util.js';

const backends = await parityBackends();

// Small shapes: batch 2, time 4, dModel 4, 2 heads of width 3.
const B = 2;
const T = 4;
const D = 4;
const H = 2;
const DH = 3;
const shapes = { x: [B, T, D], wq: [H, D, DH], wk: [H, D, DH], wv: [H, D, DH], wo: [H * DH, D], bo: [D] };
const values = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randn(s.reduce((a, b) => a * b, 1), `att-${k}`, 0.7)]));
// Second sequence has one padding step at the end.
const keyMask = [[1, 1, 1, 1], [1, 1, 1, 0]];

function weightsFrom(ts: tf.Tensor[]): MultiHeadAttentionWeights {
  const [wq, wk, wv, wo, bo] = ts;
  return { wq, wk, wv, wo, bo };
}

describe('multiHeadAttention', () => {
  it('matches a hand computation (1 head, identity projections)', () => {
    const out = tf.tidy(() => {
      const eye = tf.eye(2).reshape([1, 2, 2]);
      const w = { wq: eye, wk: eye, wv: eye, wo: tf.eye(2), bo: tf.zeros([2]) };
      return multiHeadAttention(tf.tensor3d([[[1, 0], [0, 1]]]), w).output.arraySync();
    });
    // Position 0 sees only itself: [1, 0]. Position 1: scores [0, 1] / sqrt(2), softmax =
    // [1 / (1 + e^0.7071), e^0.7071 / (1 + e^0.7071)] = [0.33023845, 0.66976155] (numpy).
    expect(out[0][0][0]).toBeCloseTo(1, 6);
    expect(out[0][0][1]).toBeCloseTo(0, 6);
    expect(out[0][1][0]).toBeCloseTo(0.33023845, 6);
    expect(out[0][1][1]).toBeCloseTo(0.66976155, 6);
  });

  it('masks future positions and padding keys; each real query row sums to 1', () => {
    const w = tf.tidy(() => {
      const ts = ['wq', 'wk', 'wv', 'wo', 'bo'].map((k) => tf.tensor(values[k], shapes[k as keyof typeof shapes]));
      const r = multiHeadAttention(tf.tensor3d(values.x, [B, T, D]), weightsFrom(ts), { keyMask: tf.tensor2d(keyMask), returnWeights: true });
      return r.weights!.arraySync();
    });
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < T; i++) {
          let sum = 0;
          for (let j = 0; j < T; j++) {
            if (j > i || keyMask[b][j] === 0) expect(w[b][h][i][j]).toBe(0);
            sum += w[b][h][i][j];
          }
          expect(sum).toBeCloseTo(1, 6);
        }
      }
    }
  });

  it('without the causal mask every real key is visible', () => {
    const w = tf.tidy(() => {
      const ts = ['wq', 'wk', 'wv', 'wo', 'bo'].map((k) => tf.tensor(values[k], shapes[k as keyof typeof shapes]));
      return multiHeadAttention(tf.tensor3d(values.x, [B, T, D]), weightsFrom(ts), { causal: false, returnWeights: true }).weights!.arraySync();
    });
    expect(w[0][0][0][3]).toBeGreaterThan(0);
  });

  it('dropout is seeded, active only in training, and needs an Rng', () => {
    const run = (training: boolean, seed: number) =>
      tf.tidy(() => {
        const ts = ['wq', 'wk', 'wv', 'wo', 'bo'].map((k) => tf.tensor(values[k], shapes[k as keyof typeof shapes]));
        return multiHeadAttention(tf.tensor3d(values.x, [B, T, D]), weightsFrom(ts), { dropout: 0.5, training, rng: Rng.fromSeed(seed) }).output.arraySync();
      });
    expect(run(true, 1)).toEqual(run(true, 1));
    expect(run(true, 1)).not.toEqual(run(true, 2));
    expect(run(true, 1)).not.toEqual(run(false, 1));
    expect(run(false, 1)).toEqual(run(false, 2));
    expect(() =>
      tf.tidy(() => {
        const ts = ['wq', 'wk', 'wv', 'wo', 'bo'].map((k) => tf.tensor(values[k], shapes[k as keyof typeof shapes]));
        multiHeadAttention(tf.tensor3d(values.x, [B, T, D]), weightsFrom(ts), { dropout: 0.1, training: true });
      }),
    ).toThrow(/rng/);
  });

  it('has correct gradients in the input and every weight, with masks and (fixed-seed) dropout', () => {
    const mask = tf.tensor2d(keyMask);
    const order = ['x', 'wq', 'wk', 'wv', 'wo', 'bo'] as const;
    const f = (x: tf.Tensor, ...w: tf.Tensor[]) =>
      multiHeadAttention(x as tf.Tensor3D, weightsFrom(w), { keyMask: mask, dropout: 0.2, training: true, rng: Rng.fromSeed(5) }).output;
    const r = gradientCheck(f, order.map((k) => ({ values: values[k], shape: shapes[k] })), { maxCoordinates: 24 });
    expect(r.failures).toEqual([]);
    expect(r.checked).toBeGreaterThan(100);
    mask.dispose();
  });

  it(`agrees across backends (cpu vs ${backends.others.join(', ')}), forward and gradients`, async () => {
    // float32 chains of ~15 ops with reductions over <= 6 terms: differences of a few ulps of the
    // largest intermediate (|values| < 10), so 1e-5 + 1e-4 relative.
    await expectParity(
      backends,
      () => {
        const x = tf.tensor3d(values.x, [B, T, D]);
        const ws = (['wq', 'wk', 'wv', 'wo', 'bo'] as const).map((k) => tf.tensor(values[k], shapes[k]));
        const mask = tf.tensor2d(keyMask);
        const cot = tf.tensor3d(randn(B * T * D, 'cot'), [B, T, D]);
        const f = (xx: tf.Tensor, ...w: tf.Tensor[]) => tf.sum(tf.mul(multiHeadAttention(xx as tf.Tensor3D, weightsFrom(w), { keyMask: mask }).output, cot)) as tf.Scalar;
        const grads = tf.grads(f)([x, ...ws]);
        return { output: multiHeadAttention(x, weightsFrom(ws), { keyMask: mask }).output, ...Object.fromEntries(grads.map((g, i) => [`d${i}`, g])) };
      },
      1e-5,
      1e-4,
    );
  });
});

describe('MultiHeadAttention (weights)', () => {
  it('has the NDM code layout: per-head 64x64 Q/K/V, 512 -> 64 output with bias', () => {
    const att = new MultiHeadAttention({ dModel: 64, heads: 8 }, Rng.fromSeed(1));
    expect(att.wq.shape).toEqual([8, 64, 64]);
    expect(att.wo.shape).toEqual([512, 64]);
    expect(att.bo.shape).toEqual([64]);
    // 3 * 8 * 64 * 64 + 512 * 64 + 64
    expect(att.parameterCount()).toBe(3 * 8 * 64 * 64 + 512 * 64 + 64);
    expect(Object.keys(att.weights('attention/'))).toEqual(['attention/wq', 'attention/wk', 'attention/wv', 'attention/wo', 'attention/bo']);
    att.dispose();
  });

  it('is reproducible from the seed and frees its variables', () => {
    const before = tf.memory().numTensors;
    const a = new MultiHeadAttention({ dModel: 8, heads: 2 }, Rng.fromSeed(3));
    const b = new MultiHeadAttention({ dModel: 8, heads: 2 }, Rng.fromSeed(3));
    const c = new MultiHeadAttention({ dModel: 8, heads: 2 }, Rng.fromSeed(4));
    expect(a.wk.arraySync()).toEqual(b.wk.arraySync());
    expect(a.wk.arraySync()).not.toEqual(c.wk.arraySync());
    const out = tf.tidy(() => a.apply(tf.ones([1, 3, 8])).output.shape);
    expect(out).toEqual([1, 3, 8]);
    for (const m of [a, b, c]) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
