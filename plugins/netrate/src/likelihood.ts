/**
 * NetRate's survival likelihood (Gomez-Rodriguez, Balduzzi, Schölkopf, ICML 2011, §3, Eq. 5-7),
 * split into one problem per target user (§4: the problem decouples over the columns of the rate
 * matrix).
 *
 * A cascade c is observed up to its end T_c. For a target i infected at t_i (not the cascade's first
 * user) the cascade contributes
 *     - sum_{j: t_j < t_i} alpha_ji Psi(t_i - t_j) + log sum_{j: t_j < t_i} alpha_ji H(t_i - t_j)
 * and for a target i not infected by T_c
 *     - sum_{j infected} alpha_ji Psi(T_c - t_j),
 * with Psi the cumulative hazard and H the hazard of the delay model per unit rate (simulation
 * package, `unitCumulativeHazard` / `unitHazard`). Users infected after i (or at the same time) tell
 * nothing about alpha_ji. The negative log-likelihood of target i is therefore
 *     f_i(a) = sum_j a_j B_j - sum_r log(sum_j a_j h_rj),
 * convex in a >= 0: a linear survival part B and one log term per cascade r in which i was infected
 * with at least one possible parent. Users j that never precede i anywhere have no log term, so
 * their optimal rate is 0: only users preceding i somewhere are candidates (exact, not a heuristic).
 */
import { throwIfCancelled, type Cascade } from '@cascade-lab/core';
import { unitCumulativeHazard, unitHazard } from '@cascade-lab/simulation';

/** A cascade as the likelihood sees it: users and times up to its observation end, in time order. */
export interface ObservedCascade {
  users: Int32Array;
  times: Float64Array;
  /** Observation end T_c (>= every time). */
  end: number;
}

/** How long each cascade is observed. */
export interface ObservationOptions {
  /**
   * Observe each cascade for this long after its first infection (the dataset's time unit); events
   * after that are dropped. Undefined: up to the cascade's `observationEnd` (set by the data loader
   * from the dataset's `observation` config), or its last infection.
   */
  window?: number;
}

/**
 * Cascades cut to their observation ends. Each keeps its first occurrence of a user (a user is
 * infected once); cascades with fewer than `minUsers` users left are dropped (they carry no
 * transmission).
 */
export function observeCascades(cascades: readonly Cascade[], options: ObservationOptions = {}, minUsers = 1): ObservedCascade[] {
  const out: ObservedCascade[] = [];
  for (const c of cascades) {
    if (c.events.length === 0) continue;
    const t0 = c.events[0].time;
    const end = options.window !== undefined ? t0 + options.window : (c.observationEnd ?? c.events[c.events.length - 1].time);
    const users: number[] = [];
    const times: number[] = [];
    const seen = new Set<number>();
    for (const e of c.events) {
      if (e.time > end) break;
      if (seen.has(e.user)) continue;
      seen.add(e.user);
      users.push(e.user);
      times.push(e.time);
    }
    if (users.length < minUsers) continue;
    out.push({ users: Int32Array.from(users), times: Float64Array.from(times), end: Math.max(end, times[times.length - 1]) });
  }
  return out;
}

/** The convex problem of one target user (see the module comment). */
export interface TargetProblem {
  target: number;
  /** Candidate parents (user indices), ascending. */
  candidates: Int32Array;
  /** B_j: survival (linear) coefficient of each candidate. */
  linear: Float64Array;
  /** Log terms as sparse rows over candidate positions: row r is cols/vals[rowOffsets[r] .. rowOffsets[r+1]). */
  rowOffsets: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

/**
 * Builds the per-target problems of a set of observed cascades, one target at a time (so a large
 * dataset never holds every problem at once). `kind` indexes DELAY_DISTRIBUTIONS.
 */
export class LikelihoodBuilder {
  /** For each user, the (cascade, position) pairs where it occurs. */
  private readonly occurrences: Int32Array[];
  /** A_j = sum over cascades containing j of Psi(T_c - t_j): j's survival terms if nobody else were infected after it. */
  private readonly exposure: Float64Array;
  private readonly correction: Float64Array;
  private readonly stamp: Int32Array;
  private readonly isCandidate: Int32Array;
  private mark = 0;

