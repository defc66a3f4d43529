import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cascade } from '@cascade-lab/core';
import { claimPiece, pieceOrder, workBalancedRanges } from './protocols.js';

const cascade = (...users: number[]): Cascade => ({ id: users.join('-'), events: users.map((user, time) => ({ user, time })) });

describe('pieceOrder', () => {
  it('claims the piece holding the largest cascade first, ties in test order', () => {
    // Pieces [0, 2), [2, 3), [3, 5), [5, 6): largest cascades (distinct users) 3, 6, 3, 1.
    const test = [cascade(1, 2, 3), cascade(4, 5), cascade(1, 2, 3, 4, 5, 6), cascade(7, 8), cascade(9, 9, 10, 11), cascade(12)];
    const ranges = [
      { start: 0, end: 2 },
      { start: 2, end: 3 },
      { start: 3, end: 5 },
      { start: 5, end: 6 },
    ];
    expect(pieceOrder(test, ranges)).toEqual([1, 0, 2, 3]);
  });

  it('orders every piece of a work-balanced cut exactly once', () => {
    const test = Array.from({ length: 40 }, (_, i) => cascade(...Array.from({ length: 1 + ((i * 7) % 11) }, (_, u) => u + i)));
    const ranges = workBalancedRanges(test, 16);
    const order = pieceOrder(test, ranges);
    expect([...order].sort((a, b) => a - b)).toEqual(ranges.map((_, k) => k));
  });
});

describe('claimPiece', () => {
  it('gives each piece to the first claimant only, and fails on a missing folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pieces-test-'));
    try {
      expect(claimPiece(dir, 3)).toBe(true);
      expect(claimPiece(dir, 3)).toBe(false);
      expect(claimPiece(dir, 0)).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(['0', '3']);
      expect(() => claimPiece(join(dir, 'missing'), 1)).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
