import {
  CascadeError,
  END_USER,
  PAD_USER,
  type Rng,
  type SimulationRequest,
  type SimulationResult,
} from '@cascade-lab/core';
import { PrefixSharingSampler, type NextUserModel, type PrefixStepper } from '@cascade-lab/simulation';
import { LookupAttentionTable, RowDotTable, WeightedRowTable } from '@cascade-lab/tensor-ops';
import { tf, type Tensor1D, type Tensor2D } from './tf.js';
import type { NdmArchitecture, NdmWeights } from './weights.js';

/**
 * States per window-product-and-softmax call in {@link NdmStepper.weights}. Blocks keep the [n, |U|]
 * product and its softmax in smaller pieces (at the Twitter size, 12,602 users, one call over
 * thousands of states spent most of its time on memory). The products are the bits of one call
 * over every state: the backend's matrix product sums each entry in the same order whatever the
 * number of rows, as long as a block starts at a multiple of its row tile (8 float32 lanes here, up
 * to 16 with wider vector units), and blocks start at multiples of 256. The softmax is made the
 * same bits for a state wherever its row sits by padding rows and columns ({@link ROW_ALIGNMENT};
 * simulator-blocks.test.ts checks both).
 */
export const WEIGHT_BLOCK_ROWS = 256;

/** Rows of the next block when `left` rows remain: 256, or all of them below 512 (no small tail block). */
export function weightBlockRows(left: number): number {
  return left < 2 * WEIGHT_BLOCK_ROWS ? left : WEIGHT_BLOCK_ROWS;
}

/**
 * Rows of the softmax in {@link NdmStepper.weights} are this many floats long, or a multiple (the
 * vocabulary padded with never-drawn columns): 64 bytes, the widest vector unit's. The backend's
 * softmax is then the same bits for a state wherever its row sits in the block. With rows of |U|
 * floats it was not: where a row starts inside a vector register decides how the kernel splits its
 * sum and its exponentials into vector and scalar parts (at the Twitter size, 12,602 users, a row
 * one place further down changed every entry of a sixth of the rows by an ulp), and where a row
 * sits depends on the other cascades simulated in the same call.
 */
export const ROW_ALIGNMENT = 16;

/** The bias of the padding columns: exp(PADDED_LOGIT - max) is 0 for any finite max. */
const PADDED_LOGIT = -1e30;

/** Score tables up to this many floats (h * |U|^2) are precomputed; above it scores are dot products. */
const SCORE_TABLE_LIMIT = 1 << 23;

const LAYER_NORM_EPS = 1e-5;
const NDM_CODE_NORM_EPS = 1e-3;

/**
 * Per-user tables that make one attention step cost O(h * prefix * d) multiply-adds in plain
 * arithmetic. The attention of NDM (§4.3) only ever combines user embeddings, so with
 * M_i = W^Q_i (W^K_i)^T (scaled) and VO_i = W^V_i W^O_i:
 * - score_i(u, v) = emb(u) M_i emb(v)^T is a table lookup (or one d-dot product),
 * - head_i W^O_i = sum_k w^i_k emb(u_k) VO_i is a weighted sum of per-user rows.
 */
export interface AttentionTables {
  numUsers: number;
  dimension: number;
  heads: number;
  /** emb(u), [|U|, d]. */
  embedding: Float32Array;
  /** emb(u) M_i for every head, [|U|, h, d]. */
  queryScores: Float32Array;
  /** emb(u) VO_i for every head, [|U|, h, d]. */
  valueOutput: Float32Array;
  /** `valueOutput` as a WebAssembly SIMD row table for the weighted sums (null: sums in JavaScript). */
  valueRows: WeightedRowTable | null;
  /** Scratch: one softmax normaliser per head. */
  headNorms: Float64Array;
  /** score_i(u, v) as [|U|, h, |U|], or null when too large (then computed from queryScores). */
  scores: Float32Array | null;
  /**
   * exp(score_i(u, v) - max_v' score_i(u, v')) as [|U|, |U|, h] (null with `scores`): attention
   * weights become lookups, because a softmax does not change when a row's scores move together;
   * the h heads of a (u, v) pair are adjacent, so a prefix user costs one cache line.
   */
  expScores: Float32Array | null;
  /**
   * `expScores` and `valueOutput` in one WebAssembly kernel that runs the weights, their softmax and
   * the weighted sum of an attention step in one call, bit for bit the JavaScript steps below (null
   * with `expScores`).
   */
  lookup: LookupAttentionTable | null;
  /**
   * Without the score table: `embedding` as a WebAssembly SIMD row table for the scores of a new
   * user against its prefix, all heads at once, bit for bit the JavaScript dot products (null: those).
   */
  keyRows: RowDotTable | null;
  outputBias: Float32Array;
  normGain: Float32Array;
  normBias: Float32Array;
  layerNorm: NdmArchitecture['layerNorm'];
}

