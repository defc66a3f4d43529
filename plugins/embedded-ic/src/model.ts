/**
 * The equations of Embedded IC (Bourigault, Lamprier, Gallinari, WSDM 2016), on host Float64Arrays.
 *
 * Each user u has a sender vector w_u, a receiver vector z_v and a receiver bias z_v0 (paper §3);
 * the probability that an infected u infects v in the independent cascade is a decreasing logistic
 * function of the squared distance between the sender point of u and the receiver point of v:
 *
 *   s(u, v) = z_v0 + ||z_v - w_u||^2,        p(u -> v) = sigmoid(-s(u, v)) = 1 / (1 + exp(s)).
 *
 * Likelihood of a cascade (u_0, ..., u_m) under the discrete IC whose time steps are not observed
 * (the relaxation used for real cascades: any user infected before v may have infected v):
 *   an infected v = u_j (j >= 1):  P_v = 1 - prod_{i < j} (1 - p(u_i -> v))
 *   a user v never infected:       prod_{i <= m} (1 - p(u_i -> v))
 *
 * EM over "who infected whom" (Saito et al. 2008, the scheme the paper builds on): the E-step gives
 * each earlier user u_i the posterior q_i = p(u_i -> v) / P_v of having infected v; the M-step
 * maximises sum_i [q_i ln p_i + (1 - q_i) ln(1 - p_i)] + sum over never-infected ln(1 - p). With
 * s the score above, d/ds of the M-step term is p - q, which at the current parameters is exactly
 * d ln P_v / ds: one stochastic-gradient step per cascade on the M-step objective with a fresh
 * E-step is a stochastic-gradient step on the log-likelihood itself (the paper's stochastic
 * version). The never-infected users are sampled (negative sampling) and re-weighted so that the
 * estimate of their term stays unbiased.
 */
import { RESERVED_USERS, type Rng } from '@cascade-lab/core';

export interface EmbeddedIcParameters {
  /** Vocabulary size (the reserved indices included; they never send or receive). */
  readonly numUsers: number;
  readonly dimension: number;
  /** w_u, row-major numUsers x dimension. */
  readonly senders: Float64Array;
  /** z_v, row-major numUsers x dimension. */
  readonly receivers: Float64Array;
  /** z_v0. */
  readonly receiverBias: Float64Array;
}

/**
 * Who may have infected the j-th user of a cascade (see the file comment). `window` 0: every
 * earlier user (the relaxation of unobserved IC steps). `window` k > 0: only the k users infected
 * just before it, u_{j-k} .. u_{j-1}: an infected user stays contagious for the next k infections
 * of the cascade. `earlierFailed`: the users infected before the window each tried and failed, a
 * factor (1 - p(u_i -> v)) each (the exact likelihood of that contagious-window IC); false leaves
 * those pairs out of the likelihood (no evidence either way).
 */
export interface ParentRule {
  readonly window: number;
  readonly earlierFailed: boolean;
}
export const EVERY_EARLIER_USER: ParentRule = { window: 0, earlierFailed: false };

/** Gradient of the log-likelihood, same layout as the parameters. */
export interface EmbeddedIcGradient {
  senders: Float64Array;
  receivers: Float64Array;
  receiverBias: Float64Array;
}

/** ln(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** 1 / (1 + e^-x) without overflow. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * Random initial parameters: coordinates uniform in [-initScale, initScale], receiver biases set so
 * that two users at the typical initial distance start at p = initialProbability (small: most
 * pairs never transmit).
 */
export function initialParameters(numUsers: number, dimension: number, rng: Rng, initScale = 0.1, initialProbability = 0.01): EmbeddedIcParameters {
  const senders = new Float64Array(numUsers * dimension);
  const receivers = new Float64Array(numUsers * dimension);
  for (let i = 0; i < senders.length; i++) senders[i] = rng.uniform(-initScale, initScale);
  for (let i = 0; i < receivers.length; i++) receivers[i] = rng.uniform(-initScale, initScale);
  // E||z - w||^2 = 2 d initScale^2 / 3 for independent uniform coordinates.
  const typicalDistance = (2 * dimension * initScale * initScale) / 3;
  const bias = Math.log(1 / initialProbability - 1) - typicalDistance;
  const receiverBias = new Float64Array(numUsers).fill(bias);
  return { numUsers, dimension, senders, receivers, receiverBias };
}

