import { END_USER, PAD_USER, Rng } from '@cascade-lab/core';
import { layerNorm, multiHeadAttention } from '@cascade-lab/tensor-ops';
import { batchOf, crossEntropyWithGradient, crossEntropyWithGradientOfIds, infectedUserMask, MASKED_LOGIT, NdmNetwork, nextUserTargets, targetWeightTensors, weightedCrossEntropySum } from './model.js';
import { smallModel, useBackend } from './testing.test-util.js';
import { tf } from './tf.js';

beforeAll(() => useBackend('cpu'));

const sequences = [
  [2, 5, 7, 3],
  [4, 9],
  [11, 6, 2],
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('NdmNetwork forward pass', () => {
  it.each([
    ['standard', true],
    ['ndm-code', false],
  ] as const)('active embeddings equal per-head attention + residual + layer norm (%s, scaled %s)', (norm, scaleScores) => {
    // Reference: tensor-ops' multiHeadAttention, which computes Q/K/V per head (Eq. 3-5 literally);
    // the network uses the fused form with M_i = W^Q_i W^K_i^T and W^V_i W^O_i.
    const { arch, weights } = smallModel(12, { layerNorm: norm, scaleScores, dropout: 0 });
    const net = new NdmNetwork(arch, weights);
    const batch = batchOf(sequences);
    const { d, h, B, L } = { d: arch.dimension, h: arch.heads, B: batch.batchSize, L: batch.maxLength };
    const [ours, reference] = tf.tidy(() => {
      const act = net.activeEmbeddings(batch, { training: false }).act;
      const perHead = (w: Float32Array) => tf.transpose(tf.reshape(tf.tensor2d(w, [d, h * d]), [d, h, d]), [1, 0, 2]);
      const x = tf.reshape(tf.gather(tf.tensor2d(weights.embedding, [arch.numUsers, d]), tf.tensor1d(batch.users, 'int32')), [B, L, d]) as tf.Tensor3D;
      const keyMask = tf.tensor2d(Float32Array.from(batch.users, (u) => (u === PAD_USER ? 0 : 1)), [B, L]);
      const attended = multiHeadAttention(
        x,
        { wq: perHead(weights.query), wk: perHead(weights.key), wv: perHead(weights.value), wo: tf.tensor2d(weights.output, [h * d, d]), bo: tf.tensor1d(weights.outputBias) },
        { keyMask, causal: true, scaleDivisor: scaleScores ? Math.sqrt(d) : 1 },
      ).output;
      const ref = layerNorm(tf.add(x, attended), tf.tensor1d(weights.normGain), tf.tensor1d(weights.normBias), { variant: norm === 'standard' ? 'standard' : 'ndm' });
      return [act.dataSync(), ref.dataSync()];
    });
    expect(maxAbsDiff(ours, reference)).toBeLessThan(1e-4);
    net.dispose();
  });

  it.each([
    [3, false, 'active'],
    [1, false, 'active'],
    [4, true, 'active'],
    [2, true, 'embedding'],
  ] as const)('window %i (Finit %s from %s): logits = sum_n act(u_{j-n}) W_n + b (+ Finit term), Eq. 6-7', (window, initialUser, initialUserInput) => {
    const { arch, weights } = smallModel(12, { window, initialUser, initialUserInput });
    const net = new NdmNetwork(arch, weights);
    const batch = batchOf(sequences);
    const U = arch.numUsers;
    const d = arch.dimension;
    const [act, x, logits] = tf.tidy(() => {
      const e = net.activeEmbeddings(batch, { training: false });
      return [e.act.dataSync(), e.x.dataSync(), net.logits(batch, { training: false }).dataSync()];
    });
    const L = batch.maxLength;
    let worst = 0;
    for (let b = 0; b < batch.batchSize; b++) {
      for (let j = 0; j < batch.lengths[b]; j++) {
        for (let v = 0; v < U; v++) {
          let s = weights.windowBias[v];
          // Positions before the start contribute nothing.
          for (let n = 0; n < window && j - n >= 0; n++) for (let e = 0; e < d; e++) s += act[(b * L + j - n) * d + e] * weights.windowProjection[(n * d + e) * U + v];
          if (initialUser) {
            const src = initialUserInput === 'active' ? act : x;
            for (let e = 0; e < d; e++) s += src[b * L * d + e] * weights.initialProjection[e * U + v];
          }
          worst = Math.max(worst, Math.abs(s - logits[(b * L + j) * U + v]));
        }
      }
    }
    expect(worst).toBeLessThan(1e-4);
    net.dispose();
  });

  it('is causal: logits at position j do not depend on later users', () => {
    const { arch, weights } = smallModel();
    const net = new NdmNetwork(arch, weights);
    const U = arch.numUsers;
    const a = tf.tidy(() => net.logits(batchOf([[2, 5, 7, 3]]), { training: false }).dataSync());
    const b = tf.tidy(() => net.logits(batchOf([[2, 5, 9, 10]]), { training: false }).dataSync());
    expect(maxAbsDiff(a.subarray(0, 2 * U), b.subarray(0, 2 * U))).toBe(0);
    expect(maxAbsDiff(a.subarray(2 * U, 3 * U), b.subarray(2 * U, 3 * U))).toBeGreaterThan(1e-3);
    net.dispose();
  });

  it('row padding does not change a sequence\'s logits', () => {
    const { arch, weights } = smallModel();
    const net = new NdmNetwork(arch, weights);
    const U = arch.numUsers;
    const alone = tf.tidy(() => net.logits(batchOf([[4, 9]]), { training: false }).dataSync());
    const padded = tf.tidy(() => net.logits(batchOf(sequences), { training: false }).dataSync());
    // Row 1 of the 3-row batch (width 4) starts at position 4.
    expect(maxAbsDiff(alone, padded.subarray(4 * U, 6 * U))).toBeLessThan(1e-5);
    net.dispose();
  });
});

describe('masking', () => {
  it('masks padding and every user infected up to and including the position, never </s>', () => {
    const batch = batchOf([[2, 5, 7]]);
    const mask = infectedUserMask(batch, 8);
    const masked = (t: number) => [...Array(8).keys()].filter((v) => mask[t * 8 + v] === MASKED_LOGIT);
    expect(masked(0)).toEqual([PAD_USER, 2]);
    expect(masked(1)).toEqual([PAD_USER, 2, 5]);
    expect(masked(2)).toEqual([PAD_USER, 2, 5, 7]);
    expect(mask[2 * 8 + END_USER]).toBe(0);
  });

  it('targets: next user, then </s> (weighted out with learnEnd false); repeated users and padding ignored', () => {
    // Row 0: 2 5 2 -> targets 5, 2 (repeat of an infected user: ignored), </s>.
    const batch = batchOf([[2, 5, 2], [3, 4]]);
    const withEnd = nextUserTargets(batch, true);
    expect(Array.from(withEnd.users)).toEqual([5, 2, END_USER, 4, END_USER, PAD_USER]);
    expect(Array.from(withEnd.weights)).toEqual([1, 0, 1, 1, 1, 0]);
    expect(withEnd.count).toBe(4);
    const codeVariant = nextUserTargets(batch, false);
    expect(Array.from(codeVariant.weights)).toEqual([1, 0, 0, 1, 0, 0]);
    expect(codeVariant.count).toBe(2);
  });
});

describe('weighted cross-entropy', () => {
  it('equals sum_r w_r (logsumexp(l_r) - l_r[target]) and its gradient equals autodiff of that formula', () => {
    const rng = Rng.fromSeed(5);
    const logitsValues = Float32Array.from({ length: 3 * 5 }, () => rng.normal(0, 2));
    // Row 2's target is masked (-1e9) and weighted 0: it must contribute exactly 0, not NaN.
    logitsValues[2 * 5 + 4] = MASKED_LOGIT;
    const targets = { users: Int32Array.from([1, 3, 4]), weights: Float32Array.from([1, 1, 0]), count: 2 };
    const logits = tf.tensor2d(logitsValues, [3, 5]);
    // Hand formula in float64.
    let expected = 0;
    for (let r = 0; r < 2; r++) {
      const row = Array.from(logitsValues.subarray(r * 5, r * 5 + 5));
      const m = Math.max(...row);
      expected += m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0)) - row[targets.users[r]];
    }
    const value = tf.tidy(() => weightedCrossEntropySum(logits, targets).dataSync()[0]);
    expect(value).toBeCloseTo(expected, 4);
    const ours = tf.grad((l: tf.Tensor) => weightedCrossEntropySum(l as tf.Tensor2D, targets))(logits).dataSync();
    const reference = tf
      .grad((l: tf.Tensor) => {
        const rows = tf.sub(tf.logSumExp(l, 1), tf.sum(tf.mul(l, tf.oneHot(tf.tensor1d(targets.users, 'int32'), 5)), 1));
        return tf.sum(tf.mul(rows, tf.tensor1d(targets.weights)));
      })(logits)
      .dataSync();
    expect(Array.from(ours).every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(ours, reference)).toBeLessThan(1e-6);
    logits.dispose();
  });

  it('with the targets as ids: the gradient of the dense one-hot form bit for bit, its value to rounding', () => {
    const rng = Rng.fromSeed(6);
    const N = 7;
    const U = 300;
    const values = Float32Array.from({ length: N * U }, () => rng.normal(0, 3));
    // Row 2's target is masked and weighted 0; row 5 is padding (weight 0, target 0).
    const targets = { users: Int32Array.from([4, 299, 17, 4, 150, 0, 2]), weights: Float32Array.from([1, 1, 0, 1, 1, 0, 1]), count: 5 };
    values[2 * U + 17] = MASKED_LOGIT;
    tf.tidy(() => {
      const logits = tf.tensor2d(values, [N, U]);
      const { rowWeights, oneHotWeighted } = targetWeightTensors(targets, U, 1 / 5);
      const dense = crossEntropyWithGradient(logits, rowWeights, oneHotWeighted);
      const index = tf.stack([tf.range(0, N, 1, 'int32'), tf.tensor1d(targets.users, 'int32')], 1);
      const ids = crossEntropyWithGradientOfIds(logits, rowWeights, index);
      expect(Array.from(ids.dLogits.dataSync())).toEqual(Array.from(dense.dLogits.dataSync()));
      const [a, b] = [ids.value.dataSync()[0], dense.value.dataSync()[0]];
      expect(Number.isFinite(a)).toBe(true);
      // The same five products summed in another order: float32 rounding of a value near 6.
      expect(Math.abs(a - b)).toBeLessThan(1e-5 * Math.abs(b));
    });
  });
});