/** [d, h*d] block products M_i = W^Q_i (W^K_i)^T * scale and VO_i = W^V_i W^O_i from the weights. */
function headProducts(a: NdmArchitecture, w: NdmWeights): { m: Float32Array; vo: Float32Array } {
  const { dimension: d, heads: h } = a;
  const scale = a.scaleScores ? 1 / Math.sqrt(d) : 1;
  const m = new Float32Array(d * h * d);
  const vo = new Float32Array(d * h * d);
  const hd = h * d;
  for (let i = 0; i < h; i++) {
    for (let r = 0; r < d; r++) {
      for (let c = 0; c < d; c++) {
        // M_i[r, c] = sum_e Wq[r, i*d+e] Wk[c, i*d+e]
        let s = 0;
        for (let e = 0; e < d; e++) s += w.query[r * hd + i * d + e] * w.key[c * hd + i * d + e];
        m[r * hd + i * d + c] = s * scale;
        // VO_i[r, c] = sum_e Wv[r, i*d+e] Wo[i*d+e, c]
        let t = 0;
        for (let e = 0; e < d; e++) t += w.value[r * hd + i * d + e] * w.output[(i * d + e) * d + c];
        vo[r * hd + i * d + c] = t;
      }
    }
  }
  return { m, vo };
}

/** [rows, k] x [k, n] in float32 storage, float64 accumulation. */
function matmul(a: Float32Array, b: Float32Array, rows: number, k: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  const acc = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    for (let e = 0; e < k; e++) {
      const x = a[r * k + e];
      if (x === 0) continue;
      const row = e * n;
      for (let c = 0; c < n; c++) acc[c] += x * b[row + c];
    }
    for (let c = 0; c < n; c++) out[r * n + c] = acc[c];
  }
  return out;
}

export function attentionTables(a: NdmArchitecture, w: NdmWeights): AttentionTables {
  const { numUsers: U, dimension: d, heads: h } = a;
  if (d % 4 !== 0) throw new CascadeError('CONFIG_INVALID', `ndm: the simulator needs a dimension divisible by 4, got ${d}`);
  const { m, vo } = headProducts(a, w);
  const queryScores = matmul(w.embedding, m, U, d, h * d);
  const valueOutput = matmul(w.embedding, vo, U, d, h * d);
  let scores: Float32Array | null = null;
  let expScores: Float32Array | null = null;
  if (h * U * U <= SCORE_TABLE_LIMIT) {
    scores = new Float32Array(U * h * U);
    expScores = new Float32Array(U * h * U);
    for (let u = 0; u < U; u++) {
      for (let i = 0; i < h; i++) {
        const q = (u * h + i) * d;
        const row = (u * h + i) * U;
        let max = -Infinity;
        for (let v = 0; v < U; v++) {
          let s = 0;
          for (let e = 0; e < d; e++) s += queryScores[q + e] * w.embedding[v * d + e];
          scores[row + v] = s;
          if (scores[row + v] > max) max = scores[row + v];
        }
        for (let v = 0; v < U; v++) expScores[(u * U + v) * h + i] = Math.exp(scores[row + v] - max);
      }
    }
  }
  return {
    numUsers: U,
    dimension: d,
    heads: h,
    embedding: w.embedding,
    queryScores,
    valueOutput,
    valueRows: new WeightedRowTable(valueOutput, d),
    headNorms: new Float64Array(h),
    scores,
    expScores,
    lookup: expScores === null ? null : new LookupAttentionTable(valueOutput, expScores, h, d),
    keyRows: scores === null ? new RowDotTable(w.embedding, d) : null,
    outputBias: w.outputBias,
    normGain: w.normGain,
    normBias: w.normBias,
    layerNorm: a.layerNorm,
  };
}