export function zeroGradient(p: EmbeddedIcParameters): EmbeddedIcGradient {
  return { senders: new Float64Array(p.senders.length), receivers: new Float64Array(p.receivers.length), receiverBias: new Float64Array(p.receiverBias.length) };
}

/** s(u, v) = z_v0 + ||z_v - w_u||^2. */
export function transmissionScore(p: EmbeddedIcParameters, u: number, v: number): number {
  const d = p.dimension;
  const w = p.senders;
  const z = p.receivers;
  let dist = 0;
  for (let k = 0, a = u * d, b = v * d; k < d; k++) {
    const diff = z[b + k] - w[a + k];
    dist += diff * diff;
  }
  return p.receiverBias[v] + dist;
}

/** p(u -> v) = sigmoid(-s(u, v)). */
export function transmissionProbability(p: EmbeddedIcParameters, u: number, v: number): number {
  return sigmoid(-transmissionScore(p, u, v));
}

/** Adds g * ds(u, v)/dtheta to the gradient: ds/dz_v0 = 1, ds/dz_v = 2 (z_v - w_u), ds/dw_u = -2 (z_v - w_u). */
function addScoreGradient(p: EmbeddedIcParameters, grad: EmbeddedIcGradient, u: number, v: number, g: number): void {
  const d = p.dimension;
  const w = p.senders;
  const z = p.receivers;
  const gw = grad.senders;
  const gz = grad.receivers;
  const g2 = 2 * g;
  for (let k = 0, a = u * d, b = v * d; k < d; k++) {
    const t = g2 * (z[b + k] - w[a + k]);
    gz[b + k] += t;
    gw[a + k] -= t;
  }
  grad.receiverBias[v] += g;
}

/** Per-thread scratch buffers, grown on demand. */
export class LikelihoodScratch {
  scores = new Float64Array(64);
  senderNorms = new Float64Array(64);
  /** Per cascade user i: sum over receivers v of g(u_i, v) z_v (row-major m x d). */
  senderAcc = new Float64Array(64);
  /** Per cascade user i: sum over receivers v of g(u_i, v). */
  senderWeight = new Float64Array(64);
  /** For the current receiver v: sum over senders of g(u_i, v) w_{u_i}. */
  receiverAcc = new Float64Array(64);
  ensure(m: number, d: number): void {
    if (this.scores.length < m) {
      const n = Math.max(m, 2 * this.scores.length);
      this.scores = new Float64Array(n);
      this.senderNorms = new Float64Array(n);
      this.senderWeight = new Float64Array(n);
    }
    if (this.senderAcc.length < m * d) this.senderAcc = new Float64Array(Math.max(m * d, 2 * this.senderAcc.length));
    if (this.receiverAcc.length < d) this.receiverAcc = new Float64Array(d);
  }
}

export interface CascadeLikelihood {
  /** Infected part: sum over j >= 1 of ln P_{u_j}. */
  infected: number;
  /** Never-infected part: negativeWeight * sum over the given negatives v and cascade users u of ln(1 - p(u -> v)). */
  escaped: number;
}

/**
 * Log-likelihood of one cascade (distinct users in infection order) with the never-infected users
 * `negatives` counted with weight `negativeWeight` (1 with every never-infected user; with a
 * uniform sample of k of the N never-infected users, N / k keeps the estimate unbiased). With
 * `grad`, adds the gradient of the returned total to it (the E-step posteriors q_i = p_i / P_v
 * computed on the fly, see the file comment).
 *
 * Written for speed, the per-pair work is one dot product and two multiply-adds of length d:
 * s(u, v) = z_v0 + ||z_v||^2 + ||w_u||^2 - 2 w_u . z_v, and with g = dLL/ds,
 *   dLL/dz_v = 2 (sum_u g) z_v - 2 sum_u g w_u,   dLL/dw_u = 2 (sum_v g) w_u - 2 sum_v g z_v,
 * accumulated per receiver and per cascade user and written to `grad` once.
 * `cascadeLogLikelihoodReference` is the plain per-pair form the tests compare it with.
 */
