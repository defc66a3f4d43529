import { throwIfCancelled, type Rng } from '@cascade-lab/core';

/** Skip-gram with negative sampling (word2vec; Mikolov et al. 2013) settings. */
export interface SkipGramOptions {
  dimensions: number;
  /** Context window on each side of a token (shrunk at random per centre, as word2vec does). */
  window: number;
  /** Negative samples per (centre, context) pair, drawn from the unigram^(3/4) distribution. */
  negatives: number;
  epochs: number;
  /** Initial SGD step size, decayed linearly to 1e-4 of it over the run (word2vec's schedule). Default 0.025. */
  learningRate?: number;
  /** Tokens the step-size schedule and the negative table are sized for (default: the sequences' total). */
  plannedTokens?: number;
}

/**
 * Token vectors [numTokens, dimensions] (word2vec's input vectors) learned from `sequences` of
 * token ids in [0, numTokens), seeded by `sgd` (single-threaded, so the same seed gives the same
 * vectors). Used for DeepWalk (walks as sentences) and for pre-training word vectors on a corpus.
 */
export function skipGram(sequences: readonly Int32Array[], numTokens: number, options: SkipGramOptions, sgd: Rng, signal?: AbortSignal): Float32Array {
  const n = numTokens;
  const dim = options.dimensions;
  const input = new Float32Array(n * dim);
  for (let i = 0; i < input.length; i++) input[i] = (sgd.next() - 0.5) / dim;
  const output = new Float32Array(n * dim);
  const counts = new Float64Array(n);
  let tokens = 0;
  for (const s of sequences) {
    for (const v of s) counts[v]++;
    tokens += s.length;
  }
  const planned = options.plannedTokens ?? tokens;
  // Unigram^(3/4) table for negative sampling.
  const tableSize = Math.max(1, Math.min(1 << 20, planned * 4));
  const table = new Int32Array(tableSize);
  let norm = 0;
  for (let v = 0; v < n; v++) norm += counts[v] ** 0.75;
  if (norm === 0) return input;
  let v = 0;
  let cum = counts[0] ** 0.75 / norm;
  for (let i = 0; i < tableSize; i++) {
    table[i] = v;
    if ((i + 1) / tableSize > cum && v < n - 1) {
      v++;
      cum += counts[v] ** 0.75 / norm;
    }
  }
  const lr0 = options.learningRate ?? 0.025;
  const total = options.epochs * planned;
  let processed = 0;
  const grad = new Float64Array(dim);
  const sigmoid = (x: number) => (x > 20 ? 1 : x < -20 ? 0 : 1 / (1 + Math.exp(-x)));
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (let w = 0; w < sequences.length; w++) {
      if ((w & 1023) === 0) throwIfCancelled(signal);
      const seq = sequences[w];
      for (let i = 0; i < seq.length; i++) {
        const lr = Math.max(lr0 * 1e-4, lr0 * (1 - processed / total));
        processed++;
        const center = seq[i];
        // word2vec shrinks the window at random: b in [0, window) positions are dropped.
        const b = sgd.int(options.window);
        for (let j = i - options.window + b; j <= i + options.window - b; j++) {
          if (j < 0 || j >= seq.length || j === i) continue;
          const context = seq[j];
          grad.fill(0);
          const ci = center * dim;
          for (let k = 0; k <= options.negatives; k++) {
            const target = k === 0 ? context : table[sgd.int(tableSize)];
            if (k > 0 && target === context) continue;
            const label = k === 0 ? 1 : 0;
            const to = target * dim;
            let dot = 0;
            for (let e = 0; e < dim; e++) dot += input[ci + e] * output[to + e];
            const g = (label - sigmoid(dot)) * lr;
            for (let e = 0; e < dim; e++) {
              grad[e] += g * output[to + e];
              output[to + e] += g * input[ci + e];
            }
          }
          for (let e = 0; e < dim; e++) input[ci + e] += grad[e];
        }
      }
    }
  }
  return input;
}
