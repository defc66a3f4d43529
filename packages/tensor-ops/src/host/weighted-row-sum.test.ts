import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { LookupAttentionTable, WeightedRowTable } from './weighted-row-sum.js';

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

describe('LookupAttentionTable (WebAssembly SIMD)', () => {
  /** The steps it replaces, in plain JavaScript: float64 normalisers, float32 weights, float32 sums in item order. */
  function javascript(values: Float32Array, lookup: Float32Array, heads: number, width: number, numKeys: number, query: number, keys: number[]): Float32Array | null {
    const norms = new Float64Array(heads);
    const base = query * numKeys * heads;
    for (const key of keys) for (let i = 0; i < heads; i++) norms[i] += lookup[base + key * heads + i];
    for (let i = 0; i < heads; i++) {
      if (!(norms[i] > 1e-30)) return null;
      norms[i] = 1 / norms[i];
    }
    const out = new Float32Array(width);
    for (const key of keys) {
      for (let i = 0; i < heads; i++) {
        const w = Math.fround(lookup[base + key * heads + i] * norms[i]);
        const row = (key * heads + i) * width;
        for (let e = 0; e < width; e++) out[e] = Math.fround(out[e] + Math.fround(w * values[row + e]));
      }
    }
    return out;
  }

  it.each([
    [8, 64, 20],
    [3, 16, 7],
    [1, 68, 5],
  ])('gives the JavaScript steps bit for bit (%i heads, width %i, %i keys)', (heads, width, numKeys) => {
    const rng = Rng.fromSeed(heads * 1000 + width);
    const queries = numKeys + 2;
    const values = Float32Array.from({ length: numKeys * heads * width }, () => rng.normal());
    // Unnormalised weights over many orders of magnitude, so that the order of the sums matters.
    const lookup = Float32Array.from({ length: queries * numKeys * heads }, () => Math.exp(-30 * rng.next()));
    const att = new LookupAttentionTable(values, lookup, heads, width);
    expect([att.numKeys, att.numQueries]).toEqual([numKeys, queries]);
    // Up to 3000 keys (repeats included): the views grow past their first reservation.
    for (const count of [1, 2, 9, 300, 3000]) {
      const keys = Array.from({ length: count }, () => rng.int(numKeys));
      const query = rng.int(queries);
      att.keys(count).set(keys);
      const got = att.attend(query, count);
      expect(got).not.toBeNull();
      expect(Array.from(got!)).toEqual(Array.from(javascript(values, lookup, heads, width, numKeys, query, keys)!));
    }
  });

  it('returns null when every weight of a head underflowed, and works again after', () => {
    const heads = 2;
    const width = 4;
    const values = Float32Array.from({ length: 3 * heads * width }, (_, i) => i);
    // Query 0: head 1 has only zeros; query 1: every weight 1.
    const lookup = Float32Array.from({ length: 2 * 3 * heads }, (_, i) => (i < 3 * heads ? (i % 2 === 0 ? 1 : 0) : 1));
    const att = new LookupAttentionTable(values, lookup, heads, width);
    att.keys(2).set([0, 2]);
    expect(att.attend(0, 2)).toBeNull();
    expect(javascript(values, lookup, heads, width, 3, 0, [0, 2])).toBeNull();
    expect(Array.from(att.attend(1, 2)!)).toEqual(Array.from(javascript(values, lookup, heads, width, 3, 1, [0, 2])!));
  });

  it('rejects tables that do not fit their shapes and more keys than reserved', () => {
    expect(() => new LookupAttentionTable(new Float32Array(8), new Float32Array(4), 2, 6)).toThrow(/multiple of 4/);
    expect(() => new LookupAttentionTable(new Float32Array(12), new Float32Array(4), 2, 4)).toThrow(/not a multiple of heads x width/);
    expect(() => new LookupAttentionTable(new Float32Array(16), new Float32Array(6), 2, 4)).toThrow(/not a multiple of keys x heads/);
    expect(() => new LookupAttentionTable(new Float32Array(16), new Float32Array(8), 2, 4).attend(0, 5000)).toThrow(/keys\(count\) first/);
  });
});
