import { tf, maskedSoftmax, maskedLogSoftmax } from './index.js';
import { expectParity, gradientCheck, parityBackends, randn } from './testing.test-util.js';

const backends = await parityBackends();
// Parity: the same float32 formula on every backend; exp/log/sum may round differently in the last
// ulp and reduction order differs, so agreement to 1e-6 + 1e-5 |cpu| (probabilities are <= 1).
const ATOL = 1e-6;
const RTOL = 1e-5;

const mask23 = [[1, 0, 1, 1, 0], [0, 0, 0, 0, 0]];

describe('maskedSoftmax', () => {
  it('renormalises over unmasked entries (hand value) and gives zeros for an all-masked row', () => {
    const p = tf.tidy(() => maskedSoftmax(tf.tensor2d([[1, 2, 3], [4, 5, 6]]), tf.tensor2d([[1, 0, 1], [0, 0, 0]], undefined, 'bool')).arraySync());
    // exp(1) / (exp(1) + exp(3)) = 1 / (1 + e^2) = 0.11920292202211757 (numpy).
    expect(p[0][0]).toBeCloseTo(0.119202922, 6);
    expect(p[0][1]).toBe(0);
    expect(p[0][2]).toBeCloseTo(1 - 0.119202922, 6);
    expect(p[1]).toEqual([0, 0, 0]);
  });

  it('accepts 0/1 masks that broadcast, and matches tf.softmax when nothing is masked', () => {
    const [a, b] = tf.tidy(() => {
      const x = tf.tensor3d(randn(2 * 3 * 4, 'bc'), [2, 3, 4]);
      return [maskedSoftmax(x, tf.ones([1, 1, 4])).arraySync(), tf.softmax(x).arraySync()];
    });
    expect((a as number[][][]).flat(2).map((v) => Math.round(v * 1e6))).toEqual((b as number[][][]).flat(2).map((v) => Math.round(v * 1e6)));
  });

  it('is unaffected by huge or -Infinity logits at masked positions', () => {
    const p = tf.tidy(() => maskedSoftmax(tf.tensor2d([[0, 1e30, 0, -Infinity]]), tf.tensor2d([[1, 0, 1, 0]])).arraySync());
    expect(p[0]).toEqual([0.5, 0, 0.5, 0]);
  });

  it('has correct gradients (central differences; tolerance in testing.test-util.ts) and none at masked entries', () => {
    const logits = randn(10, 'g');
    const mask = tf.tensor2d(mask23, undefined, 'bool');
    const r = gradientCheck((x) => maskedSoftmax(x, mask), [{ values: logits, shape: [2, 5] }]);
    expect(r.failures).toEqual([]);
    expect(r.checked).toBe(10);
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(maskedSoftmax(x, mask), tf.tensor2d(randn(10, 'w'), [2, 5]))))(tf.tensor2d(logits, [2, 5])).arraySync());
    expect([g[0][1], g[0][4], ...g[1]].every((v) => v === 0)).toBe(true); // +0 or -0
    mask.dispose();
  });

  it('maskedLogSoftmax is log(maskedSoftmax) on kept entries, -Infinity elsewhere, with correct gradients', () => {
    const logits = randn(10, 'l');
    const [lp, p] = tf.tidy(() => {
      const x = tf.tensor2d(logits, [2, 5]);
      const m = tf.tensor2d([[1, 0, 1, 1, 0], [1, 1, 1, 1, 1]]);
      return [maskedLogSoftmax(x, m).arraySync(), maskedSoftmax(x, m).arraySync()];
    });
    expect(lp[0][1]).toBe(-Infinity);
    for (const [i, j] of [[0, 0], [0, 2], [1, 4]]) expect(lp[i][j]).toBeCloseTo(Math.log(p[i][j]), 5);
    const keep = tf.tensor2d([[1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], undefined, 'bool');
    const r = gradientCheck((x) => tf.where(keep, maskedLogSoftmax(x, keep), tf.zerosLike(x)), [{ values: logits, shape: [2, 5] }]);
    expect(r.failures).toEqual([]);
    keep.dispose();
  });

  it(`agrees across backends (cpu vs ${backends.others.join(', ')})`, async () => {
    const logits = randn(3 * 4 * 6, 'p', 3);
    const weights = randn(3 * 4 * 6, 'pw');
    const maskValues = randn(3 * 6, 'pm').map((v) => (v > -0.5 ? 1 : 0));
    await expectParity(
      backends,
      () => {
        const x = tf.tensor3d(logits, [3, 4, 6]);
        const m = tf.tensor3d(maskValues, [3, 1, 6]);
        const w = tf.tensor3d(weights, [3, 4, 6]);
        const [value, grad] = [maskedSoftmax(x, m), tf.grad((y: tf.Tensor) => tf.sum(tf.mul(maskedSoftmax(y, m), w)))(x)];
        return { value, grad, log: tf.where(tf.cast(tf.broadcastTo(m, [3, 4, 6]), 'bool'), maskedLogSoftmax(x, m), tf.zerosLike(x)) };
      },
      ATOL,
      RTOL,
    );
  });
});
