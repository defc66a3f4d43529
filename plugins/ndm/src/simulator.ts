import {
  CascadeError,
  END_USER,
  PAD_USER,
  throwIfCancelled,
  type Rng,
  type SimulationRequest,
  type SimulationResult,
} from '@cascade-lab/core';
import { tf, type Tensor1D, type Tensor2D } from './tf.js';
import type { NdmArchitecture, NdmWeights } from './weights.js';

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
  /** score_i(u, v) as [|U|, h, |U|], or null when too large (then computed from queryScores). */
  scores: Float32Array | null;
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
  const { m, vo } = headProducts(a, w);
  const queryScores = matmul(w.embedding, m, U, d, h * d);
  const valueOutput = matmul(w.embedding, vo, U, d, h * d);
  let scores: Float32Array | null = null;
  if (h * U * U <= SCORE_TABLE_LIMIT) {
    scores = new Float32Array(U * h * U);
    for (let u = 0; u < U; u++) {
      for (let i = 0; i < h; i++) {
        const q = (u * h + i) * d;
        const row = (u * h + i) * U;
        for (let v = 0; v < U; v++) {
          let s = 0;
          for (let e = 0; e < d; e++) s += queryScores[q + e] * w.embedding[v * d + e];
          scores[row + v] = s;
        }
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
    scores,
    outputBias: w.outputBias,
    normGain: w.normGain,
    normBias: w.normBias,
    layerNorm: a.layerNorm,
  };
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
  const { dimension: d, heads: h, numUsers: U } = t;
  const u = prefix[length - 1];
  const acc = scratch.subarray(0, d);
  const weights = scratch.subarray(d, d + length);
  acc.fill(0);
  for (let i = 0; i < h; i++) {
    let max = -Infinity;
    for (let k = 0; k < length; k++) {
      const v = prefix[k];
      let s: number;
      if (t.scores) {
        s = t.scores[(u * h + i) * U + v];
      } else {
        s = 0;
        const q = (u * h + i) * d;
        for (let e = 0; e < d; e++) s += t.queryScores[q + e] * t.embedding[v * d + e];
      }
      weights[k] = s;
      if (s > max) max = s;
    }
    let total = 0;
    for (let k = 0; k < length; k++) {
      const e = Math.exp(weights[k] - max);
      weights[k] = e;
      total += e;
    }
    for (let k = 0; k < length; k++) {
      const wk = weights[k] / total;
      const row = (prefix[k] * h + i) * d;
      for (let e = 0; e < d; e++) acc[e] += wk * t.valueOutput[row + e];
    }
  }
  let mean = 0;
  for (let e = 0; e < d; e++) {
    const x = t.embedding[u * d + e] + acc[e] + t.outputBias[e];
    acc[e] = x;
    z[zOffset + e] = x;
    mean += x;
  }
  mean /= d;
  let ss = 0;
  for (let e = 0; e < d; e++) ss += (acc[e] - mean) ** 2;
  const inv = t.layerNorm === 'standard' ? 1 / Math.sqrt(ss / d + LAYER_NORM_EPS) : 1 / (Math.sqrt(ss / (d - 1)) + NDM_CODE_NORM_EPS);
  for (let e = 0; e < d; e++) act[actOffset + e] = (acc[e] - mean) * inv * t.normGain[e] + t.normBias[e];
}

/** A distinct prefix shared by one or more simulations at the current step. */
interface PrefixState {
  request: number;
  /** A simulation whose sequence holds this prefix (after the seeds). */
  representative: number;
  /** Users in the prefix, seeds included. */
  length: number;
}

/**
 * The NDM simulator for the evaluation protocol (NDM paper §5.3): from the seeds, sample the next
 * user from softmax(Eq. 7 logits) with infected users masked, until `</s>`, nobody is left or the
 * budget is used.
 *
 * State is reused between steps: simulations that share a prefix share one state (all of them do
 * at the first step), and a state keeps the active embeddings of its last `win` users, so a new user
 * costs one incremental attention step (O(h * prefix * d)) and one row of the window product; no
 * prefix is ever recomputed. All simulations of up to `batchRows` requests advance together, so the
 * window product is one matrix product per step on the tensor backend.
 */
export class NdmSimulator {
  readonly tables: AttentionTables;
  private readonly projection: Tensor2D;
  private readonly bias: Tensor1D;
  /** Window slots (win) plus one slot for the Finit term. */
  private readonly slots: number;
  private disposed = false;

  constructor(
    readonly architecture: NdmArchitecture,
    readonly weights: NdmWeights,
    readonly batchRows = 4096,
  ) {
    this.tables = attentionTables(architecture, weights);
    const { dimension: d, numUsers: U, window: win } = architecture;
    this.slots = win + (architecture.initialUser ? 1 : 0);
    const stacked = new Float32Array(this.slots * d * U);
    stacked.set(weights.windowProjection, 0);
    if (architecture.initialUser) stacked.set(weights.initialProjection, win * d * U);
    this.projection = tf.keep(tf.tensor2d(stacked, [this.slots * d, U]));
    this.bias = tf.keep(tf.tensor1d(weights.windowBias));
  }

  /**
   * Rows of the window product's input for a prefix: slot n holds act(u_{t-n}) (zeros before the
   * start), the Finit slot the initial user's vector. `chain` holds act (and z) of every prefix user.
   */
  private windowRow(chainAct: Float32Array, chainZ: Float32Array, firstEmbedding: Float32Array, length: number, out: Float32Array, offset: number): void {
    const { dimension: d, window: win, layerNorm, initialUser, initialUserInput } = this.architecture;
    // The authors' layer norm returns its input for a length-1 sequence (their first sampling step).
    const skipNorm = layerNorm === 'ndm-code' && length === 1;
    out.fill(0, offset, offset + this.slots * d);
    for (let n = 0; n < win && n < length; n++) {
      const src = skipNorm ? chainZ : chainAct;
      out.set(src.subarray((length - 1 - n) * d, (length - n) * d), offset + n * d);
    }
    if (initialUser) {
      const src = initialUserInput === 'embedding' ? firstEmbedding : (skipNorm ? chainZ : chainAct).subarray(0, d);
      out.set(src, offset + win * d);
    }
  }

  /** Logits of one step for `rows` window rows, [rows, |U|]. */
  private async stepLogits(input: Float32Array, rows: number): Promise<Float32Array> {
    const U = this.architecture.numUsers;
    const out = tf.tidy(() =>
      tf.fused.matMul({ a: tf.tensor2d(input.subarray(0, rows * this.slots * this.architecture.dimension), [rows, this.slots * this.architecture.dimension]), b: this.projection, bias: this.bias }),
    );
    const values = (await out.data()) as Float32Array;
    out.dispose();
    if (values.length !== rows * U) throw new CascadeError('INTERNAL', 'ndm simulator: unexpected logit shape');
    return values;
  }

  /** act and z of every prefix of `users` (computed incrementally), each [length, d]. */
  private chain(users: readonly number[]): { act: Float32Array; z: Float32Array } {
    const d = this.architecture.dimension;
    const act = new Float32Array(users.length * d);
    const z = new Float32Array(users.length * d);
    const scratch = new Float64Array(d + users.length);
    for (let t = 1; t <= users.length; t++) attentionStep(this.tables, users, t, act, (t - 1) * d, z, (t - 1) * d, scratch);
    return { act, z };
  }

  /**
   * Logits of the next user after `prefix` (unmasked), through the same incremental path the
   * sampler uses; for tests and for scoring single prefixes.
   */
  async prefixLogits(prefix: readonly number[]): Promise<Float32Array> {
    this.checkUsers(prefix);
    const d = this.architecture.dimension;
    const { act, z } = this.chain(prefix);
    const row = new Float32Array(this.slots * d);
    this.windowRow(act, z, this.tables.embedding.subarray(prefix[0] * d, prefix[0] * d + d), prefix.length, row, 0);
    return this.stepLogits(row, 1);
  }

  private checkUsers(users: readonly number[]): void {
    if (users.length === 0) throw new CascadeError('USAGE', 'ndm simulator: a simulation needs at least one seed user');
    for (const u of users) {
      if (!Number.isInteger(u) || u < 0 || u >= this.architecture.numUsers || u === PAD_USER || u === END_USER) {
        throw new CascadeError('USAGE', `ndm simulator: seed user ${u} is not a real user of the ${this.architecture.numUsers}-user vocabulary`);
      }
    }
  }

  async simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    if (this.disposed) throw new CascadeError('INTERNAL', 'ndm simulator: used after dispose()');
    for (const r of requests) {
      this.checkUsers(r.seeds);
      if (!Number.isInteger(r.budget) || r.budget < 0) throw new CascadeError('USAGE', `ndm simulator: budget must be a non-negative integer, got ${r.budget}`);
      if (!Number.isInteger(r.simulations) || r.simulations < 0) throw new CascadeError('USAGE', `ndm simulator: simulations must be a non-negative integer, got ${r.simulations}`);
    }
    // Each request draws from its own stream, in step-major, simulation order: the result does not
    // depend on how requests are grouped. The caller's generator advances, so a second call differs.
    const base = rng.derive('ndm:simulate');
    rng.nextUint32();
    const results: SimulationResult[] = requests.map((r) => ({ simulations: r.simulations, budget: r.budget, sequences: new Int32Array(r.simulations * r.budget).fill(-1) }));
    // Group requests of similar budget so a group finishes together.
    const order = requests.map((_, i) => i).sort((a, b) => requests[a].budget - requests[b].budget);
    let group: number[] = [];
    let rows = 0;
    for (const q of order) {
      if (group.length > 0 && rows + requests[q].simulations > this.batchRows) {
        await this.simulateGroup(group, requests, results, base, signal);
        group = [];
        rows = 0;
      }
      group.push(q);
      rows += requests[q].simulations;
    }
    if (group.length > 0) await this.simulateGroup(group, requests, results, base, signal);
    return results;
  }

  private async simulateGroup(group: number[], requests: SimulationRequest[], results: SimulationResult[], base: Rng, signal?: AbortSignal): Promise<void> {
    const { dimension: d, numUsers: U } = this.architecture;
    const width = this.slots * d;
    const streams = group.map((q) => base.derive(q));
    // Simulations of the group: request position g and simulation index within the request.
    const simRequest: number[] = [];
    const simIndex: number[] = [];
    group.forEach((q, g) => {
      for (let s = 0; s < requests[q].simulations; s++) {
        simRequest.push(g);
        simIndex.push(s);
      }
    });
    const numSims = simRequest.length;
    // Current state of every simulation (-1: stopped) and the states of this step.
    let simState = new Int32Array(numSims);
    let states: PrefixState[] = [];
    // Window rows for the logits of each state, and the act history (win slots, act only) that
    // children inherit.
    let logitRows = new Float32Array(0);
    let history = new Float32Array(0);
    const firstEmbedding: Float32Array[] = [];
    // Seeds: one state per request, computed along its seed chain.
    logitRows = new Float32Array(group.length * width);
    history = new Float32Array(group.length * width);
    group.forEach((q, g) => {
      const seeds = requests[q].seeds;
      const { act, z } = this.chain(seeds);
      const first = this.tables.embedding.slice(seeds[0] * d, seeds[0] * d + d);
      firstEmbedding.push(first);
      this.windowRow(act, z, first, seeds.length, logitRows, g * width);
      // Children never see a length-1 prefix: their inherited slots hold act (never z).
      this.windowRow(act, act, first, seeds.length, history, g * width);
      states.push({ request: g, representative: -1, length: seeds.length });
    });
    let simCount = 0;
    for (let g = 0; g < group.length; g++) {
      for (let s = 0; s < requests[group[g]].simulations; s++) simState[simCount++] = g;
    }
    const maxBudget = Math.max(0, ...group.map((q) => requests[q].budget));
    const infected = new Uint8Array(U);
    let cdf = new Float64Array(0);
    let lastYield = performance.now();
    for (let step = 0; step < maxBudget; step++) {
      throwIfCancelled(signal);
      if (performance.now() - lastYield > 50) {
        await new Promise((resolve) => setImmediate(resolve));
        throwIfCancelled(signal);
        lastYield = performance.now();
      }
      // Which states still have a running simulation that may add a user at this step?
      const live = new Uint8Array(states.length);
      let anyLive = false;
      for (let s = 0; s < numSims; s++) {
        const st = simState[s];
        if (st >= 0 && step < requests[group[simRequest[s]]].budget) {
          live[st] = 1;
          anyLive = true;
        }
      }
      if (!anyLive) break;
      // Compact to live states, then one window product for all of them.
      const liveIndex = new Int32Array(states.length).fill(-1);
      const liveStates: PrefixState[] = [];
      for (let i = 0; i < states.length; i++) {
        if (!live[i]) continue;
        if (liveStates.length !== i) {
          logitRows.copyWithin(liveStates.length * width, i * width, (i + 1) * width);
          history.copyWithin(liveStates.length * width, i * width, (i + 1) * width);
        }
        liveIndex[i] = liveStates.length;
        liveStates.push(states[i]);
      }
      const R = liveStates.length;
      const logits = await this.stepLogits(logitRows, R);
      // Next-user distribution of each state: softmax over users not yet infected (§4.5), as a CDF.
      if (cdf.length < R * U) cdf = new Float64Array(R * U);
      const totals = new Float64Array(R);
      for (let r = 0; r < R; r++) {
        const st = liveStates[r];
        const prefix = this.prefixOf(st, requests[group[st.request]].seeds, results[group[st.request]], step);
        for (const u of prefix) infected[u] = 1;
        infected[PAD_USER] = 1;
        let max = -Infinity;
        const row = r * U;
        for (let v = 0; v < U; v++) if (!infected[v] && logits[row + v] > max) max = logits[row + v];
        let total = 0;
        for (let v = 0; v < U; v++) {
          if (!infected[v]) total += Math.exp(logits[row + v] - max);
          cdf[row + v] = total;
        }
        totals[r] = total;
        for (const u of prefix) infected[u] = 0;
      }
      // Sample, and map (state, user) to the states of the next step.
      const childOf = new Map<number, number>();
      const nextStates: PrefixState[] = [];
      const nextState = new Int32Array(numSims).fill(-1);
      const parentOfChild: number[] = [];
      for (let s = 0; s < numSims; s++) {
        const st = simState[s];
        if (st < 0) continue;
        const g = simRequest[s];
        const q = group[g];
        const budget = requests[q].budget;
        if (step >= budget) continue;
        const r = liveIndex[st];
        const total = totals[r];
        if (!(total > 0)) continue; // nobody left to infect
        const x = streams[g].next() * total;
        let lo = r * U;
        let hi = r * U + U - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[mid] > x) hi = mid;
          else lo = mid + 1;
        }
        const v = lo - r * U;
        if (v === END_USER) continue;
        results[q].sequences[simIndex[s] * budget + step] = v;
        if (step + 1 >= budget) continue;
        const key = r * U + v;
        let child = childOf.get(key);
        if (child === undefined) {
          child = nextStates.length;
          childOf.set(key, child);
          nextStates.push({ request: g, representative: simIndex[s], length: liveStates[r].length + 1 });
          parentOfChild.push(r);
        }
        nextState[s] = child;
      }
      // Active embeddings of the new states: one incremental attention step each.
      const C = nextStates.length;
      const nextRows = new Float32Array(C * width);
      const nextHistory = new Float32Array(C * width);
      const act = new Float32Array(d);
      const z = new Float32Array(d);
      const scratch = new Float64Array(d + 1 + Math.max(0, ...nextStates.map((c) => c.length)));
      const { window: win } = this.architecture;
      for (let c = 0; c < C; c++) {
        const st = nextStates[c];
        const q = group[st.request];
        const prefix = this.prefixOf(st, requests[q].seeds, results[q], step + 1);
        attentionStep(this.tables, prefix, prefix.length, act, 0, z, 0, scratch);
        const parent = parentOfChild[c];
        const o = c * width;
        nextHistory.set(act, o);
        if (win > 1) nextHistory.set(history.subarray(parent * width, parent * width + (win - 1) * d), o + d);
        if (this.architecture.initialUser) nextHistory.set(history.subarray(parent * width + win * d, (parent + 1) * width), o + win * d);
        nextRows.set(nextHistory.subarray(o, o + width), o);
      }
      states = nextStates;
      simState = nextState;
      logitRows = nextRows;
      history = nextHistory;
    }
  }

  /** Users of a state's prefix: the request's seeds, then the representative's first `added` users. */
  private prefixOf(st: PrefixState, seeds: readonly number[], result: SimulationResult, added: number): number[] {
    const out = seeds.slice();
    if (st.representative >= 0) {
      const base = st.representative * result.budget;
      for (let k = 0; k < added; k++) out.push(result.sequences[base + k]);
    }
    if (out.length !== st.length) throw new CascadeError('INTERNAL', `ndm simulator: prefix of length ${out.length}, expected ${st.length}`);
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.projection.dispose();
    this.bias.dispose();
  }
}
