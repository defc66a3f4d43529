import { CascadeError, PAD_USER, type Rng } from '@cascade-lab/core';
import { normal, uniform as uniformInit, xavierNormal, type Initializer } from '@cascade-lab/tensor-ops';
import type { NdmHyperparameters } from './hyperparameters.js';

/** The architecture-defining subset of the hyperparameters plus the vocabulary size. */
export interface NdmArchitecture {
  /** |U|: vocabulary size, `<blank>` and `</s>` included. */
  numUsers: number;
  dimension: number;
  heads: number;
  window: number;
  initialUser: boolean;
  initialUserInput: 'active' | 'embedding';
  dropout: number;
  layerNorm: 'standard' | 'ndm-code';
  scaleScores: boolean;
  windowBias: boolean;
  /** Leading embedding dimensions that are fixed (NDM+SN's DeepWalk half, §5.5); 0 for plain NDM. */
  frozenDimensions: number;
}

export function architectureOf(hp: NdmHyperparameters, numUsers: number): NdmArchitecture {
  if (hp.socialEmbedding && hp.dimension % 2 !== 0) {
    throw new CascadeError('CONFIG_INVALID', `ndm: socialEmbedding needs an even dimension (half of it is DeepWalk's), got ${hp.dimension}`);
  }
  return {
    numUsers,
    dimension: hp.dimension,
    heads: hp.heads,
    window: hp.window,
    initialUser: hp.initialUser,
    initialUserInput: hp.initialUserInput,
    dropout: hp.dropout,
    layerNorm: hp.layerNorm,
    scaleScores: hp.scaleScores,
    windowBias: hp.windowBias,
    frozenDimensions: hp.socialEmbedding ? hp.dimension / 2 : 0,
  };
}

/**
 * Every parameter of NDM as row-major float arrays (NDM paper §4.5 lists them: user embeddings,
 * W^Q_i, W^K_i, W^V_i, W^O, W^C_n, W^C_init; plus layer-norm gain/bias and the biases of the code).
 */
export interface NdmWeights {
  /** emb(u) for every user, [|U|, d]; the first `frozenDimensions` columns are not trained. */
  embedding: Float32Array;
  /** [d, h*d]: column block i is head i's W^Q_i (Eq. 4). */
  query: Float32Array;
  /** [d, h*d]: head i's W^K_i (Eq. 4). */
  key: Float32Array;
  /** [d, h*d]: head i's W^V_i (Eq. 3). */
  value: Float32Array;
  /** [h*d, d]: W^O (Eq. 5). */
  output: Float32Array;
  /** [d]: bias of the output projection (authors' code). */
  outputBias: Float32Array;
  /** [d]: layer-norm gain. */
  normGain: Float32Array;
  /** [d]: layer-norm bias. */
  normBias: Float32Array;
  /** [win*d, |U|]: row block n is W^C_n, applied to act(u_{j-n}) (Eq. 6). */
  windowProjection: Float32Array;
  /** [|U|]: per-user bias of the window projection (zeros when `windowBias` is off). */
  windowBias: Float32Array;
  /** [d, |U|]: W^C_init (Eq. 7); empty when Finit is off. */
  initialProjection: Float32Array;
}

export const WEIGHT_NAMES = [
  'embedding',
  'query',
  'key',
  'value',
  'output',
  'outputBias',
  'normGain',
  'normBias',
  'windowProjection',
  'windowBias',
  'initialProjection',
] as const satisfies readonly (keyof NdmWeights)[];

export type WeightName = (typeof WEIGHT_NAMES)[number];

/** Shape of each weight for an architecture. */
export function weightShapes(a: NdmArchitecture): Record<WeightName, number[]> {
  const { numUsers: U, dimension: d, heads: h, window: win } = a;
  return {
    embedding: [U, d],
    query: [d, h * d],
    key: [d, h * d],
    value: [d, h * d],
    output: [h * d, d],
    outputBias: [d],
    normGain: [d],
    normBias: [d],
    windowProjection: [win * d, U],
    windowBias: [U],
    initialProjection: a.initialUser ? [d, U] : [0, U],
  };
}

