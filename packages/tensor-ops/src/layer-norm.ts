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
  return tf.tidy(() => layerNormForward(x, gain, bias, options).y);
}

/** What `layerNormBackward` needs from the forward pass (tensors owned by the caller's scope). */
export interface LayerNormTrace {
  variant: LayerNormVariant;
  /** Size of the normalised (last) axis. */
  size: number;
  /** x - mean(x) over the last axis. */
  centred: tf.Tensor;
  /** sum of centred^2 over the last axis (kept dims). */
  sumSquares: tf.Tensor;
  /** centred / (the variant's denominator). */
  normalised: tf.Tensor;
  /** standard: 1 / sqrt(var + epsilon). */
  scale?: tf.Tensor;
  /** ndm: the floored unbiased std and std + epsilon. */
  std?: tf.Tensor;
  denominator?: tf.Tensor;
}

/**
 * `layerNorm` with the intermediates its hand-written gradient needs, for models that write their
 * backward pass out (NDM's training step). The same kernels as `layerNorm`. Call inside tf.tidy.
 */
export function layerNormForward(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, options: LayerNormOptions = {}): { y: tf.Tensor; trace: LayerNormTrace } {
  const variant = options.variant ?? 'standard';
  const size = x.shape[x.shape.length - 1];
  const centred = tf.sub(x, tf.mean(x, -1, true));
  const sumSquares = tf.sum(tf.square(centred), -1, true);
  let trace: LayerNormTrace;
  if (variant === 'standard') {
    const scale = tf.rsqrt(tf.add(tf.div(sumSquares, size), options.epsilon ?? 1e-5));
    trace = { variant, size, centred, sumSquares, normalised: tf.mul(centred, scale), scale };
  } else {
    if (size < 2) throw new RangeError('layerNorm (ndm variant): the unbiased std needs at least 2 features');
    // sqrt has an infinite slope at 0: a constant row (variance 0) would get a NaN gradient.
    // Flooring the variance at 1e-30 gives std <= 1e-15 there (nothing next to epsilon 1e-3)
    // and a zero gradient through the floor.
    const std = tf.sqrt(tf.maximum(tf.div(sumSquares, size - 1), 1e-30));
    const denominator = tf.add(std, options.epsilon ?? 1e-3);
    trace = { variant, size, centred, sumSquares, normalised: tf.div(centred, denominator), std, denominator };
  }
  return { y: tf.add(tf.mul(trace.normalised, gain), bias), trace };
}

/**
 * Gradients of `layerNormForward`'s output (cotangent `dy`) in x, gain and bias, written out:
 * with n = normalised and dn = dy * gain, standard: dx = scale (dn - mean(dn) - n mean(dn n));
 * ndm: dx = (dn - mean(dn)) / den - centred sum(dn centred) / (den^2 std (size - 1)), no slope
 * where the variance floor holds. Call inside tf.tidy.
 */
export function layerNormBackward(dy: tf.Tensor, gain: tf.Tensor, trace: LayerNormTrace): { dx: tf.Tensor; dGain: tf.Tensor; dBias: tf.Tensor } {
  const leading = Array.from({ length: dy.rank - 1 }, (_, i) => i);
  const dGain = tf.sum(tf.mul(dy, trace.normalised), leading);
  const dBias = tf.sum(dy, leading);
  const dn = tf.mul(dy, gain);
  const centredDn = tf.sub(dn, tf.mean(dn, -1, true));
  let dx: tf.Tensor;
  if (trace.variant === 'standard') {
    dx = tf.mul(tf.sub(centredDn, tf.mul(trace.normalised, tf.mean(tf.mul(dn, trace.normalised), -1, true))), trace.scale!);
  } else {
    const invDen = tf.div(1, trace.denominator!);
    const open = tf.cast(tf.greater(tf.div(trace.sumSquares, trace.size - 1), 1e-30), 'float32');
    const slope = tf.div(tf.mul(tf.square(invDen), open), tf.mul(trace.std!, trace.size - 1));
    dx = tf.sub(tf.mul(centredDn, invDen), tf.mul(trace.centred, tf.mul(tf.sum(tf.mul(dn, trace.centred), -1, true), slope)));
  }
  return { dx, dGain, dBias };
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