export function cascadeLogLikelihood(
  p: EmbeddedIcParameters,
  users: ArrayLike<number>,
  negatives: ArrayLike<number>,
  negativeWeight: number,
  grad?: EmbeddedIcGradient,
  scratch: LikelihoodScratch = new LikelihoodScratch(),
  parents: ParentRule = EVERY_EARLIER_USER,
): CascadeLikelihood {
  const m = users.length;
  const window = parents.window;
  const strict = parents.earlierFailed;
  const d = p.dimension;
  const w = p.senders;
  const z = p.receivers;
  const bias = p.receiverBias;
  scratch.ensure(m, d);
  const scores = scratch.scores;
  const sqW = scratch.senderNorms;
  const sAcc = scratch.senderAcc;
  const sWeight = scratch.senderWeight;
  const rAcc = scratch.receiverAcc;
  for (let i = 0; i < m; i++) {
    const a = users[i] * d;
    let n2 = 0;
    for (let k = 0; k < d; k++) n2 += w[a + k] * w[a + k];
    sqW[i] = n2;
  }
  if (grad) {
    sAcc.fill(0, 0, m * d);
    sWeight.fill(0, 0, m);
  }

  // One receiver v against senders u_from .. u_{count-1}: scores into `scores`, returns sum ln(1 - p).
  const scoreRow = (v: number, from: number, count: number): number => {
    const b = v * d;
    let sqZ = 0;
    for (let k = 0; k < d; k++) sqZ += z[b + k] * z[b + k];
    const base = bias[v] + sqZ;
    let logEscape = 0;
    for (let i = from; i < count; i++) {
      const a = users[i] * d;
      let dot = 0;
      for (let k = 0; k < d; k++) dot += w[a + k] * z[b + k];
      const s = base + sqW[i] - 2 * dot;
      scores[i] = s;
      logEscape -= softplus(-s); // ln(1 - p) = ln sigmoid(s)
    }
    return logEscape;
  };
  // Accumulates receiver v's gradient given g_i = dLL/ds(u_i, v) in `scores` (overwritten).
  const gradientRow = (v: number, from: number, count: number): void => {
    const b = v * d;
    rAcc.fill(0, 0, d);
    let gSum = 0;
    for (let i = from; i < count; i++) {
      const g = scores[i];
      if (g === 0) continue;
      gSum += g;
      sWeight[i] += g;
      const a = users[i] * d;
      const o = i * d;
      for (let k = 0; k < d; k++) {
        rAcc[k] += g * w[a + k];
        sAcc[o + k] += g * z[b + k];
      }
    }
    const gz = grad!.receivers;
    for (let k = 0; k < d; k++) gz[b + k] += 2 * (gSum * z[b + k] - rAcc[k]);
    grad!.receiverBias[v] += gSum;
  };

  let infected = 0;
  for (let j = 1; j < m; j++) {
    const v = users[j];
    // Candidate parents u_lo .. u_{j-1}; the users before them, if counted, all failed to infect v.
    const lo = window > 0 && j > window ? j - window : 0;
    const first = strict ? 0 : lo;
    const logEscapeAll = scoreRow(v, first, j);
    let logEscape = logEscapeAll;
    if (lo > first) {
      logEscape = 0;
      for (let i = lo; i < j; i++) logEscape -= softplus(-scores[i]);
      infected += logEscapeAll - logEscape; // sum over i < lo of ln(1 - p_i)
    }
    const pv = -Math.expm1(logEscape); // P_v = 1 - prod (1 - p_i), accurate when small
    infected += Math.log(pv);
    if (grad) {
      // d ln(1 - p_i) / ds_i = p_i for the users that failed.
      for (let i = first; i < lo; i++) scores[i] = sigmoid(-scores[i]);
      for (let i = lo; i < j; i++) {
        const pi = sigmoid(-scores[i]);
        // d ln P_v / ds_i = p_i - q_i, q_i = p_i / P_v the E-step posterior that u_i infected v.
        scores[i] = pi - pi / pv;
      }
      gradientRow(v, first, j);
    }
  }
  let escaped = 0;
  for (let n = 0; n < negatives.length; n++) {
    const v = negatives[n];
    escaped += scoreRow(v, 0, m);
    if (grad) {
      // d ln(1 - p) / ds = p.
      for (let i = 0; i < m; i++) scores[i] = negativeWeight * sigmoid(-scores[i]);
      gradientRow(v, 0, m);
    }
  }
  if (grad) {
    const gw = grad.senders;
    for (let i = 0; i < m; i++) {
      const a = users[i] * d;
      const o = i * d;
      const c = sWeight[i];
      for (let k = 0; k < d; k++) gw[a + k] += 2 * (c * w[a + k] - sAcc[o + k]);
    }
  }
  return { infected, escaped: negativeWeight * escaped };
}

