import { Rng } from '@cascade-lab/core';
import { tf, initBackend, GraphFunction, lstmStep, lstmSequence, followerGatedLstmStep, gruStep, hardSigmoid, LSTMCell, FollowerGatedLSTMCell, GRUCell, type GateActivation } from './index.js';
import { expectParity, gradientCheck, parityBackends, randn } from './testing.test-util.js';

const backends = await parityBackends();

const B = 2;
const IN = 3;
const FIN = 2;
const U = 3;
const STEPS = 3;
const v = (name: string, n: number, scale = 0.5) => randn(n, `rnn-${name}`, scale);
const data = {
  xs: v('xs', STEPS * B * IN, 1),
  fs: v('fs', STEPS * B * FIN, 1),
  h0: v('h0', B * U),
  c0: v('c0', B * U),
  kernel: v('k', IN * 4 * U),
  recurrent: v('u', U * 4 * U),
  bias: v('b', 4 * U, 0.2),
  followerKernel: v('fk', FIN * U),
  followerBias: v('fb', U, 0.2),
  gruKernel: v('gk', IN * 3 * U),
  gruRecurrent: v('gu', U * 3 * U),
  gruBias: v('gb', 3 * U, 0.2),
};

function stepInputs(xs: tf.Tensor, width: number): tf.Tensor2D[] {
  return tf.unstack(tf.reshape(xs, [STEPS, B, width])) as tf.Tensor2D[];
}

/** Three LSTM steps; returns [h, c] stacked. */
function runLstm(act: GateActivation, xs: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor, kernel: tf.Tensor, recurrentKernel: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  let state = { h: h0 as tf.Tensor2D, c: c0 as tf.Tensor2D };
  for (const x of stepInputs(xs, IN)) state = lstmStep(x, state, { kernel, recurrentKernel, bias }, { recurrentActivation: act });
  return tf.stack([state.h, state.c]);
}

function runFollowerGated(act: GateActivation, xs: tf.Tensor, fs: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor, kernel: tf.Tensor, recurrentKernel: tf.Tensor, bias: tf.Tensor, followerKernel: tf.Tensor, followerBias: tf.Tensor): tf.Tensor {
  let state = { h: h0 as tf.Tensor2D, c: c0 as tf.Tensor2D };
  const followers = stepInputs(fs, FIN);
  stepInputs(xs, IN).forEach((x, t) => {
    state = followerGatedLstmStep(x, followers[t], state, { kernel, recurrentKernel, bias, followerKernel, followerBias }, { recurrentActivation: act });
  });
  return tf.stack([state.h, state.c]);
}

function runGru(xs: tf.Tensor, h0: tf.Tensor, kernel: tf.Tensor, recurrentKernel: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  let h = h0 as tf.Tensor2D;
  for (const x of stepInputs(xs, IN)) h = gruStep(x, h, { kernel, recurrentKernel, bias });
  return h;
}

const inp = (values: number[], shape: number[]) => ({ values, shape });

/**
 * Smallest distance of an i, f or o gate pre-activation to a kink of hard_sigmoid (+-2.5) over the
 * 3 steps, following the hard-sigmoid-gated states of the plain or the follower-gated cell.
 */
function kinkDistance(followerGated: boolean, d: typeof data): number {
  return tf.tidy(() => {
    const w = {
      kernel: tf.tensor2d(d.kernel, [IN, 4 * U]),
      recurrentKernel: tf.tensor2d(d.recurrent, [U, 4 * U]),
      bias: tf.tensor1d(d.bias),
      followerKernel: tf.tensor2d(d.followerKernel, [FIN, U]),
      followerBias: tf.tensor1d(d.followerBias),
    };
    let state = { h: tf.tensor2d(d.h0, [B, U]), c: tf.tensor2d(d.c0, [B, U]) };
    const followers = stepInputs(tf.tensor1d(d.fs), FIN);
    let nearest = Infinity;
    stepInputs(tf.tensor1d(d.xs), IN).forEach((x, t) => {
      const z = tf.add(tf.add(tf.matMul(x, w.kernel), tf.matMul(state.h, w.recurrentKernel)), w.bias);
      const [zi, zf, , zo] = tf.split(z, 4, 1);
      for (const g of [zi, zf, zo]) nearest = Math.min(nearest, tf.min(tf.abs(tf.sub(tf.abs(g), 2.5))).dataSync()[0]);
      state = followerGated ? followerGatedLstmStep(x, followers[t], state, w, { recurrentActivation: 'hardSigmoid' }) : lstmStep(x, state, w, { recurrentActivation: 'hardSigmoid' });
    });
    return nearest;
  });
}