/**
 * The weighted value sum of {@link attentionStep} in plain JavaScript (when no WebAssembly row table
 * is available): sum_k sum_i w^i_k emb(u_k) W^V_i W^O_i over contiguous h*d rows of the table,
 * four output columns at a time in local accumulators (d is a multiple of 4).
 */
function valueSumInJs(t: AttentionTables, prefix: ArrayLike<number>, length: number, scratch: Float64Array): void {
  const d = t.dimension;
  const h = t.heads;
  const hd = h * d;
  const valueOutput = t.valueOutput;
  for (let e = 0; e < d; e += 4) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let k = 0; k < length; k++) {
      const base = prefix[k] * hd + e;
      const wk = d + k * h;
      for (let i = 0; i < h; i++) {
        const w = scratch[wk + i];
        const r = base + i * d;
        a0 += w * valueOutput[r];
        a1 += w * valueOutput[r + 1];
        a2 += w * valueOutput[r + 2];
        a3 += w * valueOutput[r + 3];
      }
    }
    scratch[e] = a0;
    scratch[e + 1] = a1;
    scratch[e + 2] = a2;
    scratch[e + 3] = a3;
  }
}

/**
 * One incremental attention step: the residual sum z = emb(u_t) + MultiHead_t + b and the active
 * user embedding act(u_t) = LayerNorm(z) (Eq. 1-5, §4.5) of the last user of `prefix[0..length)`.
 * Writes d values into `act` at `actOffset` and into `z` at `zOffset`.
 */
export function attentionStep(
  t: AttentionTables,
  prefix: ArrayLike<number>,
  length: number,
  act: Float32Array,
  actOffset: number,
  z: Float32Array,
  zOffset: number,
  scratch: Float64Array,
): void {
  const d = t.dimension;
  const u = prefix[length - 1];
  // scratch: [0, d) accumulator, [d, d + h * length) attention weights w^i_k (Eq. 4), position-major
  // (index d + k * h + i) so the value sum below reads them in order.
  if (scratch.length < d + t.heads * length) throw new CascadeError('INTERNAL', 'ndm simulator: scratch too small');
  // With the exp-score table, the attention up to the layer norm in one kernel call (the same
  // bits), unless a head's weights all underflowed in the table.
  const sum = t.lookup === null ? null : lookupAttention(t.lookup, u, prefix, length);
  if (sum !== null) for (let e = 0; e < d; e++) scratch[e] = sum[e];
  else attentionValues(t, u, prefix, length, scratch);
  layerNormStep(t, u, act, actOffset, z, zOffset, scratch);
}

/** The prefix as the kernel's keys, then its attention output (null: a head underflowed). */
function lookupAttention(lookup: LookupAttentionTable, u: number, prefix: ArrayLike<number>, length: number): Float32Array | null {
  const keys = lookup.keys(length);
  for (let k = 0; k < length; k++) keys[k] = prefix[k];
  return lookup.attend(u, length);
}

