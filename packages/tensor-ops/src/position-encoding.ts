import { tf } from './tf.js';

/**
 * Sinusoidal position encoding (Vaswani et al. 2017 §3.5), used by GammaCas' text encoder:
 * PE[pos, 2i] = sin(pos / 10000^(2i / d)), PE[pos, 2i + 1] = cos(pos / 10000^(2i / d)).
 * Computed in float64, returned as a float32 [length, d] constant.
 */
export function sinusoidalPositionEncoding(length: number, d: number): tf.Tensor2D {
  const values = new Float32Array(length * d);
  for (let pos = 0; pos < length; pos++) {
    for (let j = 0; j < d; j++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(j / 2)) / d);
      values[pos * d + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(values, [length, d]);
}

/**
 * GammaCas' word input (paper §3.4; docs/MODELS.md): embeddings [batch, length, d] scaled by
 * `scale` (default sqrt(d)) plus the position encoding.
 */
export function addPositionEncoding(embeddings: tf.Tensor3D, options: { scale?: number } = {}): tf.Tensor3D {
  const [, length, d] = embeddings.shape;
  return tf.tidy(() => tf.add(tf.mul(embeddings, options.scale ?? Math.sqrt(d)), sinusoidalPositionEncoding(length, d))) as tf.Tensor3D;
}