// hard_sigmoid has kinks at +-2.5 where no derivative exists, and a difference quotient across one
// is meaningless (on either flat side both derivatives are 0 and agree). The hard-sigmoid checks
// assert that every gate pre-activation stays at least 0.1 away from a kink, several times what a
// step of h = 1e-2 in one input moves it (|weights| < 2).
const KINK_MARGIN = 0.1;
// Smaller inputs keep the pre-activations inside (-2.4, 2.4) for the hard-sigmoid checks.
const hsData = { ...data, xs: data.xs.map((x) => 0.4 * x), fs: data.fs.map((x) => 0.4 * x) };

describe('hardSigmoid', () => {
  it('is Keras 2 hard_sigmoid, clip(0.2 x + 0.5, 0, 1)', () => {
    expect(tf.tidy(() => hardSigmoid(tf.tensor1d([-3, -2.5, 0, 1, 2.5, 3])).arraySync())).toEqual([0, 0, 0.5, 0.699999988079071, 1, 1]);
  });
});

describe('lstmStep', () => {
  // One unit, x = 1, h = 0, c = 0.5, kernel [0.5, -0.5, 1, 2] (i, f, c~, o), forget bias 1.
  const one = (act: GateActivation) =>
    tf.tidy(() => {
      const s = lstmStep(tf.tensor2d([[1]]), { h: tf.tensor2d([[0]]), c: tf.tensor2d([[0.5]]) }, { kernel: tf.tensor2d([[0.5, -0.5, 1, 2]]), recurrentKernel: tf.zeros([1, 4]), bias: tf.tensor1d([0, 1, 0, 0]) }, { recurrentActivation: act });
      return [s.c.dataSync()[0], s.h.dataSync()[0]];
    });

  it('matches a hand computation with sigmoid gates', () => {
    // numpy: i = s(0.5), f = s(0.5), c~ = tanh(1), o = s(2); c' = 0.78529105, h' = 0.57756785
    const [c, h] = one('sigmoid');
    expect(c).toBeCloseTo(0.78529105, 6);
    expect(h).toBeCloseTo(0.57756785, 6);
  });

  it('matches a hand computation with hard-sigmoid gates', () => {
    // numpy: i = f = 0.6, o = 0.9 (hard sigmoid); c' = 0.75695649, h' = 0.5753527
    const [c, h] = one('hardSigmoid');
    expect(c).toBeCloseTo(0.75695649, 6);
    expect(h).toBeCloseTo(0.5753527, 6);
  });

  it.each(['sigmoid', 'hardSigmoid'] as const)('%s: gradients through 3 steps match central differences', (act) => {
    if (act === 'hardSigmoid') {
      expect(kinkDistance(false, hsData)).toBeGreaterThan(KINK_MARGIN);
    }
    const d = act === 'hardSigmoid' ? hsData : data;
    const r = gradientCheck((xs, h0, c0, k, u, b) => runLstm(act, xs, h0, c0, k, u, b), [
      inp(d.xs, [STEPS * B * IN]),
      inp(data.h0, [B, U]),
      inp(data.c0, [B, U]),
      inp(data.kernel, [IN, 4 * U]),
      inp(data.recurrent, [U, 4 * U]),
      inp(data.bias, [4 * U]),
    ]);
    expect(r.failures).toEqual([]);
  });
});

