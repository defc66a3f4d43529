import { gridSize, shapeGrid } from './shape-grid.js';

describe('gridSize', () => {
  it('four steps per doubling: n up to 8 as it is, then multiples of 2^(floor(log2 n) - 2)', () => {
    // By hand: 9 -> step 2 -> 10; 17 -> step 4 -> 20; 100 -> step 16 -> 112; 257 -> step 64 -> 320;
    // 2049 -> step 512 -> 2560. (GammaCas' news rows used exactly this grid.)
    expect([1, 8, 9, 17, 100, 257, 2048, 2049].map((n) => gridSize(n))).toEqual([1, 8, 10, 20, 112, 320, 2048, 2560]);
  });

  it('with maxStep 32: NDM\'s compiled lengths (steps 2 to 16, 4 to 32, 8 to 64, 16 to 128, 32 beyond)', () => {
    const length = shapeGrid({ maxStep: 32 });
    expect([1, 8, 9, 16, 17, 33, 65, 129, 200, 600].map(length)).toEqual([1, 8, 10, 16, 20, 40, 80, 160, 224, 608]);
  });

  it('two steps per doubling, maxStep 16: NDM\'s row counts 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, then multiples of 16', () => {
    const rows = shapeGrid({ stepsPerDoubling: 2, maxStep: 16 });
    expect([1, 5, 7, 13, 32, 33, 49, 65, 100].map(rows)).toEqual([1, 6, 8, 16, 32, 48, 64, 80, 112]);
    const sizes = new Set(Array.from({ length: 32 }, (_, i) => rows(i + 1)));
    expect([...sizes]).toEqual([1, 2, 3, 4, 6, 8, 12, 16, 24, 32]);
  });

  it('is the smallest grid point >= n, at most 1/s above n, and idempotent', () => {
    for (const perDoubling of [1, 2, 4, 8]) {
      const onGrid = new Set<number>();
      for (let n = 1; n <= 5000; n++) {
        const g = gridSize(n, { stepsPerDoubling: perDoubling });
        expect(g).toBeGreaterThanOrEqual(n);
        expect(g).toBeLessThanOrEqual(n + n / perDoubling);
        expect(gridSize(g, { stepsPerDoubling: perDoubling })).toBe(g);
        onGrid.add(g);
      }
      // Smallest: no grid point between n and g (all n up to 5000 were visited, so every grid size
      // below 5000 is in the set); sizes per doubling from 1024 to 2048: exactly perDoubling.
      const between = [...onGrid].filter((g) => g > 1024 && g <= 2048);
      expect(between.length).toBe(perDoubling);
    }
  });

  it('refuses sizes below 1, fractions and a step count that is not a power of two', () => {
    expect(() => gridSize(0)).toThrow(RangeError);
    expect(() => gridSize(2.5)).toThrow(RangeError);
    expect(() => gridSize(10, { stepsPerDoubling: 3 })).toThrow(/power of two/);
  });
});
