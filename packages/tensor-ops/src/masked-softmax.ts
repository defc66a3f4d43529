import { tf } from './tf.js';

/**
 * Softmax over `axis` restricted to the entries where `mask` is true (or non-zero): masked entries
 * get probability exactly 0 and no gradient, and a slice with no unmasked entry is all zeros
 * rather than NaN. `mask` broadcasts against `logits` (e.g. [B, 1, T] key masks for [B, T, T]
 * scores). Used for the NDM softmax over users, where already-infected users and padding are
 * excluded (NDM paper §4.3), and for attention with padding / causal masks.
 */
export function maskedSoftmax(logits: tf.Tensor, mask: tf.Tensor, axis = -1): tf.Tensor {
  return tf.tidy(() => {
    const keep = tf.broadcastTo(mask.dtype === 'bool' ? mask : tf.notEqual(mask, 0), logits.shape);
    const keepFloat = tf.cast(keep, 'float32');
    // A finite stand-in for -inf: exp underflows to exactly 0 after the shift, and an all-masked
    // slice stays finite (its exponentials are zeroed by keepFloat below).
    const filled = tf.where(keep, logits, tf.fill(logits.shape, -1e30));
    const shifted = tf.sub(filled, tf.max(filled, axis, true));
    const e = tf.mul(tf.exp(shifted), keepFloat);
    // With any entry kept, the largest contributes exp(0) = 1, so total >= 1; an all-masked slice
    // has total 0 and e = 0. max(total, 1) divides by the true total in the first case and gives 0
    // in the second (and, unlike a `where` on total, needs no gradient of a comparison).
    const total = tf.sum(e, axis, true);
    return tf.div(e, tf.maximum(total, 1));
  });
}

/**
 * log of `maskedSoftmax`: masked entries are -Infinity. Numerically stable (log-sum-exp); for
 * cross-entropy losses. Exclude masked targets explicitly before multiplying by a weight: 0 * -Inf
 * is NaN.
 */
export function maskedLogSoftmax(logits: tf.Tensor, mask: tf.Tensor, axis = -1): tf.Tensor {
  return tf.tidy(() => {
    const keep = tf.broadcastTo(mask.dtype === 'bool' ? mask : tf.notEqual(mask, 0), logits.shape);
    const filled = tf.where(keep, logits, tf.fill(logits.shape, -1e30));
    const shifted = tf.sub(filled, tf.max(filled, axis, true));
    const total = tf.sum(tf.mul(tf.exp(shifted), tf.cast(keep, 'float32')), axis, true);
    const logTotal = tf.log(tf.maximum(total, 1)); // total >= 1 unless all masked (see maskedSoftmax)
    return tf.where(keep, tf.sub(shifted, logTotal), tf.fill(logits.shape, -Infinity));
  });
}