describe('lstmSequence', () => {
  // xs as [B, STEPS, IN] sequences; the reference is lstmStep position by position from the zero
  // state, differentiated by tfjs' autodiff.
  const sequences = (xs: tf.Tensor) => tf.reshape(xs, [B, STEPS, IN]) as tf.Tensor3D;
  const stepped = (xs: tf.Tensor, kernel: tf.Tensor, recurrentKernel: tf.Tensor, bias: tf.Tensor, steps = STEPS): tf.Tensor => {
    let state = { h: tf.zeros([B, U]) as tf.Tensor2D, c: tf.zeros([B, U]) as tf.Tensor2D };
    const hs = (tf.unstack(sequences(xs), 1) as tf.Tensor2D[]).slice(0, steps).map((x) => (state = lstmStep(x, state, { kernel, recurrentKernel, bias })).h);
    return tf.stack(hs, 1);
  };
  const inputs = () => [tf.tensor1d(data.xs), tf.tensor2d(data.kernel, [IN, 4 * U]), tf.tensor2d(data.recurrent, [U, 4 * U]), tf.tensor1d(data.bias)];

  it.each([STEPS, 1])('states and gradients over %i positions equal lstmStep run position by position (autodiff)', (steps) => {
    const r = tf.tensor(randn(B * steps * U, 'rnn-seq-cotangent'), [B, steps, U]);
    const [ours, reference] = [
      (xs: tf.Tensor, k: tf.Tensor, u: tf.Tensor, b: tf.Tensor) => lstmSequence(tf.slice(sequences(xs), [0, 0, 0], [B, steps, IN]), { kernel: k, recurrentKernel: u, bias: b }),
      (xs: tf.Tensor, k: tf.Tensor, u: tf.Tensor, b: tf.Tensor) => stepped(xs, k, u, b, steps),
    ].map((f) =>
      tf.tidy(() => {
        const x = inputs();
        const value = Array.from(f(...(x as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor])).dataSync());
        const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...(xs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor])), r)) as tf.Scalar)(x);
        return { value, grads: grads.map((g) => Array.from(g.dataSync())) };
      }),
    );
    r.dispose();
    expect(ours.value).toHaveLength(B * steps * U);
    ours.value.forEach((x, i) => expect(x).toBeCloseTo(reference.value[i], 6));
    ours.grads.forEach((g, k) => g.forEach((x, i) => expect(x).toBeCloseTo(reference.grads[k][i], 6)));
    // The cotangent reaches every input: no gradient is identically zero, but that of the
    // recurrent kernel over one position (it multiplies the zero state).
    ours.grads.forEach((g, k) => {
      if (steps === 1 && k === 2) expect(Math.max(...g.map(Math.abs))).toBe(0);
      else expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(1e-3);
    });
  });

  it('gradients match central differences', () => {
    const r = gradientCheck((xs, k, u, b) => lstmSequence(sequences(xs), { kernel: k, recurrentKernel: u, bias: b }), [
      inp(data.xs, [STEPS * B * IN]),
      inp(data.kernel, [IN, 4 * U]),
      inp(data.recurrent, [U, 4 * U]),
      inp(data.bias, [4 * U]),
    ]);
    expect(r.failures).toEqual([]);
  });

  it.each(['sigmoid', 'hardSigmoid'] as const)('LSTMCell.sequence (%s gates) equals stepping the cell', (act) => {
    const cell = new LSTMCell({ inputSize: IN, units: U, recurrentActivation: act }, Rng.fromSeed(5));
    const [a, b] = tf.tidy(() => {
      const x = sequences(tf.tensor1d(data.xs));
      let state = cell.zeroState(B);
      const hs = (tf.unstack(x, 1) as tf.Tensor2D[]).map((xt) => (state = cell.step(xt, state)).h);
      return [Array.from(cell.sequence(x).dataSync()), Array.from(tf.stack(hs, 1).dataSync())];
    });
    a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 6));
    cell.dispose();
  });

  const onTensorflow = backends.others.includes('tensorflow') ? it : it.skip;
  onTensorflow('on tensorflow, is the fused BlockLSTMV2 and LSTMBlockCellGrad kernels: a few ops a position in a compiled graph', async () => {
    await initBackend('tensorflow');
    try {
      const g = new GraphFunction(([xs, k, u, b]) => {
        const { value, grad } = tf.valueAndGrad((kk: tf.Tensor) => tf.sum(tf.square(lstmSequence(sequences(xs), { kernel: kk, recurrentKernel: u, bias: b }))))(k);
        return [value, grad];
      }, { name: 'fused lstm' });
      const run = () => {
        const inputs = [tf.tensor1d(data.xs), tf.tensor2d(data.kernel, [IN, 4 * U]), tf.tensor2d(data.recurrent, [U, 4 * U]), tf.tensor1d(data.bias)];
        const out = g.call(inputs);
        const values = out.map((t) => Array.from(t.dataSync()));
        tf.dispose([...inputs, ...out]);
        return values;
      };
      const traced = run();
      const compiled = run();
      compiled.forEach((v, k) => v.forEach((x, i) => expect(x).toBeCloseTo(traced[k][i], 6)));
      // Counted once (3 positions): 16 ops with BlockLSTMGradV2 (the two LSTM ops and the
      // transposes, concat, zeros and slices around them), 46 with the per-position cell
      // gradient (3 ops a position and the unstacks, stack, matmuls and gate swaps around them),
      // 96 through the ops path (lstmSequenceOps).
      expect(g.stats.lastGraphOps).toBeLessThan(60);
      g.dispose();
    } finally {
      await initBackend('cpu');
    }
  });

  onTensorflow.each(['fused', 'fusedBlockGrad'] as const)('on tensorflow, %s: gradients match central differences', async (implementation) => {
    await initBackend('tensorflow');
    try {
      const r = gradientCheck((xs, k, u, b) => lstmSequence(sequences(xs), { kernel: k, recurrentKernel: u, bias: b }, { implementation }), [
        inp(data.xs, [STEPS * B * IN]),
        inp(data.kernel, [IN, 4 * U]),
        inp(data.recurrent, [U, 4 * U]),
        inp(data.bias, [4 * U]),
      ]);
      expect(r.failures).toEqual([]);
    } finally {
      await initBackend('cpu');
    }
  });

  onTensorflow.each([STEPS, 1])('on tensorflow, the per-position cell backward equals BlockLSTMGradV2 and the ops path over %i positions', async (steps) => {
    await initBackend('tensorflow');
    try {
      const r = tf.tensor(randn(B * steps * U, 'rnn-seq-cotangent'), [B, steps, U]);
      const [cells, block, ops] = (['fused', 'fusedBlockGrad', 'ops'] as const).map((implementation) =>
        tf.tidy(() => {
          const f = (xs: tf.Tensor, k: tf.Tensor, u: tf.Tensor, b: tf.Tensor) =>
            lstmSequence(tf.slice(sequences(xs), [0, 0, 0], [B, steps, IN]), { kernel: k, recurrentKernel: u, bias: b }, { implementation });
          const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...(xs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor])), r)) as tf.Scalar)(inputs());
          return grads.map((g) => Array.from(g.dataSync()));
        }),
      );
      r.dispose();
      // Float32 rounding only (the weight gradients summed over positions in another order).
      cells.forEach((g, k) => g.forEach((x, i) => {
        expect(x).toBeCloseTo(block[k][i], 6);
        expect(x).toBeCloseTo(ops[k][i], 6);
      }));
      cells.forEach((g, k) => {
        if (steps === 1 && k === 2) expect(Math.max(...g.map(Math.abs))).toBe(0);
        else expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(1e-3);
      });
    } finally {
      await initBackend('cpu');
    }
  });

  it('runs on every parity backend with the same states and gradients', async () => {
    // Three positions of O(1) gates: float32 rounding differences of a few ulps; 1e-5 + 1e-4 relative.
    await expectParity(
      backends,
      () => {
        const [xs, kernel, recurrentKernel, bias] = inputs();
        const r = tf.tensor(randn(B * STEPS * U, 'rnn-seq-cotangent'), [B, STEPS, U]);
        const grads = tf.grads((x: tf.Tensor, k: tf.Tensor, u: tf.Tensor) => tf.sum(tf.mul(lstmSequence(sequences(x), { kernel: k, recurrentKernel: u, bias }), r)) as tf.Scalar)([xs, kernel, recurrentKernel]);
        const db = tf.grad((b: tf.Tensor) => tf.sum(tf.mul(lstmSequence(sequences(xs), { kernel, recurrentKernel, bias: b }), r)))(bias);
        return { h: lstmSequence(sequences(xs), { kernel, recurrentKernel, bias }), dx: grads[0], dk: grads[1], du: grads[2], db };
      },
      1e-5,
      1e-4,
    );
  });
});

