/**
 * Seeded weight initialisers driven by core's Rng (never Math.random or tfjs's global seed), so a
 * model's initial weights depend only on the run seed and the weight's label.
 *
 * Fan convention: for a shape [..., fanIn, fanOut] the last two axes are one weight matrix and
 * leading axes are a stack of independent matrices (e.g. per-head projections [heads, d, dHead]
 * get the fans of one head's d x dHead matrix, as the NDM code initialises each head's 64x64
 * Linear). Convolution kernels, whose receptive field multiplies the fans, pass them explicitly.
 */
import type { Rng } from '@cascade-lab/core';
import { tf } from './tf.js';

export interface Fans {
  fanIn: number;
  fanOut: number;
}

/** Fills a shape with numbers; the generic form of every initialiser. */
export type Initializer = (shape: readonly number[], rng: Rng) => tf.Tensor;

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** fanIn = shape[-2], fanOut = shape[-1] (a vector has fanIn = fanOut = its length). */
export function fansOf(shape: readonly number[]): Fans {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  return { fanIn: shape[shape.length - 2], fanOut: shape[shape.length - 1] };
}

function fromValues(shape: readonly number[], fill: (i: number) => number): tf.Tensor {
  const values = new Float32Array(size(shape));
  for (let i = 0; i < values.length; i++) values[i] = fill(i);
  return tf.tensor(values, [...shape], 'float32');
}

/** N(mean, std^2) entries. */
export function normal(options: { mean?: number; std?: number } = {}): Initializer {
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  return (shape, rng) => fromValues(shape, () => rng.normal(mean, std));
}

/** U[low, high) entries. */
export function uniform(low: number, high: number): Initializer {
  return (shape, rng) => fromValues(shape, () => rng.uniform(low, high));
}

/**
 * Glorot & Bengio (2010) normal: N(0, gain^2 * 2 / (fanIn + fanOut)), as torch.nn.init.xavier_normal_.
 */
export function xavierNormal(options: Partial<Fans> & { gain?: number } = {}): Initializer {
  return (shape, rng) => {
    const f = { ...fansOf(shape), ...options };
    const std = (options.gain ?? 1) * Math.sqrt(2 / (f.fanIn + f.fanOut));
    return fromValues(shape, () => rng.normal(0, std));
  };
}

/**
 * Glorot & Bengio (2010) uniform: U(-a, a), a = gain * sqrt(6 / (fanIn + fanOut)), as Keras'
 * glorot_uniform and torch.nn.init.xavier_uniform_.
 */
export function xavierUniform(options: Partial<Fans> & { gain?: number } = {}): Initializer {
  return (shape, rng) => {
    const f = { ...fansOf(shape), ...options };
    const a = (options.gain ?? 1) * Math.sqrt(6 / (f.fanIn + f.fanOut));
    return fromValues(shape, () => rng.uniform(-a, a));
  };
}

/**
 * Saxe et al. (2014) orthogonal matrices (Keras' default for recurrent kernels): a Gaussian matrix
 * orthonormalised by Gram-Schmidt (in float64), rows or columns orthonormal whichever are fewer;
 * leading axes get independent matrices.
 */
export function orthogonal(options: { gain?: number } = {}): Initializer {
  const gain = options.gain ?? 1;
  return (shape, rng) => {
    if (shape.length < 2) throw new RangeError(`orthogonal initialiser needs a matrix, got shape [${shape}]`);
    const rows = shape[shape.length - 2];
    const cols = shape[shape.length - 1];
    const stack = size(shape) / (rows * cols);
    const out = new Float32Array(size(shape));
    // Orthonormalise the longer-side vectors of the shorter dimension: n vectors of length m.
    const n = Math.min(rows, cols);
    const m = Math.max(rows, cols);
    for (let s = 0; s < stack; s++) {
      const vectors: Float64Array[] = [];
      while (vectors.length < n) {
        const v = new Float64Array(m);
        for (let i = 0; i < m; i++) v[i] = rng.normal();
        for (const u of vectors) {
          let dot = 0;
          for (let i = 0; i < m; i++) dot += u[i] * v[i];
          for (let i = 0; i < m; i++) v[i] -= dot * u[i];
        }
        let norm = 0;
        for (let i = 0; i < m; i++) norm += v[i] * v[i];
        norm = Math.sqrt(norm);
        if (norm < 1e-6) continue; // numerically dependent draw: draw again
        for (let i = 0; i < m; i++) v[i] /= norm;
        vectors.push(v);
      }
      const base = s * rows * cols;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          // rows <= cols: the vectors are rows; otherwise they are columns.
          out[base + r * cols + c] = gain * (rows <= cols ? vectors[r][c] : vectors[c][r]);
        }
      }
    }
    return tf.tensor(out, [...shape], 'float32');
  };
}

/** All entries equal to `value`. */
export function constant(value: number): Initializer {
  return (shape) => tf.fill([...shape], value, 'float32');
}

/** All zeros. */
export function zeros(): Initializer {
  return (shape) => tf.zeros([...shape], 'float32');
}

/** All ones. */
export function ones(): Initializer {
  return (shape) => tf.ones([...shape], 'float32');
}
