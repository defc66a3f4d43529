/**
 * The solver of one target's convex problem f(a) = sum_j a_j B_j - sum_r log(s_r), s_r = sum_j a_j h_rj,
 * over a >= 0 (likelihood.ts). Two phases:
 *
 * 1. Minorise-maximise (EM) updates a_j <- a_j * (sum_r h_rj / s_r) / B_j. With responsibilities a_j h_rj / s_r (the posterior
 *    that j infected the target in cascade r), Jensen's inequality bounds -log s_r from above by a
 *    separable function touching it at the current a; its minimiser is this update, so f never
 *    increases and every rate stays positive from a positive start (the EM view of the
 *    continuous-time cascade; rates the data cannot support shrink towards 0 geometrically).
 * 2. Projected Newton (Bertsekas 1982, "Projected Newton methods for optimization problems with
 *    simple constraints"): rates at (near) 0 whose gradient is positive are held at 0, the rest take
 *    a Newton step on the exact Hessian sum_r h_r h_r^T / s_r^2, projected back onto a >= 0 with an
 *    Armijo backtracking search. It converges quadratically once the active set is right, which
 *    turns EM's slow tail into a few steps and makes zero rates exactly zero.
 */

export interface SolverOptions {
  /** Most EM (minorise-maximise) updates before the Newton polish. */
  emIterations: number;
  /** EM stops early when an update lowers f by less than this, relative to |f|. */
  emTolerance: number;
  /** Most projected Newton steps. */
  newtonIterations: number;
  /** Newton stops when its predicted decrease is below this, relative to max(1, |f|). */
  newtonTolerance: number;
  /** Largest free set solved with a dense Newton system; larger problems continue with EM only. */
  maxNewtonSize: number;
}

export const DEFAULT_SOLVER_OPTIONS: SolverOptions = {
  emIterations: 200,
  emTolerance: 1e-9,
  newtonIterations: 100,
  newtonTolerance: 1e-20,
  maxNewtonSize: 2000,
};

/** The sparse problem the solver reads (a subset of likelihood.ts' TargetProblem). */
export interface ConvexProblem {
  linear: Float64Array;
  rowOffsets: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

export interface SolveResult {
  /** Optimal rates, one per candidate. */
  rates: Float64Array;
  /** f at the optimum. */
  negLogLikelihood: number;
  emIterations: number;
  newtonIterations: number;
  /** Largest projected-gradient component at the end (KKT residual). */
  kktResidual: number;
  /** True when the free set exceeded `maxNewtonSize` and the result is EM's alone. */
  newtonSkipped: boolean;
}

/** Smallest coefficient a survival term may have (a zero one would make the rate unbounded). */
const MIN_LINEAR = 1e-300;

function rowSums(p: ConvexProblem, a: Float64Array, s: Float64Array): boolean {
  const rows = s.length;
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let e = p.rowOffsets[r]; e < p.rowOffsets[r + 1]; e++) acc += a[p.cols[e]] * p.vals[e];
    if (!(acc > 0)) return false;
    s[r] = acc;
  }
  return true;
}

function objective(p: ConvexProblem, a: Float64Array, s: Float64Array): number {
  if (!rowSums(p, a, s)) return Infinity;
  let f = 0;
  for (let j = 0; j < a.length; j++) f += a[j] * p.linear[j];
  for (let r = 0; r < s.length; r++) f -= Math.log(s[r]);
  return f;
}

/** g_j = B_j - sum_r h_rj / s_r, with s already computed for a. */
function gradient(p: ConvexProblem, s: Float64Array, g: Float64Array): void {
  g.set(p.linear);
  for (let r = 0; r < s.length; r++) {
    const inv = 1 / s[r];
    for (let e = p.rowOffsets[r]; e < p.rowOffsets[r + 1]; e++) g[p.cols[e]] -= p.vals[e] * inv;
  }
}