describe('followerGatedLstmStep', () => {
  it('scales the input gate by sigmoid(W_g f + b_g) and nothing else (hand computation)', () => {
    // followers 2, W_g = 0.3: g = s(0.6) = 0.64565631; i = s(0.5) g; c' = 0.61731039, h' = 0.48378008 (numpy)
    const [c, h, cClosed] = tf.tidy(() => {
      const w = { kernel: tf.tensor2d([[0.5, -0.5, 1, 2]]), recurrentKernel: tf.zeros([1, 4]), bias: tf.tensor1d([0, 1, 0, 0]), followerKernel: tf.tensor2d([[0.3]]), followerBias: tf.zeros([1]) };
      const state = { h: tf.tensor2d([[0]]), c: tf.tensor2d([[0.5]]) };
      const s = followerGatedLstmStep(tf.tensor2d([[1]]), tf.tensor2d([[2]]), state, w);
      // A closed follower gate (W_g f = -100) blocks the input: c' = f c = s(0.5) * 0.5.
      const closed = followerGatedLstmStep(tf.tensor2d([[1]]), tf.tensor2d([[-1000 / 3]]), state, w);
      return [s.c.dataSync()[0], s.h.dataSync()[0], closed.c.dataSync()[0]];
    });
    expect(c).toBeCloseTo(0.61731039, 6);
    expect(h).toBeCloseTo(0.48378008, 6);
    expect(cClosed).toBeCloseTo(0.5 / (1 + Math.exp(-0.5)), 6);
  });

  it.each(['sigmoid', 'hardSigmoid'] as const)('%s: gradients through 3 steps match central differences', (act) => {
    if (act === 'hardSigmoid') expect(kinkDistance(true, hsData)).toBeGreaterThan(KINK_MARGIN);
    const d = act === 'hardSigmoid' ? hsData : data;
    const r = gradientCheck((xs, fs, h0, c0, k, u, b, fk, fb) => runFollowerGated(act, xs, fs, h0, c0, k, u, b, fk, fb), [
      inp(d.xs, [STEPS * B * IN]),
      inp(d.fs, [STEPS * B * FIN]),
      inp(data.h0, [B, U]),
      inp(data.c0, [B, U]),
      inp(data.kernel, [IN, 4 * U]),
      inp(data.recurrent, [U, 4 * U]),
      inp(data.bias, [4 * U]),
      inp(data.followerKernel, [FIN, U]),
      inp(data.followerBias, [U]),
    ]);
    expect(r.failures).toEqual([]);
  });
});