/** MultiHead_t W^O (before its bias) of {@link attentionStep} into scratch[0, d), in JavaScript and the row kernels. */
function attentionValues(t: AttentionTables, u: number, prefix: ArrayLike<number>, length: number, scratch: Float64Array): void {
  const d = t.dimension;
  const h = t.heads;
  const U = t.numUsers;
  const table = t.scores;
  const expTable = t.expScores;
  const queryScores = t.queryScores;
  const embedding = t.embedding;
  // Unnormalised weights into scratch, 1 / (their sum) per head into `norms`.
  const norms = t.headNorms;
  norms.fill(0);
  if (expTable !== null) {
    // The h weights of one prefix user sit together in the table: one cache line per user.
    const base = u * U;
    for (let k = 0; k < length; k++) {
      const b = (base + prefix[k]) * h;
      const o = d + k * h;
      for (let i = 0; i < h; i++) {
        const x = expTable[b + i];
        scratch[o + i] = x;
        norms[i] += x;
      }
    }
  }
  // Without the table, the scores of every head in one kernel call: score_i(u, v_k) =
  // (emb(u) M_i) . emb(v_k) with the h heads as lanes (padded to an even count), equal bit for bit
  // to the dot products of the loop below (float64, same order), several times faster; with
  // prefixes of thousands of users this is most of a step.
  let dots: Float64Array | null = null;
  let lanes = 0;
  if (table === null && t.keyRows !== null) {
    lanes = h + (h % 2);
    const query = t.keyRows.query(lanes, length);
    for (let i = 0; i < h; i++) {
      const q = (u * h + i) * d;
      for (let e = 0; e < d; e++) query[e * lanes + i] = queryScores[q + e];
    }
    if (lanes > h) for (let e = 0; e < d; e++) query[e * lanes + h] = 0;
    const index = t.keyRows.items(length);
    for (let k = 0; k < length; k++) index[k] = prefix[k];
    dots = t.keyRows.dots(length, lanes);
  }
  for (let i = 0; i < h; i++) {
    // Without the table, or when every weight of the prefix underflowed in it: the exact softmax.
    if (!(norms[i] > 1e-30)) {
      let max = -Infinity;
      for (let k = 0; k < length; k++) {
        const v = prefix[k];
        let s = 0;
        if (dots !== null) {
          s = dots[k * lanes + i];
        } else if (table !== null) {
          s = table[(u * h + i) * U + v];
        } else {
          const q = (u * h + i) * d;
          const ev = v * d;
          for (let e = 0; e < d; e++) s += queryScores[q + e] * embedding[ev + e];
        }
        scratch[d + k * h + i] = s;
        if (s > max) max = s;
      }
      let total = 0;
      for (let k = 0; k < length; k++) {
        const x = Math.exp(scratch[d + k * h + i] - max);
        scratch[d + k * h + i] = x;
        total += x;
      }
      norms[i] = total;
    }
    norms[i] = 1 / norms[i];
  }
  if (t.valueRows !== null) {
    // sum_k sum_i w^i_k emb(u_k) W^V_i W^O_i: row (u_k, i) of the [|U| * h, d] table, weight w^i_k.
    const n = length * h;
    const { index, weight } = t.valueRows.items(n);
    for (let k = 0; k < length; k++) {
      const row = prefix[k] * h;
      const o = k * h;
      for (let i = 0; i < h; i++) {
        index[o + i] = row + i;
        weight[o + i] = scratch[d + o + i] * norms[i];
      }
    }
    const sum = t.valueRows.sum(n);
    for (let e = 0; e < d; e++) scratch[e] = sum[e];
  } else {
    for (let k = 0; k < length; k++) for (let i = 0; i < h; i++) scratch[d + k * h + i] *= norms[i];
    valueSumInJs(t, prefix, length, scratch);
  }
}

/** z = emb(u) + scratch[0, d) + b and act = LayerNorm(z) of {@link attentionStep}. */
function layerNormStep(t: AttentionTables, u: number, act: Float32Array, actOffset: number, z: Float32Array, zOffset: number, scratch: Float64Array): void {
  const d = t.dimension;
  const embedding = t.embedding;
  const outputBias = t.outputBias;
  const normGain = t.normGain;
  const normBias = t.normBias;
  let mean = 0;
  const eu = u * d;
  for (let e = 0; e < d; e++) {
    const x = embedding[eu + e] + scratch[e] + outputBias[e];
    scratch[e] = x;
    z[zOffset + e] = x;
    mean += x;
  }
  mean /= d;
  let ss = 0;
  for (let e = 0; e < d; e++) ss += (scratch[e] - mean) ** 2;
  const inv = t.layerNorm === 'standard' ? 1 / Math.sqrt(ss / d + LAYER_NORM_EPS) : 1 / (Math.sqrt(ss / (d - 1)) + NDM_CODE_NORM_EPS);
  for (let e = 0; e < d; e++) act[actOffset + e] = (scratch[e] - mean) * inv * normGain[e] + normBias[e];
}

/**
 * totals[r] = the float64 sum of the first U floats of row r of `rows` ([R, stride]) in column
 * order. Four rows at a time: each sum is still one chain of additions in order (the same bits), but
 * four independent chains keep the adder busy where one waits on each addition's latency.
 */