  constructor(
    readonly cascades: readonly ObservedCascade[],
    readonly numUsers: number,
    readonly kind: number,
    readonly minDelay: number,
  ) {
    const counts = new Int32Array(numUsers);
    for (const c of cascades) for (const u of c.users) counts[u]++;
    this.occurrences = Array.from(counts, (n) => new Int32Array(2 * n));
    const fill = new Int32Array(numUsers);
    this.exposure = new Float64Array(numUsers);
    cascades.forEach((c, ci) => {
      for (let p = 0; p < c.users.length; p++) {
        const u = c.users[p];
        this.occurrences[u][fill[u]++] = ci;
        this.occurrences[u][fill[u]++] = p;
        this.exposure[u] += unitCumulativeHazard(kind, c.end - c.times[p], minDelay);
      }
    });
    this.correction = new Float64Array(numUsers);
    this.stamp = new Int32Array(numUsers);
    this.isCandidate = new Int32Array(numUsers);
  }

  /** Number of cascades in which `user` is infected after someone else (its log terms, at most). */
  infectionsOf(user: number): number {
    const occ = this.occurrences[user];
    let n = 0;
    for (let k = 0; k < occ.length; k += 2) if (occ[k + 1] > 0) n++;
    return n;
  }

  /** The problem of target `i`. */
  problem(i: number, signal?: AbortSignal): TargetProblem {
    throwIfCancelled(signal);
    const { kind, minDelay, correction, stamp, isCandidate } = this;
    const mark = ++this.mark;
    const touched: number[] = [];
    const rows: { cols: number[]; vals: number[] }[] = [];
    const occ = this.occurrences[i];
    for (let k = 0; k < occ.length; k += 2) {
      const c = this.cascades[occ[k]];
      const p = occ[k + 1];
      const ti = c.times[p];
      const cols: number[] = [];
      const vals: number[] = [];
      for (let q = 0; q < c.users.length; q++) {
        if (q === p) continue;
        const j = c.users[q];
        const tj = c.times[q];
        if (stamp[j] !== mark) {
          stamp[j] = mark;
          correction[j] = 0;
          isCandidate[j] = 0;
          touched.push(j);
        }
        // Replace j's survival term "i not infected by T_c" by "i infected at t_i" (0 when j is not earlier).
        correction[j] += unitCumulativeHazard(kind, ti - tj, minDelay) - unitCumulativeHazard(kind, c.end - tj, minDelay);
        if (tj < ti) {
          isCandidate[j] = 1;
          const h = unitHazard(kind, ti - tj, minDelay);
          if (h > 0) {
            cols.push(j);
            vals.push(h);
          }
        }
      }
      // A cascade whose earlier users all have zero hazard (e.g. power-law delays below delta) has i
      // infected from outside the network: no log term (it would be log 0 for every rate).
      if (cols.length > 0) rows.push({ cols, vals });
    }
    const candidates = Int32Array.from(touched.filter((j) => isCandidate[j] === 1)).sort();
    const local = new Map<number, number>();
    candidates.forEach((j, n) => local.set(j, n));
    const linear = Float64Array.from(candidates, (j) => Math.max(0, this.exposure[j] + correction[j]));
    const rowOffsets = new Int32Array(rows.length + 1);
    rows.forEach((r, n) => (rowOffsets[n + 1] = rowOffsets[n] + r.cols.length));
    const cols = new Int32Array(rowOffsets[rows.length]);
    const vals = new Float64Array(rowOffsets[rows.length]);
    let e = 0;
    for (const r of rows) {
      for (let n = 0; n < r.cols.length; n++) {
        cols[e] = local.get(r.cols[n])!;
        vals[e++] = r.vals[n];
      }
    }
    return { target: i, candidates, linear, rowOffsets, cols, vals };
  }
}

/** f_i(a) of a problem (Infinity when a log term's argument is not positive). */
export function targetNegLogLikelihood(p: TargetProblem, a: ArrayLike<number>): number {
  let f = 0;
  for (let j = 0; j < p.linear.length; j++) f += a[j] * p.linear[j];
  const rows = p.rowOffsets.length - 1;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let e = p.rowOffsets[r]; e < p.rowOffsets[r + 1]; e++) s += a[p.cols[e]] * p.vals[e];
    if (!(s > 0)) return Infinity;
    f -= Math.log(s);
  }
  return f;
}
