import { Rng } from '@cascade-lab/core';
import { tf, xavierNormal, xavierUniform, normal, uniform, orthogonal, zeros, ones, constant, fansOf } from './index.js';

function stats(t: tf.Tensor): { mean: number; std: number; min: number; max: number } {
  const v = t.dataSync();
  let s = 0;
  for (const x of v) s += x;
  const mean = s / v.length;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  return { mean, std: Math.sqrt(ss / v.length), min: Math.min(...v), max: Math.max(...v) };
}

// Moment checks on n = 32768 draws: the standard error of the sample std is sigma / sqrt(2n) = 0.4%
// of sigma, and of the mean sigma / sqrt(n) = 0.55% of sigma; the bounds below are 5-7 standard errors.
describe('initialisers', () => {
  it('fansOf treats the last two axes as one matrix', () => {
    expect(fansOf([8, 64, 32])).toEqual({ fanIn: 64, fanOut: 32 });
    expect(fansOf([5])).toEqual({ fanIn: 5, fanOut: 5 });
  });

  it('xavierNormal has std sqrt(2 / (fanIn + fanOut)) per head matrix (0.125 for 64x64, as the NDM code)', () => {
    const t = xavierNormal()([8, 64, 64], Rng.fromSeed(1));
    const s = stats(t);
    expect(Math.abs(s.std / 0.125 - 1)).toBeLessThan(0.03);
    expect(Math.abs(s.mean)).toBeLessThan(0.004);
    t.dispose();
  });

  it('xavierUniform is U(-a, a), a = sqrt(6 / (fanIn + fanOut)), variance a^2 / 3', () => {
    const t = xavierUniform()([128, 256], Rng.fromSeed(2));
    const a = Math.sqrt(6 / 384);
    const s = stats(t);
    expect(s.min).toBeGreaterThanOrEqual(-a);
    expect(s.max).toBeLessThan(a);
    expect(Math.abs(s.std / (a / Math.sqrt(3)) - 1)).toBeLessThan(0.03);
    t.dispose();
  });

  it('explicit fans and gain override the defaults (conv kernels)', () => {
    // kernel 3, 64 -> 100 channels: fans 3 * 64 and 3 * 100; gain 2
    const t = xavierNormal({ fanIn: 192, fanOut: 300, gain: 2 })([3, 64, 100], Rng.fromSeed(3));
    expect(Math.abs(stats(t).std / (2 * Math.sqrt(2 / 492)) - 1)).toBeLessThan(0.03);
    t.dispose();
  });

  it('normal and uniform have the asked moments and range', () => {
    const n = normal({ mean: 1, std: 0.5 })([32768], Rng.fromSeed(4));
    const sn = stats(n);
    expect(Math.abs(sn.mean - 1)).toBeLessThan(0.02);
    expect(Math.abs(sn.std / 0.5 - 1)).toBeLessThan(0.03);
    const u = uniform(-0.1, 0.3)([32768], Rng.fromSeed(5));
    const su = stats(u);
    expect(su.min).toBeGreaterThanOrEqual(-0.1);
    expect(su.max).toBeLessThan(0.3);
    expect(Math.abs(su.mean - 0.1)).toBeLessThan(0.004);
    n.dispose();
    u.dispose();
  });

  it('orthogonal gives orthonormal rows (wide) or columns (tall), per stacked matrix, times the gain', () => {
    const wide = orthogonal()([2, 4, 12], Rng.fromSeed(6));
    const gram = tf.tidy(() => tf.matMul(wide, wide, false, true).arraySync());
    for (const g of gram) g.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(i === j ? 1 : 0, 5)));
    const tall = orthogonal({ gain: 3 })([10, 3], Rng.fromSeed(7));
    const gramT = tf.tidy(() => tf.matMul(tall, tall, true, false).arraySync());
    gramT.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(i === j ? 9 : 0, 4)));
    expect(() => orthogonal()([5], Rng.fromSeed(1))).toThrow(/matrix/);
    wide.dispose();
    tall.dispose();
  });

  it('zeros, ones and constant fill', () => {
    const ts = [zeros()([2], Rng.fromSeed(0)), ones()([2], Rng.fromSeed(0)), constant(0.25)([2], Rng.fromSeed(0))];
    expect(ts.map((t) => Array.from(t.dataSync()))).toEqual([[0, 0], [1, 1], [0.25, 0.25]]);
    ts.forEach((t) => t.dispose());
  });

  it('depends only on the seed', () => {
    const draw = (seed: number) => {
      const t = xavierUniform()([4, 4], Rng.fromSeed(seed));
      const v = Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    expect(draw(11)).toEqual(draw(11));
    expect(draw(11)).not.toEqual(draw(12));
  });
});