/**
 * The same log-likelihood and gradient, pair by pair with the distance written out: the reference
 * the fast form is tested against.
 */
export function cascadeLogLikelihoodReference(
  p: EmbeddedIcParameters,
  users: ArrayLike<number>,
  negatives: ArrayLike<number>,
  negativeWeight: number,
  grad?: EmbeddedIcGradient,
  parents: ParentRule = EVERY_EARLIER_USER,
): CascadeLikelihood {
  const m = users.length;
  let infected = 0;
  for (let j = 1; j < m; j++) {
    const v = users[j];
    const lo = parents.window > 0 ? Math.max(0, j - parents.window) : 0;
    const s = Array.from({ length: j }, (_, i) => transmissionScore(p, users[i], v));
    const pv = 1 - s.slice(lo).reduce((prod, si) => prod * sigmoid(si), 1);
    infected += Math.log(pv);
    if (grad) s.forEach((si, i) => i >= lo && addScoreGradient(p, grad, users[i], v, sigmoid(-si) * (1 - 1 / pv)));
    if (parents.earlierFailed) {
      for (let i = 0; i < lo; i++) {
        infected += Math.log(sigmoid(s[i]));
        if (grad) addScoreGradient(p, grad, users[i], v, sigmoid(-s[i]));
      }
    }
  }
  let escaped = 0;
  for (let n = 0; n < negatives.length; n++) {
    for (let i = 0; i < m; i++) {
      const s = transmissionScore(p, users[i], negatives[n]);
      escaped += Math.log(sigmoid(s));
      if (grad) addScoreGradient(p, grad, users[i], negatives[n], negativeWeight * sigmoid(-s));
    }
  }
  return { infected, escaped: negativeWeight * escaped };
}

/**
 * Distinct users of a cascade in infection order (a repeated user keeps its first infection), real
 * users only.
 */
export function cascadeUsers(events: readonly { user: number }[]): Int32Array {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const e of events) {
    if (e.user >= RESERVED_USERS && !seen.has(e.user)) {
      seen.add(e.user);
      out.push(e.user);
    }
  }
  return Int32Array.from(out);
}

/**
 * The never-infected users of a cascade for its likelihood: all of them when `count` is 0 or at
 * least their number (weight 1), else `count` distinct ones drawn uniformly (weight N / count).
 * `stamp` / `mark` flag the cascade's users (a reusable Int32Array of numUsers).
 */
export function sampleNegatives(
  numUsers: number,
  users: Int32Array,
  count: number,
  rng: Rng,
  stamp: Int32Array,
  mark: number,
): { negatives: Int32Array; weight: number } {
  for (let i = 0; i < users.length; i++) stamp[users[i]] = mark;
  const available = numUsers - RESERVED_USERS - users.length;
  if (available <= 0) return { negatives: new Int32Array(0), weight: 1 };
  if (count === 0 || count >= available) {
    const all = new Int32Array(available);
    let n = 0;
    for (let v = RESERVED_USERS; v < numUsers; v++) if (stamp[v] !== mark) all[n++] = v;
    return { negatives: all, weight: 1 };
  }
  // Rejection sampling of distinct users outside the cascade; marking picks with -mark keeps them distinct.
  const picked = new Int32Array(count);
  let n = 0;
  while (n < count) {
    const v = RESERVED_USERS + rng.int(numUsers - RESERVED_USERS);
    if (stamp[v] === mark || stamp[v] === -mark) continue;
    stamp[v] = -mark;
    picked[n++] = v;
  }
  return { negatives: picked, weight: available / count };
}