export function rowSums(rows: Float32Array, R: number, U: number, totals: Float64Array, stride = U): void {
  let r = 0;
  for (; r + 4 <= R; r += 4) {
    const b0 = r * stride;
    const b1 = b0 + stride;
    const b2 = b1 + stride;
    const b3 = b2 + stride;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (let v = 0; v < U; v++) {
      t0 += rows[b0 + v];
      t1 += rows[b1 + v];
      t2 += rows[b2 + v];
      t3 += rows[b3 + v];
    }
    totals[r] = t0;
    totals[r + 1] = t1;
    totals[r + 2] = t2;
    totals[r + 3] = t3;
  }
  for (; r < R; r++) {
    const base = r * stride;
    let total = 0;
    for (let v = 0; v < U; v++) total += rows[base + v];
    totals[r] = total;
  }
}

/**
 * The distinct prefixes of one step. Simulations with the same prefix share one state, so a state
 * holds what the next step needs: its users, and the window input (act of its last `win` users
 * and the Finit vector) for the logits and for the states that extend it.
 */
export interface PrefixStates {
  /** Users of each state's prefix, seeds included. */
  prefixes: Int32Array[];
  /** Window input rows for this step's logits, [states, slots * d]. */
  logitRows: Float32Array;
  /** The same rows with act (never z) in every slot: what extended states inherit. */
  history: Float32Array;
}

/**
 * Incremental NDM computation over prefix states (NDM paper §4.3-4.4): the logits of a state are one
 * row of the window product, and extending a state by a user costs one attention step
 * (O(h * prefix * d)); no prefix is recomputed.
 */
export class NdmStepper implements PrefixStepper<PrefixStates> {
  readonly tables: AttentionTables;
  readonly numUsers: number;
  /**
   * Columns of the window product: |U| rounded up to a multiple of {@link ROW_ALIGNMENT}, the extra
   * columns a projection of zeros and a bias of {@link PADDED_LOGIT} (weight 0 after the softmax).
   */
  readonly paddedUsers: number;
  /** The window projection [slots * d, paddedUsers] and its bias on the backend. */
  private readonly projection: Tensor2D;
  private readonly bias: Tensor1D;
  /** The same window projection [slots * d, |U|] and bias on the host, for rows recomputed exactly. */
  private readonly hostProjection: Float32Array;
  private readonly hostBias: Float32Array;
  /** Window slots (win) plus one slot for the Finit term. */
  readonly slots: number;
  private readonly width: number;
  /** The rows of {@link weights}, reused across calls (a fresh [states, |U|] array each step cost page faults). */
  private rowBuffer = new Float32Array(0);
  private inputBuffer = new Float32Array(0);
  private disposed = false;

  constructor(
    readonly architecture: NdmArchitecture,
    weights: NdmWeights,
  ) {
    this.tables = attentionTables(architecture, weights);
    const { dimension: d, numUsers: U, window: win } = architecture;
    this.numUsers = U;
    this.slots = win + (architecture.initialUser ? 1 : 0);
    this.width = this.slots * d;
    const stacked = new Float32Array(this.slots * d * U);
    stacked.set(weights.windowProjection, 0);
    if (architecture.initialUser) stacked.set(weights.initialProjection, win * d * U);
    const Up = Math.ceil(U / ROW_ALIGNMENT) * ROW_ALIGNMENT;
    this.paddedUsers = Up;
    const padded = new Float32Array(this.width * Up);
    for (let j = 0; j < this.width; j++) padded.set(stacked.subarray(j * U, (j + 1) * U), j * Up);
    const paddedBias = new Float32Array(Up).fill(PADDED_LOGIT);
    paddedBias.set(weights.windowBias);
    this.projection = tf.keep(tf.tensor2d(padded, [this.width, Up]));
    this.bias = tf.keep(tf.tensor1d(paddedBias));
    this.hostProjection = stacked;
    this.hostBias = weights.windowBias;
  }

  count(states: PrefixStates): number {
    return states.prefixes.length;
  }

  checkSeeds(users: readonly number[]): void {
    if (users.length === 0) throw new CascadeError('USAGE', 'ndm simulator: a simulation needs at least one seed user');
    for (const u of users) {
      if (!Number.isInteger(u) || u < 0 || u >= this.numUsers || u === PAD_USER || u === END_USER) {
        throw new CascadeError('USAGE', `ndm simulator: seed user ${u} is not a real user of the ${this.numUsers}-user vocabulary`);
      }
    }
  }

