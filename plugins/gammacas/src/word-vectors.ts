import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CascadeError, DataFormatError } from '@cascade-lab/core';

/** How many rows of an embedding matrix a vectors file filled. */
export interface WordVectorCoverage {
  /** Vocabulary words (padding excluded) found in the file. */
  found: number;
  /** Vocabulary words (padding excluded). */
  total: number;
}

/**
 * Overwrites rows of `matrix` ([words.length, dim], row-major) with the vectors a word2vec text
 * file gives for those words (GammaCas §4.2 initialises its embeddings with Word2Vec vectors
 * trained on tweets and news). Format: one `word v1 ... v_dim` per line, separated by spaces; an
 * optional first line `count dim` (gensim's `save_word2vec_format(binary=False)`). Row 0 (padding)
 * is never touched; words absent from the file keep their random initialisation.
 */
export async function loadWordVectors(file: string, words: readonly string[], dim: number, matrix: Float32Array): Promise<WordVectorCoverage> {
  if (matrix.length !== words.length * dim) throw new CascadeError('INTERNAL', `embedding matrix has ${matrix.length} values, expected ${words.length} x ${dim}`);
  const rowOf = new Map<string, number>();
  for (let i = 1; i < words.length; i++) rowOf.set(words[i], i);
  const seen = new Set<number>();
  let lineNo = 0;
  const stream = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e: NodeJS.ErrnoException) =>
      reject(new CascadeError('DATA_NOT_FOUND', `cannot read the word vectors file ${file}: ${e.code ?? e.message}`)),
    );
  });
  await opened;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const raw of lines) {
    lineNo++;
    const line = raw.trim();
    if (line.length === 0) continue;
    const parts = line.split(/\s+/);
    if (lineNo === 1 && parts.length === 2 && /^\d+$/.test(parts[0]) && /^\d+$/.test(parts[1])) {
      const fileDim = Number(parts[1]);
      if (fileDim !== dim) throw new DataFormatError({ file, line: 1 }, `vectors have ${fileDim} dimensions, the model's embeddingDim is ${dim}`);
      continue;
    }
    if (parts.length !== dim + 1) {
      throw new DataFormatError({ file, line: lineNo }, `expected a word and ${dim} numbers, found ${parts.length - 1} numbers`);
    }
    const row = rowOf.get(parts[0]);
    if (row === undefined) continue;
    for (let k = 0; k < dim; k++) {
      const v = Number(parts[k + 1]);
      if (!Number.isFinite(v)) throw new DataFormatError({ file, line: lineNo }, `value ${k + 1} of "${parts[0]}" is not a number: ${JSON.stringify(parts[k + 1])}`);
      matrix[row * dim + k] = v;
    }
    seen.add(row);
  }
  return { found: seen.size, total: words.length - 1 };
}