describe('gruStep', () => {
  it('matches a hand computation', () => {
    // x = 1, h = 0.5, kernel [0.5, -1, 2] (z, r, h~), recurrent [0.3, 0.4, -0.6], bias 0 (numpy):
    // z = 0.65701046, r = 0.31002552, h~ = tanh(2 + r h (-0.6)) = 0.95683209, h' = 0.65668863
    const h = tf.tidy(() => gruStep(tf.tensor2d([[1]]), tf.tensor2d([[0.5]]), { kernel: tf.tensor2d([[0.5, -1, 2]]), recurrentKernel: tf.tensor2d([[0.3, 0.4, -0.6]]), bias: tf.zeros([3]) }).dataSync()[0]);
    expect(h).toBeCloseTo(0.65668863, 6);
  });

  it('gradients through 3 steps match central differences', () => {
    const r = gradientCheck((xs, h0, k, u, b) => runGru(xs, h0, k, u, b), [
      inp(data.xs, [STEPS * B * IN]),
      inp(data.h0, [B, U]),
      inp(data.gruKernel, [IN, 3 * U]),
      inp(data.gruRecurrent, [U, 3 * U]),
      inp(data.gruBias, [3 * U]),
    ]);
    expect(r.failures).toEqual([]);
  });
});

describe('recurrent cells across backends', () => {
  it(`agree with cpu (${backends.others.join(', ')}), forward and gradients`, async () => {
    // Three steps of O(1) gates: float32 rounding differences of a few ulps; 1e-5 + 1e-4 relative.
    await expectParity(
      backends,
      () => {
        const t = (name: keyof typeof data, shape: number[]) => tf.tensor(data[name], shape);
        const xs = t('xs', [STEPS * B * IN]);
        const fs = t('fs', [STEPS * B * FIN]);
        const h0 = t('h0', [B, U]);
        const c0 = t('c0', [B, U]);
        const k = t('kernel', [IN, 4 * U]);
        const u = t('recurrent', [U, 4 * U]);
        const b = t('bias', [4 * U]);
        const fk = t('followerKernel', [FIN, U]);
        const fb = t('followerBias', [U]);
        const gk = t('gruKernel', [IN, 3 * U]);
        const gu = t('gruRecurrent', [U, 3 * U]);
        const gb = t('gruBias', [3 * U]);
        const out: Record<string, tf.Tensor> = {};
        for (const act of ['sigmoid', 'hardSigmoid'] as const) {
          const lstm = (...a: tf.Tensor[]) => tf.sum(runLstm(act, a[0], a[1], a[2], a[3], a[4], a[5])) as tf.Scalar;
          out[`lstm-${act}`] = runLstm(act, xs, h0, c0, k, u, b);
          tf.grads(lstm)([xs, h0, c0, k, u, b]).forEach((g, i) => (out[`lstm-${act}-d${i}`] = g));
          const fg = (...a: tf.Tensor[]) => tf.sum(runFollowerGated(act, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8])) as tf.Scalar;
          out[`fg-${act}`] = runFollowerGated(act, xs, fs, h0, c0, k, u, b, fk, fb);
          tf.grads(fg)([xs, fs, h0, c0, k, u, b, fk, fb]).forEach((g, i) => (out[`fg-${act}-d${i}`] = g));
        }
        out.gru = runGru(xs, h0, gk, gu, gb);
        tf.grads((...a: tf.Tensor[]) => tf.sum(runGru(a[0], a[1], a[2], a[3], a[4])) as tf.Scalar)([xs, h0, gk, gu, gb]).forEach((g, i) => (out[`gru-d${i}`] = g));
        return out;
      },
      1e-5,
      1e-4,
    );
  });
});