  /**
   * Window input of a prefix: slot n holds act(u_{t-n}) (zeros before the start, Eq. 6), the Finit
   * slot act(u_0) or emb(u_0) (Eq. 7). With the authors' layer norm a length-1 prefix uses z (their
   * norm returns its input for a length-1 sequence).
   */
  private windowRow(chainAct: Float32Array, chainZ: Float32Array, first: number, length: number, out: Float32Array, offset: number): void {
    const { dimension: d, window: win, layerNorm, initialUser, initialUserInput } = this.architecture;
    const src = layerNorm === 'ndm-code' && length === 1 ? chainZ : chainAct;
    out.fill(0, offset, offset + this.width);
    for (let n = 0; n < win && n < length; n++) out.set(src.subarray((length - 1 - n) * d, (length - n) * d), offset + n * d);
    if (initialUser) {
      out.set(initialUserInput === 'embedding' ? this.tables.embedding.subarray(first * d, first * d + d) : src.subarray(0, d), offset + win * d);
    }
  }

  /** One state per seed list, computed along the seeds. */
  roots(seedLists: readonly (readonly number[])[]): PrefixStates {
    const d = this.architecture.dimension;
    const n = seedLists.length;
    const logitRows = new Float32Array(n * this.width);
    const history = new Float32Array(n * this.width);
    const prefixes: Int32Array[] = [];
    seedLists.forEach((seeds, i) => {
      this.checkSeeds(seeds);
      // An Int32Array, as every extended prefix: attentionStep then sees one element kind.
      const prefix = Int32Array.from(seeds);
      const act = new Float32Array(seeds.length * d);
      const z = new Float32Array(seeds.length * d);
      const scratch = new Float64Array(d + this.architecture.heads * seeds.length);
      for (let t = 1; t <= seeds.length; t++) attentionStep(this.tables, prefix, t, act, (t - 1) * d, z, (t - 1) * d, scratch);
      this.windowRow(act, z, seeds[0], seeds.length, logitRows, i * this.width);
      this.windowRow(act, act, seeds[0], seeds.length, history, i * this.width);
      prefixes.push(prefix);
    });
    return { prefixes, logitRows, history };
  }

  /** The window product of `rows` window inputs: next-user logits [rows, paddedUsers] (call inside tidy). */
  private windowProduct(input: Float32Array, rows: number): Tensor2D {
    return tf.fused.matMul({ a: tf.tensor2d(input, [rows, this.width]), b: this.projection, bias: this.bias }) as Tensor2D;
  }

  /** Next-user logits of every state (unmasked), [states, |U|]. */
  async logits(states: PrefixStates): Promise<Float32Array> {
    if (this.disposed) throw new CascadeError('INTERNAL', 'ndm simulator: used after dispose()');
    const R = states.prefixes.length;
    const U = this.numUsers;
    const Up = this.paddedUsers;
    if (R === 0) return new Float32Array(0);
    const out = tf.tidy(() => this.windowProduct(states.logitRows.subarray(0, R * this.width), R));
    const values = (await out.data()) as Float32Array;
    out.dispose();
    if (Up === U) return values;
    const logits = new Float32Array(R * U);
    for (let r = 0; r < R; r++) logits.set(values.subarray(r * Up, r * Up + U), r * U);
    return logits;
  }

