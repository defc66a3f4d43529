import { tf } from './tf.js';
import { WeightHolder } from './weights.js';

/**
 * `standard`: Ba et al. (2016), (z - mean) / sqrt(biased variance + epsilon) * gain + bias,
 * epsilon 1e-5 by default (torch.nn.LayerNorm).
 * `ndm`: the NDM authors' code, (z - mean) / (unbiased std + epsilon) * gain + bias, epsilon 1e-3.
 * (Their model also skips the norm for a sequence of length 1; that choice belongs to the model.)
 */
export type LayerNormVariant = 'standard' | 'ndm';

export interface LayerNormOptions {
  variant?: LayerNormVariant;
  epsilon?: number;
}

/** Layer normalisation over the last axis; `gain` and `bias` have the last axis' size. */
export function layerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, options: LayerNormOptions = {}): tf.Tensor {
  const variant = options.variant ?? 'standard';
  const n = x.shape[x.shape.length - 1];
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true);
    const centred = tf.sub(x, mean);
    const sumSquares = tf.sum(tf.square(centred), -1, true);
    let normalised: tf.Tensor;
    if (variant === 'standard') {
      normalised = tf.mul(centred, tf.rsqrt(tf.add(tf.div(sumSquares, n), options.epsilon ?? 1e-5)));
    } else {
      if (n < 2) throw new RangeError('layerNorm (ndm variant): the unbiased std needs at least 2 features');
      const variance = tf.div(sumSquares, n - 1);
      // sqrt has an infinite slope at 0: a constant row (variance 0) would get a NaN gradient.
      // Flooring the variance at 1e-30 gives std <= 1e-15 there (nothing next to epsilon 1e-3)
      // and a zero gradient through the floor.
      const std = tf.sqrt(tf.maximum(variance, 1e-30));
      normalised = tf.div(centred, tf.add(std, options.epsilon ?? 1e-3));
    }
    return tf.add(tf.mul(normalised, gain), bias);
  });
}

/** Gain (ones) and bias (zeros) of a layer norm over `size` features. */
export class LayerNorm extends WeightHolder {
  readonly gain: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly size: number,
    readonly options: LayerNormOptions = {},
  ) {
    super();
    this.gain = this.adoptWeight('gain', tf.ones([size]));
    this.bias = this.adoptWeight('bias', tf.zeros([size]));
  }

  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.gain, this.bias, this.options);
  }
}
