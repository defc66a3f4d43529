import { Rng } from '@cascade-lab/core';
import { skipGram } from './skip-gram.js';

const cosine = (v: Float32Array, dim: number, a: number, b: number): number => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let e = 0; e < dim; e++) {
    ab += v[a * dim + e] * v[b * dim + e];
    aa += v[a * dim + e] ** 2;
    bb += v[b * dim + e] ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};

describe('skipGram (word2vec, negative sampling)', () => {
  // Two topics: tokens 0-3 only ever appear together, and 4-7 together.
  const rng = Rng.fromSeed(1);
  const sentences = Array.from({ length: 400 }, (_, i) => Int32Array.from({ length: 6 }, () => (i % 2) * 4 + rng.int(4)));

  it('puts tokens that share contexts closer than tokens that never meet', () => {
    const dim = 16;
    const v = skipGram(sentences, 8, { dimensions: dim, window: 2, negatives: 3, epochs: 5 }, Rng.fromSeed(2));
    expect(v.length).toBe(8 * dim);
    let within = 0;
    let across = 0;
    for (const [a, b] of [[0, 1], [2, 3], [4, 5], [6, 7]]) within += cosine(v, dim, a, b) / 4;
    for (const [a, b] of [[0, 4], [1, 5], [2, 6], [3, 7]]) across += cosine(v, dim, a, b) / 4;
    expect(within).toBeGreaterThan(across + 0.5);
  });

  it('is a function of its seed', () => {
    const options = { dimensions: 8, window: 2, negatives: 2, epochs: 1 };
    const a = skipGram(sentences, 8, options, Rng.fromSeed(3));
    expect(skipGram(sentences, 8, options, Rng.fromSeed(3))).toEqual(a);
    expect(skipGram(sentences, 8, options, Rng.fromSeed(4))).not.toEqual(a);
  });
});