  /**
   * Unnormalised next-user probabilities of every state, [states, stride] with stride =
   * {@link paddedUsers} (users from |U| on: 0): the softmax over all users from the backend (window
   * products and softmax kernels in blocks of {@link WEIGHT_BLOCK_ROWS} states, rows and columns
   * padded to multiples of {@link ROW_ALIGNMENT}, so that a state's row is the same bits wherever
   * it sits), then 0 for padding and for the users of the state's prefix. A row whose remaining
   * weight underflowed (the users it may still infect all sit more than ~70 below an infected
   * user's logit) is recomputed on the host against the max of the users it may infect.
   * `totals[r]` is the row's sum, in user order, in float64: the sum the sampler forms.
   *
   * `rows` is a buffer of this stepper, reused (and overwritten) by the next call: read it before
   * calling again.
   */
  async weights(states: PrefixStates): Promise<{ rows: Float32Array; totals: Float64Array; stride: number }> {
    if (this.disposed) throw new CascadeError('INTERNAL', 'ndm simulator: used after dispose()');
    const R = states.prefixes.length;
    const U = this.numUsers;
    const Up = this.paddedUsers;
    const totals = new Float64Array(R);
    if (R === 0) return { rows: new Float32Array(0), totals, stride: Up };
    if (this.rowBuffer.length < R * Up) this.rowBuffer = new Float32Array(R * Up);
    const rows = this.rowBuffer.subarray(0, R * Up);
    for (let r0 = 0; r0 < R; ) {
      const n = weightBlockRows(R - r0);
      // Rows padded to a multiple of ROW_ALIGNMENT as well (zero inputs, outputs not read).
      const np = Math.ceil(n / ROW_ALIGNMENT) * ROW_ALIGNMENT;
      const input = np === n ? states.logitRows.subarray(r0 * this.width, (r0 + n) * this.width) : this.paddedInput(states.logitRows, r0, n, np);
      const out = tf.tidy(() => tf.softmax(this.windowProduct(input, np)));
      const values = (await out.data()) as Float32Array;
      out.dispose();
      rows.set(values.subarray(0, n * Up), r0 * Up);
      r0 += n;
    }
    for (let r = 0; r < R; r++) {
      const base = r * Up;
      const prefix = states.prefixes[r];
      rows[base + PAD_USER] = 0;
      for (let k = 0; k < prefix.length; k++) rows[base + prefix[k]] = 0;
    }
    rowSums(rows, R, U, totals, Up);
    for (let r = 0; r < R; r++) if (!(totals[r] > 1e-30)) totals[r] = this.exactRow(states, r, rows.subarray(r * Up, r * Up + U));
    return { rows, totals, stride: Up };
  }

  /** Rows [r0, r0 + n) of `logitRows` followed by zero rows up to np rows (a reused buffer). */
  private paddedInput(logitRows: Float32Array, r0: number, n: number, np: number): Float32Array {
    const w = this.width;
    if (this.inputBuffer.length < np * w) this.inputBuffer = new Float32Array(np * w);
    const input = this.inputBuffer.subarray(0, np * w);
    input.set(logitRows.subarray(r0 * w, (r0 + n) * w));
    input.fill(0, n * w);
    return input;
  }

  /** Row r of {@link weights} (`row`: its U floats) from logits computed on the host in float64; returns its sum. */
  private exactRow(states: PrefixStates, r: number, row: Float32Array): number {
    const U = this.numUsers;
    const w = this.width;
    const input = states.logitRows.subarray(r * w, (r + 1) * w);
    const logits = new Float64Array(U);
    for (let v = 0; v < U; v++) logits[v] = this.hostBias[v];
    for (let j = 0; j < w; j++) {
      const x = input[j];
      if (x === 0) continue;
      const row = j * U;
      for (let v = 0; v < U; v++) logits[v] += x * this.hostProjection[row + v];
    }
    const blocked = new Uint8Array(U);
    blocked[PAD_USER] = 1;
    for (const u of states.prefixes[r]) blocked[u] = 1;
    let max = -Infinity;
    for (let v = 0; v < U; v++) {
      const x = logits[v];
      if (!Number.isFinite(x)) throw new CascadeError('MODEL', `ndm simulator: ${x !== x ? 'NaN' : 'infinite'} logit for user ${v}`);
      if (!blocked[v] && x > max) max = x;
    }
    let total = 0;
    for (let v = 0; v < U; v++) {
      row[v] = blocked[v] || max === -Infinity ? 0 : Math.exp(logits[v] - max);
      total += row[v];
    }
    return total;
  }

