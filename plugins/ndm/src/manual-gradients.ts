import { CascadeError, type Rng } from '@cascade-lab/core';
import { MASKED_LOGIT, crossEntropyWithGradient, infectedUserMask, targetWeightTensors, type NdmNetwork, type SequenceBatch, type Targets } from './model.js';
import { layerNormBackward, layerNormForward } from '@cascade-lab/tensor-ops';
import { tf, type Tensor, type Tensor2D } from './tf.js';
import type { NdmArchitecture, WeightName } from './weights.js';

/**
 * NDM's training loss and its gradient with the backward pass written out by hand.
 *
 * Why: at NDM's sizes a training step is bound by kernel dispatch, not arithmetic (a median
 * Memetracker batch is ~270 positions; each TensorFlow kernel call costs 20-40 us however small).
 * With TensorFlow.js' tape the loss and its gradient take ~300 kernel calls on such a batch (every
 * matMul's gradient reshapes and transposes its operands, every broadcast gets a reduction, every op
 * an Identity); the hand-written pass needs about 130 and lays the attention out so that it needs
 * no transposes at all:
 *
 * - scores as [B, L*h, L] with row (j, i) = x_j M_i for M_i = W^Q_i (W^K_i)^T (the product of
 *   x with all h score matrices at once, reshaped for free), times x^T;
 * - the attention output as (sum_k w^i_jk x_k) stacked over heads, [N, h*d], times the stacked
 *   W^V_i W^O_i, [h*d, d];
 * - the window of the last `win` active embeddings as one product with a 0/1 shift matrix, which
 *   gives the concatenated window [N, win*d] directly.
 *
 * It computes exactly what `NdmNetwork.maskedLogits` + `weightedCrossEntropySum` compute, with the
 * same dropout masks drawn from the same seeds in the same order (tests compare both gradients),
 * and the same cross-entropy (`crossEntropyWithGradient`, shared with the tape's custom gradient),
 * for every architecture except the Finit term, which falls back to the tape
 * (`manualGradientsSupported`).
 */
export function manualGradientsSupported(architecture: NdmArchitecture): boolean {
  return !architecture.initialUser;
}

/** tf.dropout's multiplier (0 or 1/(1-rate)), drawn exactly as `tf.dropout(x, rate, undefined, seed)` draws it. */
export function dropoutMultiplier(shape: number[], rate: number, seed: number): Tensor {
  const keep = 1 - rate;
  return tf.div(tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed), keep)), keep);
}

/** Additive causal + padding mask in the [B, L*h, L] score layout (row j*h + i of sequence b). */
function scoreMask(batch: SequenceBatch, heads: number): Float32Array {
  const { batchSize: B, maxLength: L } = batch;
  const mask = new Float32Array(B * L * heads * L);
  for (let b = 0; b < B; b++) {
    const n = batch.lengths[b];
    for (let j = 0; j < L; j++) {
      for (let i = 0; i < heads; i++) {
        const row = ((b * L + j) * heads + i) * L;
        for (let k = 0; k < L; k++) if (k > j || k >= n) mask[row + k] = MASKED_LOGIT;
      }
    }
  }
  return mask;
}

/** 0/1 matrix [B, L*win, L] with row (j, n) picking position j - n (nothing before the start). */
function windowShift(batch: SequenceBatch, window: number): Float32Array {
  const { batchSize: B, maxLength: L } = batch;
  const s = new Float32Array(B * L * window * L);
  const block = L * window * L;
  for (let j = 0; j < L; j++) for (let n = 0; n < window && n <= j; n++) s[(j * window + n) * L + j - n] = 1;
  for (let b = 1; b < B; b++) s.copyWithin(b * block, 0, block);
  return s;
}

export interface LossAndGradients {
  /** Summed cross-entropy of the trained targets (not divided by `total`). */
  lossSum: number;
  /** Gradient of (summed loss / total) for every trainable variable, by variable name. */
  grads: Record<string, Tensor>;
}

/**
 * Loss and gradients of the mean next-user cross-entropy over `chunks` (Eq. 8; the mean is the
 * summed loss over all chunks divided by `total`), training mode (dropout on when the
 * architecture has it). Chunks without a trained target are skipped, as the tape path does.
 * Draws two dropout seeds per trained chunk from `rng`, in the tape path's order.
 */
