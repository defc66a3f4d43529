/**
 * Deterministic, seeded train/validation/test splits. The same seed and the same input order give
 * the same split on every machine (core's xoshiro128** Rng, derived under the label `split`).
 */
import { Rng } from '@cascade-lab/core';
import type { DatasetParts } from './sources.js';

export interface SplitOptions {
  /** Seed of the split (an experiment's seed). Default 0. */
  seed?: number | string;
  /** Fraction of all cascades held out for test, when the dataset has no test file of its own. Default 0.1. */
  testFraction?: number;
  /**
   * Fraction of the training cascades held out for validation (early stopping, tuning), when the
   * dataset has no validation file. Default 0.1, as in the NDM setup. 0 disables validation.
   */
  validationFraction?: number;
  /** Use the dataset's own train/validation/test files when it has them. Default true. */
  useDatasetSplits?: boolean;
}

export interface Split<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/** Indices 0..n-1 split into a chosen subset of size k (drawn by `rng`) and the rest, each in ascending order. */
function draw(n: number, k: number, rng: Rng): { chosen: number[]; rest: number[] } {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const chosen = order.slice(0, k).sort((a, b) => a - b);
  const rest = order.slice(k).sort((a, b) => a - b);
  return { chosen, rest };
}

function checkFraction(name: string, f: number): void {
  if (!(f >= 0 && f < 1)) throw new RangeError(`${name} must be in [0, 1), got ${f}`);
}

/**
 * Splits a dataset's cascades. With its own files (and `useDatasetSplits`), train/validation/test
 * are those files, except that a missing validation file is replaced by a seeded
 * `validationFraction` of the training cascades. Otherwise all cascades are pooled (in file order)
 * and split seeded: `testFraction` of them (rounded) to test, then `validationFraction` of the rest
 * (rounded) to validation. Every part keeps the input order.
 */
export function splitDataset<T>(parts: DatasetParts<T>, options: SplitOptions = {}): Split<T> {
  const testFraction = options.testFraction ?? 0.1;
  const validationFraction = options.validationFraction ?? 0.1;
  checkFraction('testFraction', testFraction);
  checkFraction('validationFraction', validationFraction);
  const rng = Rng.fromSeed(options.seed ?? 0).derive('split');
  const ownSplits = (options.useDatasetSplits ?? true) && parts.train !== undefined && parts.test !== undefined;

  let train: T[];
  let test: T[];
  if (ownSplits) {
    train = parts.train!;
    test = parts.test!;
    if (parts.validation !== undefined) return { train: train.slice(), validation: parts.validation.slice(), test: test.slice() };
  } else {
    const all = [...(parts.all ?? []), ...(parts.train ?? []), ...(parts.validation ?? []), ...(parts.test ?? [])];
    const { chosen, rest } = draw(all.length, Math.round(all.length * testFraction), rng.derive('test'));
    test = chosen.map((i) => all[i]);
    train = rest.map((i) => all[i]);
  }
  const { chosen, rest } = draw(train.length, Math.round(train.length * validationFraction), rng.derive('validation'));
  return { train: rest.map((i) => train[i]), validation: chosen.map((i) => train[i]), test: test.slice() };
}