/** Values of a seeded tensor-ops initialiser as a plain array. */
function draw(init: Initializer, shape: number[], rng: Rng): Float32Array {
  const t = init(shape, rng);
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values.slice();
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  return draw(uniformInit(-bound, bound), [n], rng);
}

/**
 * Seeded initial weights, following the authors' code (the paper does not say): embeddings N(0, 1)
 * with the padding row zero; the per-head query/key/value weights are one [h, d, d] tensor
 * initialised Xavier-normal with PyTorch's fans for a 3-D tensor (fan_in = d * d, fan_out = h * d,
 * so std = sqrt(2 / (d^2 + h d)) = 0.0208 for d 64, h 8: attention starts almost uniform); W^O and
 * W^C_init Xavier-normal (std sqrt(2 / (fan_in + fan_out))); the output bias, the window projection
 * (a Conv1d) and its bias uniform in +-1/sqrt(fan_in) as PyTorch's defaults; layer norm gain 1,
 * bias 0. `frozenEmbedding` ([|U|, frozenDimensions], NDM+SN's DeepWalk vectors) fills the leading
 * columns.
 */
export function initialWeights(a: NdmArchitecture, rng: Rng, frozenEmbedding?: Float32Array): NdmWeights {
  const { numUsers: U, dimension: d, heads: h, window: win, frozenDimensions: f } = a;
  const r = (label: string) => rng.derive(`ndm-init:${label}`);
  const embedding = draw(normal({ std: 1 }), [U, d], r('embedding'));
  if (f > 0) {
    if (!frozenEmbedding || frozenEmbedding.length !== U * f) {
      throw new CascadeError('INTERNAL', `ndm: expected ${U}x${f} frozen (DeepWalk) embeddings, got ${frozenEmbedding?.length ?? 0} values`);
    }
    for (let u = 0; u < U; u++) for (let j = 0; j < f; j++) embedding[u * d + j] = frozenEmbedding[u * f + j];
  }
  embedding.fill(0, PAD_USER * d, PAD_USER * d + d);
  const headMatrix = (label: string) => draw(xavierNormal({ fanIn: d * d, fanOut: h * d }), [d, h * d], r(label));
  const outBound = 1 / Math.sqrt(h * d);
  const winBound = 1 / Math.sqrt(win * d);
  return {
    embedding,
    query: headMatrix('query'),
    key: headMatrix('key'),
    value: headMatrix('value'),
    output: draw(xavierNormal({ fanIn: h * d, fanOut: d }), [h * d, d], r('output')),
    outputBias: uniform(r('outputBias'), d, outBound),
    normGain: new Float32Array(d).fill(1),
    normBias: new Float32Array(d),
    windowProjection: uniform(r('window'), win * d * U, winBound),
    windowBias: a.windowBias ? uniform(r('windowBias'), U, winBound) : new Float32Array(U),
    initialProjection: a.initialUser ? draw(xavierNormal({ fanIn: d, fanOut: U }), [d, U], r('initial')) : new Float32Array(0),
  };
}

/** Squared Frobenius norms ||W^C_n||_F^2 and ||W^C_init||_F^2 (NDM paper Table 4). */
export function windowProjectionNorms(a: NdmArchitecture, w: NdmWeights): Record<string, number> {
  const { dimension: d, numUsers: U } = a;
  const out: Record<string, number> = {};
  for (let n = 0; n < a.window; n++) {
    let s = 0;
    for (let i = n * d * U; i < (n + 1) * d * U; i++) s += w.windowProjection[i] * w.windowProjection[i];
    out[`windowProjection${n}SquaredFrobenius`] = s;
  }
  if (a.initialUser) {
    let s = 0;
    for (const x of w.initialProjection) s += x * x;
    out.initialProjectionSquaredFrobenius = s;
  }
  return out;
}
