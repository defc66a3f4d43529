/**
 * The dropout keep flags of NDM's training step, made on the host from the tape path's seeds (no
 * TensorFlow here, so that a worker thread can make them: `DropoutThread`). Every flag is
 * floor(u + keep) for the draw u that tf.randomUniform(shape, 0, 1, 'float32', seed) makes at that
 * place (`UniformStream`; the float32 sum as TensorFlow rounds it), so the multiplier flag / keep is
 * tf.dropout's floor(u + keep) / keep value for value. One byte a cell.
 */
import { UniformStream } from './uniform-stream.js';

/**
 * Where each block's flags start in the blocked flags (`blockedKeepFlags`): block [j0, j1) holds
 * B h (j1 - j0) j1 of them.
 */
export function blockOffsets(blocks: readonly [number, number][], B: number, h: number): number[] {
  let offset = 0;
  return blocks.map(([j0, j1]) => {
    const at = offset;
    offset += B * h * (j1 - j0) * j1;
    return at;
  });
}

/**
 * The keep flags of a chunk's attention dropout (draws [B, h, L, L]), laid out as its scores
 * [rows, length, h, length] (row (b, j, i): query j of sequence b, head i; zeros in the padding).
 */
export function attentionKeepFlags(B: number, h: number, L: number, seed: number, rate: number, rows: number, length: number): Uint8Array {
  const keep = Math.fround(1 - rate);
  const out = new Uint8Array(rows * length * h * length);
  const stream = new UniformStream(seed);
  for (let b = 0; b < B; b++) for (let i = 0; i < h; i++) for (let j = 0; j < L; j++) stream.keepFlags(out, ((b * length + j) * h + i) * length, L, keep);
  return out;
}

/**
 * The attention dropout of a chunk whose attention runs in query blocks, as the blocks use it: for
 * each block [j0, j1) in turn, the [rows, h, j1-j0, j1] slice (queries j0..j1-1, keys 0..j1-1) of
 * the keep flags of the draws [B, h, L, L] (zeros past them: padding), flattened and concatenated.
 * Only the causal blocks are kept: for the longest Twitter-sized row 29 MB instead of the full
 * draws (194 MB as floats; issue 22). Keys past a block (k >= j1) are dropped: their scores are
 * masked and their weights exactly 0.
 */
export function blockedKeepFlags(B: number, h: number, L: number, seed: number, rate: number, rows: number, blocks: readonly [number, number][]): Uint8Array {
  const keep = Math.fround(1 - rate); // tf.add(u, keep) takes keep as a float32 scalar
  const offsets = blockOffsets(blocks, rows, h);
  const total = blocks.reduce((s, [j0, j1]) => s + rows * h * (j1 - j0) * j1, 0);
  const values = new Uint8Array(total); // zeros: the padding
  const blockOf = new Int32Array(L);
  blocks.forEach(([j0, j1], b) => blockOf.fill(b, j0, Math.min(j1, L)));
  const stream = new UniformStream(seed);
  // The stream fills [B, h, L, L] in row-major order.
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < L; j++) {
        const b = blockOf[j];
        const [j0, j1] = blocks[b];
        const kept = Math.min(j1, L);
        stream.keepFlags(values, offsets[b] + ((r * h + i) * (j1 - j0) + (j - j0)) * j1, kept, keep);
        stream.skip(L - kept);
      }
    }
  }
  return values;
}

/**
 * The keep flags of a chunk's attended-vector dropout (draws [B, L, d], B = kept.length) for its
 * kept positions only (row b's first kept[b]), row after row, [sum of kept, d].
 */
export function attendedKeepFlags(L: number, kept: Int32Array, d: number, seed: number, rate: number): Uint8Array {
  const keep = Math.fround(1 - rate);
  const out = new Uint8Array(kept.reduce((s, n) => s + n, 0) * d);
  const stream = new UniformStream(seed);
  let at = 0;
  for (let b = 0; b < kept.length; b++) {
    const n = Math.min(kept[b], L);
    stream.keepFlags(out, at, n * d, keep);
    at += n * d;
    stream.skip((L - n) * d);
  }
  return out;
}

/** One chunk's flags to make (structured-cloneable: a worker thread makes them as well). */
export type KeepFlagJob =
  | { kind: 'attention'; seed: number; rate: number; B: number; h: number; L: number; rows: number; length: number }
  | { kind: 'blocked'; seed: number; rate: number; B: number; h: number; L: number; rows: number; blocks: [number, number][] }
  | { kind: 'attended'; seed: number; rate: number; L: number; d: number; kept: Int32Array };

/** Makes a job's flags. */
export function keepFlags(job: KeepFlagJob): Uint8Array {
  switch (job.kind) {
    case 'attention':
      return attentionKeepFlags(job.B, job.h, job.L, job.seed, job.rate, job.rows, job.length);
    case 'blocked':
      return blockedKeepFlags(job.B, job.h, job.L, job.seed, job.rate, job.rows, job.blocks);
    case 'attended':
      return attendedKeepFlags(job.L, job.kept, job.d, job.seed, job.rate);
  }
}
