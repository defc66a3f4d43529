import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { RowDotTable } from './row-dots.js';

/** The plain JavaScript loop the kernel must equal bit for bit: float64, e in order, from 0. */
function reference(table: Float32Array, width: number, index: ArrayLike<number>, query: ArrayLike<number>, count: number, lanes: number): Float64Array {
  const out = new Float64Array(count * lanes);
  for (let j = 0; j < count; j++) {
    for (let l = 0; l < lanes; l++) {
      let s = 0;
      for (let e = 0; e < width; e++) s += query[e * lanes + l] * table[index[j] * width + e];
      out[j * lanes + l] = s;
    }
  }
  return out;
}

describe('RowDotTable (WebAssembly SIMD)', () => {
  it.each([
    [1, 2],
    [3, 4],
    [64, 8],
    [64, 10],
    [65, 16],
    [32, 2],
  ])('equals the float64 JavaScript loop bit for bit, width %i, %i lanes', (width, lanes) => {
    const rng = Rng.fromSeed(width * 100 + lanes);
    const rows = 41;
    const table = Float32Array.from({ length: rows * width }, () => rng.normal());
    const t = new RowDotTable(table, width);
    expect(t.rows).toBe(rows);
    for (const count of [0, 1, 7, 2500]) {
      const query = t.query(lanes, count);
      // Float32 values, as the simulator's queries (emb(u) M_i) are.
      for (let x = 0; x < width * lanes; x++) query[x] = Math.fround(rng.normal());
      const index = t.items(count);
      for (let j = 0; j < count; j++) index[j] = rng.int(rows);
      const expected = reference(table, width, index, query, count, lanes);
      const got = t.dots(count, lanes);
      for (let x = 0; x < count * lanes; x++) expect(got[x]).toBe(expected[x]);
    }
  });

  it('keeps the table intact when its memory grows', () => {
    const width = 64;
    const table = Float32Array.from({ length: 300 * width }, (_, i) => (i % 11) - 5);
    const t = new RowDotTable(table, width);
    for (const [lanes, count] of [
      [8, 10],
      [32, 50_000],
      [8, 3],
    ]) {
      const query = t.query(lanes, count);
      for (let x = 0; x < width * lanes; x++) query[x] = (x % 5) - 2;
      const index = t.items(count);
      for (let j = 0; j < count; j++) index[j] = (j * 7) % 300;
      const expected = reference(table, width, index, query, count, lanes);
      const got = t.dots(count, lanes);
      for (let x = 0; x < count * lanes; x += 97) expect(got[x]).toBe(expected[x]);
    }
  });

  it('rejects odd lanes, bad widths and more items than reserved', () => {
    expect(() => new RowDotTable(new Float32Array(6), 4)).toThrow(/not a multiple/);
    expect(() => new RowDotTable(new Float32Array(6), 0)).toThrow(/positive integer/);
    const t = new RowDotTable(new Float32Array(8), 4);
    expect(() => t.query(3, 1)).toThrow(/even/);
    t.query(2, 4);
    expect(() => t.items(5000)).toThrow(/room for/);
    expect(() => t.dots(5000, 2)).toThrow(/do not fit/);
  });

  it('embeds the bytes that the .wat source compiles to', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
    // Exits non-zero (and the test fails) when row-dots.wasm.ts is stale.
    execFileSync(process.execPath, [join(root, 'tools/wasm/build.mjs'), '--check'], { cwd: root, stdio: 'pipe' });
  });
});