export function manualLossAndGradients(
  network: NdmNetwork,
  chunks: readonly SequenceBatch[],
  targets: readonly Targets[],
  total: number,
  rng: Rng,
  options: { embeddingLookup?: 'gather' | 'one-hot' } = {},
): LossAndGradients {
  const a = network.architecture;
  if (!manualGradientsSupported(a)) throw new CascadeError('INTERNAL', 'ndm: the hand-written gradient does not cover the Finit term; use the tape');
  const { numUsers: U, dimension: d, heads: h, window: W, dropout: rate, frozenDimensions: f } = a;
  const hd = h * d;
  const v = (name: WeightName) => network.weightVariable(name);
  // Gather and its gradient (a segment sum) where the backend has the kernel; else a one-hot product.
  const useGather = (options.embeddingLookup ?? (tf.getKernel('UnsortedSegmentSum', tf.getBackend()) ? 'gather' : 'one-hot')) === 'gather';
  const result = tf.tidy(() => {
    // Per-step parameter products (shared by the chunks).
    const q3 = tf.transpose(tf.reshape(v('query'), [d, h, d]), [1, 0, 2]); // [h, d, d]: W^Q_i
    const k3 = tf.transpose(tf.reshape(v('key'), [d, h, d]), [1, 0, 2]);
    const scale = a.scaleScores ? 1 / Math.sqrt(d) : 1;
    let m3t = tf.matMul(k3, q3, false, true); // [h, d, d]: M_i^T = W^K_i (W^Q_i)^T
    if (scale !== 1) m3t = tf.mul(m3t, scale);
    const scoreT = tf.reshape(m3t, [hd, d]) as Tensor2D; // row block i: M_i^T
    const v3 = tf.transpose(tf.reshape(v('value'), [d, h, d]), [1, 0, 2]); // W^V_i
    const o3 = tf.reshape(v('output'), [h, d, d]); // W^O_i
    const valueOutput = tf.reshape(tf.matMul(v3, o3), [hd, d]) as Tensor2D; // row block i: W^V_i W^O_i
    const embedding = network.embeddingMatrix();
    const windowProjection = v('windowProjection') as Tensor2D;
    const gain = v('normGain');
    const normBias = v('normBias');

    let dScoreT: Tensor | null = null;
    let dValueOutput: Tensor | null = null;
    let dEmbedding: Tensor | null = null;
    let dOutputBias: Tensor | null = null;
    let dGain: Tensor | null = null;
    let dNormBias: Tensor | null = null;
    let dWindow: Tensor | null = null;
    let dWindowBias: Tensor | null = null;
    let loss: Tensor | null = null;
    const acc = (sum: Tensor | null, t: Tensor) => (sum === null ? t : tf.add(sum, t));

    chunks.forEach((batch, c) => {
      if (targets[c].count === 0) return;
      const { batchSize: B, maxLength: L } = batch;
      const N = B * L;
      // ---- forward ----
      const ids = tf.tensor1d(batch.users, 'int32');
      const oneHot = useGather ? null : tf.oneHot(ids, U);
      const x = (oneHot ? tf.matMul(oneHot, embedding) : tf.gather(embedding, ids)) as Tensor2D; // [N, d]
      const x3 = tf.reshape(x, [B, L, d]);
      const y3 = tf.reshape(tf.matMul(x, scoreT, false, true), [B, L * h, d]); // row (j, i): x_j M_i
      const scores = tf.add(tf.matMul(y3, x3, false, true), tf.tensor3d(scoreMask(batch, h), [B, L * h, L]));
      const p = tf.softmax(scores); // [B, L*h, L]: w^i_jk
      let dropWeights: Tensor | null = null;
      let dropAttended: Tensor | null = null;
      if (rate > 0) {
        // Drawn in the tape path's [B, h, L, L] layout, then laid out as the scores.
        dropWeights = tf.reshape(tf.transpose(dropoutMultiplier([B, h, L, L], rate, rng.seedInt()), [0, 2, 1, 3]), [B, L * h, L]);
        dropAttended = dropoutMultiplier([N, d], rate, rng.seedInt());
      }
      const pm = dropWeights ? tf.mul(p, dropWeights) : p;
      const mixed = tf.reshape(tf.matMul(pm, x3), [N, hd]); // row (j): [sum_k w^i_jk x_k]_i
      const attended = tf.fused.matMul({ a: mixed as Tensor2D, b: valueOutput, bias: v('outputBias') });
      const z = tf.add(x, dropAttended ? tf.mul(attended, dropAttended) : attended);
      const norm = layerNormForward(z, gain, normBias, network.layerNormOptions());
      const act = norm.y;
      const shift = W > 1 ? tf.tensor3d(windowShift(batch, W), [B, L * W, L]) : null;
      const windowed = (shift ? tf.reshape(tf.matMul(shift, tf.reshape(act, [B, L, d])), [N, W * d]) : act) as Tensor2D;
      const logits = a.windowBias ? tf.fused.matMul({ a: windowed, b: windowProjection, bias: v('windowBias') }) : tf.matMul(windowed, windowProjection);
      const masked = tf.add(logits, tf.tensor2d(infectedUserMask(batch, U), [N, U]));
      // Loss (Eq. 8 negated, divided by total) and its gradient in the logits.
      const { rowWeights, oneHotWeighted } = targetWeightTensors(targets[c], U, 1 / total);
      const ce = crossEntropyWithGradient(masked as Tensor2D, rowWeights, oneHotWeighted);
      loss = acc(loss, ce.value);
      // ---- backward ----
      const dLogits = ce.dLogits; // [N, U]
      dWindow = acc(dWindow, tf.matMul(windowed, dLogits, true, false));
      if (a.windowBias) dWindowBias = acc(dWindowBias, tf.sum(dLogits, 0));
      const dWindowed = tf.matMul(dLogits, windowProjection, false, true); // [N, W*d]
      const dAct = shift ? tf.reshape(tf.matMul(shift, tf.reshape(dWindowed, [B, L * W, d]), true, false), [N, d]) : dWindowed;
      const normGrads = layerNormBackward(dAct, gain, norm.trace);
      dGain = acc(dGain, normGrads.dGain);
      dNormBias = acc(dNormBias, normGrads.dBias);
      const dz = normGrads.dx;
      const dAttended = dropAttended ? tf.mul(dz, dropAttended) : dz;
      dOutputBias = acc(dOutputBias, tf.sum(dAttended, 0));
      dValueOutput = acc(dValueOutput, tf.matMul(mixed, dAttended, true, false));
      const dMixed = tf.reshape(tf.matMul(dAttended, valueOutput, false, true), [B, L * h, d]);
      const dPm = tf.matMul(dMixed, x3, false, true); // [B, L*h, L]
      const dxMix = tf.matMul(pm, dMixed, true, false); // [B, L, d]
      const dP = dropWeights ? tf.mul(dPm, dropWeights) : dPm;
      const dScores = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true)));
      const dy = tf.reshape(tf.matMul(dScores, x3), [N, hd]);
      const dxKey = tf.matMul(dScores, y3, true, false); // [B, L, d]
      dScoreT = acc(dScoreT, tf.matMul(dy, x, true, false));
      const dx = tf.add(tf.add(dz, tf.reshape(tf.add(dxMix, dxKey), [N, d])), tf.matMul(dy, scoreT));
      dEmbedding = acc(dEmbedding, oneHot ? tf.matMul(oneHot, dx, true, false) : tf.unsortedSegmentSum(dx, ids, U));
    });
    if (loss === null) throw new CascadeError('INTERNAL', 'ndm: no chunk has a trained target');
    // Parameter products, backward.
    let dM3t = tf.reshape(dScoreT!, [h, d, d]);
    if (scale !== 1) dM3t = tf.mul(dM3t, scale);
    const dK3 = tf.matMul(dM3t, q3);
    const dQ3 = tf.matMul(dM3t, k3, true, false);
    const dVO3 = tf.reshape(dValueOutput!, [h, d, d]);
    const dV3 = tf.matMul(dVO3, o3, false, true);
    const dO3 = tf.matMul(v3, dVO3, true, false);
    const heads = (t: Tensor) => tf.reshape(tf.transpose(t, [1, 0, 2]), [d, hd]);
    const grads: Partial<Record<WeightName, Tensor>> = {
      embedding: f > 0 ? tf.slice(dEmbedding!, [0, f], [U, d - f]) : dEmbedding!,
      query: heads(dQ3),
      key: heads(dK3),
      value: heads(dV3),
      output: tf.reshape(dO3, [hd, d]),
      outputBias: dOutputBias!,
      normGain: dGain!,
      normBias: dNormBias!,
      windowProjection: dWindow!,
    };
    if (a.windowBias) grads.windowBias = dWindowBias!;
    const byName: Record<string, Tensor> = {};
    for (const [name, g] of Object.entries(grads)) byName[v(name as WeightName).name] = g;
    return { grads: byName, loss: loss as Tensor };
  });
  const lossSum = (result.loss.dataSync()[0] as number) * total;
  result.loss.dispose();
  return { lossSum, grads: result.grads };
}