  /**
   * The states after one more user: simulation i moves from state `parent[i]` by adding `user[i]`
   * (-1: it does not continue). Equal (parent, user) pairs share one new state. Returns the new
   * states and each simulation's new state (-1 where it does not continue).
   */
  extend(states: PrefixStates, parent: Int32Array, user: Int32Array): { states: PrefixStates; stateOf: Int32Array } {
    const { dimension: d, window: win, initialUser } = this.architecture;
    const U = this.numUsers;
    const w = this.width;
    const stateOf = new Int32Array(parent.length).fill(-1);
    const childOf = new Map<number, number>();
    const parents: number[] = [];
    const users: number[] = [];
    for (let i = 0; i < parent.length; i++) {
      if (parent[i] < 0 || user[i] < 0) continue;
      const key = parent[i] * U + user[i];
      let c = childOf.get(key);
      if (c === undefined) {
        c = parents.length;
        childOf.set(key, c);
        parents.push(parent[i]);
        users.push(user[i]);
      }
      stateOf[i] = c;
    }
    const C = parents.length;
    const prefixes: Int32Array[] = new Array(C);
    const history = new Float32Array(C * w);
    let longest = 0;
    for (let c = 0; c < C; c++) longest = Math.max(longest, states.prefixes[parents[c]].length + 1);
    const scratch = new Float64Array(d + this.architecture.heads * longest);
    const z = new Float32Array(d);
    const old = states.history;
    // The parent's slots 0 .. win-2 become slots 1 .. win-1, its Finit slot stays (plain loops:
    // a subarray and a set per slot cost more than the copy here).
    const shifted = (win - 1) * d;
    for (let c = 0; c < C; c++) {
      const p = parents[c];
      const prev = states.prefixes[p];
      const prefix = new Int32Array(prev.length + 1);
      prefix.set(prev);
      prefix[prev.length] = users[c];
      prefixes[c] = prefix;
      const o = c * w;
      // act of the new user straight into slot 0.
      attentionStep(this.tables, prefix, prefix.length, history, o, z, 0, scratch);
      const from = p * w;
      for (let e = 0; e < shifted; e++) history[o + d + e] = old[from + e];
      if (initialUser) for (let e = win * d; e < w; e++) history[o + e] = old[from + e];
    }
    // A prefix of two or more users never takes the length-1 path: logits use the history as is.
    return { states: { prefixes, logitRows: history, history }, stateOf };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.projection.dispose();
    this.bias.dispose();
    this.rowBuffer = new Float32Array(0);
  }
}

/**
 * The NDM simulator for the evaluation protocol (NDM paper §5.3): from the seeds, sample the next
 * user from softmax(Eq. 7) over the users not yet infected, until `</s>`, nobody is left or the
 * budget is used: `@cascade-lab/simulation`'s prefix-sharing sampler driving {@link NdmStepper}.
 * Its rows equal those of the shared SequentialSampler driving {@link NdmSimulator.nextUserModel}
 * (same streams, same draw arithmetic); faster because simulations that share a prefix share one
 * attention step and one row of next-user weights.
 */
export class NdmSimulator {
  readonly stepper: NdmStepper;
  private readonly sampler: PrefixSharingSampler<PrefixStates>;

  constructor(
    readonly architecture: NdmArchitecture,
    weights: NdmWeights,
    readonly batchRows = 4096,
  ) {
    this.stepper = new NdmStepper(architecture, weights);
    this.sampler = new PrefixSharingSampler(this.stepper, { batchRows, name: 'ndm simulator' });
  }

  get tables(): AttentionTables {
    return this.stepper.tables;
  }

  /** Next-user logits after `prefix` (unmasked) through the incremental path. */
  async prefixLogits(prefix: readonly number[]): Promise<Float32Array> {
    this.stepper.checkSeeds(prefix);
    return this.stepper.logits(this.stepper.roots([prefix]));
  }

  simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    return this.sampler.simulate(requests, rng, signal);
  }

  /**
   * NDM as the incremental next-user model of `@cascade-lab/simulation`'s sequential engine: the
   * same states (shared between simulations with equal prefixes), returned as one row of
   * unnormalised probabilities ({@link NdmStepper.weights}) per simulation.
   */
  nextUserModel(): NextUserModel<{ states: PrefixStates; stateOf: Int32Array }> {
    const stepper = this.stepper;
    const U = this.architecture.numUsers;
    return {
      numUsers: U,
      scoreKind: 'probabilities',
      start(seeds, batch) {
        return { states: stepper.roots([seeds]), stateOf: new Int32Array(batch) };
      },
      async next(state, lastSampled) {
        if (lastSampled !== null) {
          const next = stepper.extend(state.states, state.stateOf, lastSampled);
          state.states = next.states;
          state.stateOf = next.stateOf;
        }
        const { rows, stride } = await stepper.weights(state.states);
        const out = new Float32Array(state.stateOf.length * U);
        for (let i = 0; i < state.stateOf.length; i++) {
          const st = state.stateOf[i];
          if (st >= 0) out.set(rows.subarray(st * stride, st * stride + U), i * U);
        }
        return out;
      },
    };
  }

  dispose(): void {
    this.stepper.dispose();
  }
}
