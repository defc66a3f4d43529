import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { WeightedRowTable } from './weighted-row-sum.js';

function reference(table: Float32Array, width: number, index: ArrayLike<number>, weight: ArrayLike<number>, count: number): Float64Array {
  const out = new Float64Array(width);
  for (let j = 0; j < count; j++) for (let e = 0; e < width; e++) out[e] += weight[j] * table[index[j] * width + e];
  return out;
}

describe('WeightedRowTable (WebAssembly SIMD)', () => {
  it.each([4, 12, 16, 64, 68, 100])('matches a float64 reference, width %i', (width) => {
    const rng = Rng.fromSeed(width);
    const rows = 37;
    const table = Float32Array.from({ length: rows * width }, () => rng.normal());
    const t = new WeightedRowTable(table, width);
    expect(t.rows).toBe(rows);
    for (const count of [0, 1, 5, 300]) {
      const { index, weight } = t.items(count);
      for (let j = 0; j < count; j++) {
        index[j] = rng.int(rows);
        weight[j] = rng.next();
      }
      const expected = reference(table, width, index, weight, count);
      const got = t.sum(count);
      expect(got.length).toBe(width);
      for (let e = 0; e < width; e++) expect(Math.abs(got[e] - expected[e])).toBeLessThan(1e-4 * (1 + Math.abs(expected[e])));
    }
  });

  it.each([16, 64, 68])('sums in float32 over the items in order, bit for bit, width %i (64: the one-pass path)', (width) => {
    const rng = Rng.fromSeed(100 + width);
    const rows = 50;
    const table = Float32Array.from({ length: rows * width }, () => rng.normal());
    const t = new WeightedRowTable(table, width);
    const count = 2000;
    const { index, weight } = t.items(count);
    for (let j = 0; j < count; j++) {
      index[j] = rng.int(rows);
      weight[j] = rng.next() - 0.5;
    }
    const expected = new Float32Array(width);
    for (let j = 0; j < count; j++) {
      for (let e = 0; e < width; e++) expected[e] = Math.fround(expected[e] + Math.fround(weight[j] * table[index[j] * width + e]));
    }
    expect(Array.from(t.sum(count))).toEqual(Array.from(expected));
  });

  it('grows its memory for many items and keeps the table intact', () => {
    const width = 64;
    const table = Float32Array.from({ length: 500 * width }, (_, i) => (i % 7) - 3);
    const t = new WeightedRowTable(table, width);
    const count = 100_000;
    const { index, weight } = t.items(count);
    for (let j = 0; j < count; j++) {
      index[j] = j % 500;
      weight[j] = 1 / 1024;
    }
    const expected = reference(table, width, index, weight, count);
    const got = t.sum(count);
    for (let e = 0; e < width; e++) expect(got[e]).toBeCloseTo(expected[e], 3);
  });

  it('rejects widths that are not multiples of 4 and sums over more items than reserved', () => {
    expect(() => new WeightedRowTable(new Float32Array(6), 6)).toThrow(/multiple of 4/);
    expect(() => new WeightedRowTable(new Float32Array(10), 4)).toThrow(/not a multiple/);
    expect(() => new WeightedRowTable(new Float32Array(8), 4).sum(5000)).toThrow(/items\(count\) first/);
  });

  it('embeds the bytes that the .wat source compiles to', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
    // Exits non-zero (and the test fails) when weighted-row-sum.wasm.ts is stale.
    execFileSync(process.execPath, [join(root, 'tools/wasm/build.mjs'), '--check'], { cwd: root, stdio: 'pipe' });
  });
});