describe('gradients', () => {
  it('match central finite differences of the loss', () => {
    const { arch, weights } = smallModel(10, { dropout: 0 });
    const batch = batchOf([
      [2, 5, 7, 3],
      [4, 9, 6],
    ]);
    const targets = nextUserTargets(batch, true);
    const net = new NdmNetwork(arch, weights);
    const loss = () => weightedCrossEntropySum(net.maskedLogits(batch, { training: false }), targets) as tf.Scalar;
    const { grads } = tf.variableGrads(loss);
    const byWeight = new Map(net.trainableVariables().map((v) => [v.name.split('/')[1], grads[v.name].dataSync()]));
    const lossAt = (w: typeof weights) => {
      net.assignWeights(w);
      return tf.tidy(() => loss().dataSync()[0]);
    };
    const rng = Rng.fromSeed(11);
    const eps = 1e-2;
    for (const name of ['embedding', 'query', 'key', 'value', 'output', 'normGain', 'windowProjection', 'windowBias'] as const) {
      const g = byWeight.get(name)!;
      for (let trial = 0; trial < 3; trial++) {
        // Pick an entry with a non-negligible gradient so the check has something to measure.
        let i = rng.int(g.length);
        for (let k = 0; k < 50 && Math.abs(g[i]) < 1e-3; k++) i = rng.int(g.length);
        const plus = { ...weights, [name]: weights[name].slice() };
        plus[name][i] += eps;
        const minus = { ...weights, [name]: weights[name].slice() };
        minus[name][i] -= eps;
        const fd = (lossAt(plus) - lossAt(minus)) / (2 * eps);
        expect(Math.abs(fd - g[i])).toBeLessThan(5e-3 + 0.02 * Math.abs(g[i]));
      }
    }
    for (const t of Object.values(grads)) t.dispose();
    net.dispose();
  });
});