describe('cell weight holders', () => {
  it('LSTMCell: Keras layout, forget bias 1, orthogonal recurrent kernel, seeded', () => {
    const cell = new LSTMCell({ inputSize: 5, units: 4 }, Rng.fromSeed(1));
    expect(cell.kernel.shape).toEqual([5, 16]);
    expect(cell.recurrentKernel.shape).toEqual([4, 16]);
    expect(Array.from(cell.bias.dataSync())).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Rows of the [4, 16] recurrent kernel are orthonormal: U U^T = I.
    const gram = tf.tidy(() => tf.matMul(cell.recurrentKernel, cell.recurrentKernel, false, true).arraySync());
    gram.forEach((row, i) => row.forEach((g, j) => expect(g).toBeCloseTo(i === j ? 1 : 0, 5)));
    const again = new LSTMCell({ inputSize: 5, units: 4 }, Rng.fromSeed(1));
    expect(again.kernel.arraySync()).toEqual(cell.kernel.arraySync());
    const state = tf.tidy(() => {
      const s = cell.step(tf.ones([2, 5]), cell.zeroState(2));
      return [s.h.shape, s.c.shape];
    });
    expect(state).toEqual([[2, 4], [2, 4]]);
    cell.dispose();
    again.dispose();
  });

  it('FollowerGatedLSTMCell: 4 usual gates on the count, one follower gate without recurrence', () => {
    const cell = new FollowerGatedLSTMCell({ inputSize: 1, followerSize: 1, units: 16, recurrentActivation: 'hardSigmoid' }, Rng.fromSeed(2));
    expect(Object.fromEntries(Object.entries(cell.weights()).map(([k, w]) => [k, w.shape]))).toEqual({
      kernel: [1, 64],
      recurrentKernel: [16, 64],
      bias: [64],
      followerKernel: [1, 16],
      followerBias: [16],
    });
    const h = tf.tidy(() => cell.step(tf.ones([3, 1]), tf.ones([3, 1]), cell.zeroState(3)).h.shape);
    expect(h).toEqual([3, 16]);
    cell.dispose();
  });

  it('GRUCell: gates z, r, h~ side by side', () => {
    const cell = new GRUCell({ inputSize: 2, units: 3 }, Rng.fromSeed(3));
    expect(cell.kernel.shape).toEqual([2, 9]);
    expect(cell.recurrentKernel.shape).toEqual([3, 9]);
    expect(tf.tidy(() => cell.step(tf.ones([1, 2]), cell.zeroState(1)).shape)).toEqual([1, 3]);
    cell.dispose();
  });
});