/** Solves a dense SPD system in place by Cholesky (lower triangle of m, row-major n x n); false if not positive definite. */
function choleskySolve(m: Float64Array, n: number, b: Float64Array): boolean {
  for (let j = 0; j < n; j++) {
    let d = m[j * n + j];
    for (let k = 0; k < j; k++) d -= m[j * n + k] * m[j * n + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    m[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let v = m[i * n + j];
      const ri = i * n;
      const rj = j * n;
      for (let k = 0; k < j; k++) v -= m[ri + k] * m[rj + k];
      m[ri + j] = v / ljj;
    }
  }
  for (let i = 0; i < n; i++) {
    let v = b[i];
    for (let k = 0; k < i; k++) v -= m[i * n + k] * b[k];
    b[i] = v / m[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let v = b[i];
    for (let k = i + 1; k < n; k++) v -= m[k * n + i] * b[k];
    b[i] = v / m[i * n + i];
  }
  return true;
}

/** Minimises f over a >= 0. `start` (positive) defaults to one EM step from equal responsibilities. */
export function solveTarget(p: ConvexProblem, options: SolverOptions = DEFAULT_SOLVER_OPTIONS, start?: Float64Array): SolveResult {
  const k = p.linear.length;
  const rows = p.rowOffsets.length - 1;
  const B = Float64Array.from(p.linear, (b) => Math.max(b, MIN_LINEAR));
  const q: ConvexProblem = { linear: B, rowOffsets: p.rowOffsets, cols: p.cols, vals: p.vals };
  const a = new Float64Array(k);
  if (rows === 0) return { rates: a, negLogLikelihood: 0, emIterations: 0, newtonIterations: 0, kktResidual: 0, newtonSkipped: false };
  if (start) a.set(start);
  else {
    // Each log term's unit mass split equally among its possible parents, divided by B_j.
    for (let r = 0; r < rows; r++) {
      const n = p.rowOffsets[r + 1] - p.rowOffsets[r];
      for (let e = p.rowOffsets[r]; e < p.rowOffsets[r + 1]; e++) a[p.cols[e]] += 1 / n;
    }
    for (let j = 0; j < k; j++) a[j] /= B[j];
  }
  const s = new Float64Array(rows);
  const g = new Float64Array(k);
  let f = objective(q, a, s);
  if (!Number.isFinite(f)) throw new RangeError('netrate solver: the starting rates give a log term of a non-positive sum');

  // Phase 1: EM.
  let em = 0;
  const num = new Float64Array(k);
  for (; em < options.emIterations; em++) {
    num.fill(0);
    for (let r = 0; r < rows; r++) {
      const inv = 1 / s[r];
      for (let e = p.rowOffsets[r]; e < p.rowOffsets[r + 1]; e++) num[p.cols[e]] += p.vals[e] * inv;
    }
    for (let j = 0; j < k; j++) a[j] = (a[j] * num[j]) / B[j];
    const next = objective(q, a, s);
    const drop = f - next;
    f = next;
    if (drop <= options.emTolerance * Math.max(1, Math.abs(f))) {
      em++;
      break;
    }
  }

  // Phase 2: projected Newton.
  let newton = 0;
  let newtonSkipped = false;
  let exactSteps = 0;
  const trial = new Float64Array(k);
  const sTrial = new Float64Array(rows);
  const free = new Int32Array(k);
  const where = new Int32Array(k);
  const d = new Float64Array(k);
  for (; newton < options.newtonIterations; newton++) {
    gradient(q, s, g);
    // epsilon of Bertsekas' binding set: shrinks with the distance to stationarity.
    let w = 0;
    for (let j = 0; j < k; j++) w += (a[j] - Math.max(0, a[j] - g[j])) ** 2;
    const eps = Math.min(1e-3, Math.sqrt(w));
    let nFree = 0;
    where.fill(-1);
    for (let j = 0; j < k; j++) {
      if (a[j] <= eps && g[j] > 0) continue;
      where[j] = nFree;
      free[nFree++] = j;
    }
    if (nFree > options.maxNewtonSize) {
      newtonSkipped = true;
      break;
    }
    // Hessian on the free set (lower triangle), and its diagonal for the binding ones.
    const H = new Float64Array(nFree * nFree);
    const diag = new Float64Array(k);
    for (let r = 0; r < rows; r++) {
      const inv2 = 1 / (s[r] * s[r]);
      for (let e1 = p.rowOffsets[r]; e1 < p.rowOffsets[r + 1]; e1++) {
        const j1 = p.cols[e1];
        const v1 = p.vals[e1] * inv2;
        diag[j1] += p.vals[e1] * v1;
        const f1 = where[j1];
        if (f1 < 0) continue;
        for (let e2 = p.rowOffsets[r]; e2 < p.rowOffsets[r + 1]; e2++) {
          const f2 = where[p.cols[e2]];
          if (f2 < 0 || f2 > f1) continue;
          H[f1 * nFree + f2] += v1 * p.vals[e2];
        }
      }
    }
    const rhs = new Float64Array(nFree);
    for (let n = 0; n < nFree; n++) rhs[n] = -g[free[n]];
    // A free rate without any log term has a zero Hessian row: a tiny ridge keeps the system solvable
    // (such a rate has g = B > 0 and goes to the bound).
    let maxDiag = 0;
    for (let n = 0; n < nFree; n++) maxDiag = Math.max(maxDiag, H[n * nFree + n]);
    let ridge = 1e-14 * Math.max(maxDiag, 1e-300);
    let solved = false;
    for (let attempt = 0; attempt < 12 && !solved; attempt++, ridge *= 100) {
      const m = H.slice();
      for (let n = 0; n < nFree; n++) m[n * nFree + n] += ridge;
      const b = rhs.slice();
      if (choleskySolve(m, nFree, b)) {
        d.fill(0);
        for (let n = 0; n < nFree; n++) d[free[n]] = b[n];
        solved = true;
      }
    }
    if (!solved) break;
    for (let j = 0; j < k; j++) if (where[j] < 0) d[j] = -g[j] / Math.max(diag[j], 1e-300);
    // Predicted decrease of the free part (Newton decrement / 2); stop when negligible.
    let decrement = 0;
    for (let n = 0; n < nFree; n++) decrement -= g[free[n]] * d[free[n]];
    let bound = 0;
    for (let j = 0; j < k; j++) if (where[j] < 0) bound += a[j] * g[j];
    if (decrement / 2 + bound <= options.newtonTolerance * Math.max(1, Math.abs(f))) {
      // Land exactly on the bound for the binding rates.
      if (bound > 0) {
        for (let j = 0; j < k; j++) trial[j] = where[j] < 0 ? 0 : a[j];
        const ft = objective(q, trial, sTrial);
        if (ft <= f) {
          a.set(trial);
          s.set(sTrial);
          f = ft;
        }
      }
      break;
    }
    // Below the objective's floating-point resolution the line search cannot see a decrease: in
    // that quadratic region take the projected Newton step itself, a few times at most.
    if (decrement / 2 < 1e-11 * Math.max(1, Math.abs(f))) {
      if (++exactSteps > 3) break;
      for (let j = 0; j < k; j++) trial[j] = Math.max(0, a[j] + d[j]);
      const ft = objective(q, trial, sTrial);
      if (!Number.isFinite(ft)) break;
      a.set(trial);
      s.set(sTrial);
      f = ft;
      continue;
    }
    let beta = 1;
    let accepted = false;
    for (let ls = 0; ls < 60; ls++, beta *= 0.5) {
      let lin = 0;
      for (let j = 0; j < k; j++) {
        trial[j] = Math.max(0, a[j] + beta * d[j]);
        lin += g[j] * (trial[j] - a[j]);
      }
      const ft = objective(q, trial, sTrial);
      if (ft <= f + 1e-4 * lin) {
        a.set(trial);
        s.set(sTrial);
        accepted = ft < f || lin === 0;
        f = ft;
        break;
      }
    }
    if (!accepted) break;
  }
  gradient(q, s, g);
  let kkt = 0;
  for (let j = 0; j < k; j++) kkt = Math.max(kkt, Math.abs(a[j] - Math.max(0, a[j] - g[j])));
  // f with the original (unclamped) linear coefficients.
  let fOut = 0;
  for (let j = 0; j < k; j++) fOut += a[j] * p.linear[j];
  for (let r = 0; r < rows; r++) fOut -= Math.log(s[r]);
  return { rates: a, negLogLikelihood: fOut, emIterations: em, newtonIterations: newton, kktResidual: kkt, newtonSkipped };
}
