import { CascadeError } from '@cascade-lab/core';

/**
 * Quadrature rules for the GammaCas size integral Y(P) = integral_0^P A t^gamma e^(-lambda t) dt
 * (GammaCas §3.7, Eq. 5).
 *
 * The right-hand side dY/dt = A t^gamma e^(-lambda t) does not depend on Y, so every Runge-Kutta
 * step is a weighted sum of rate values at fixed times: a sequence of steps is a quadrature rule
 * (nodes t_n, weights w[n, j] for horizon j), and Y_j = sum_n w[n, j] rate(t_n). Evaluating the
 * rate at all nodes at once is one small tensor op instead of a chain of four rate evaluations and
 * updates per step; the numbers are those of the step-by-step solver.
 *
 * - `rk4Rule`: classical fixed-step RK4 (the paper's integrator) with a fixed step in hours, each
 *   horizon integrated on its own. For a time-only rate each step is Simpson's rule:
 *   h/6 (f(t) + 4 f(t + h/2) + f(t + h)).
 * - `planDopri5`: adaptive Dormand-Prince 5(4), what the authors' code calls
 *   (`odeint(method='dopri5')`). The step sizes are chosen on plain numbers (the batch's current
 *   parameter values; one step sequence shared by the batch, error measured with the max norm);
 *   applying the rule to tensors then gives the gradients of back-propagating through the accepted
 *   steps with the step sizes treated as constants.
 */

/** A quadrature rule: `weights[n * horizons + j]` multiplies rate(nodes[n]) in the size at horizon j. */
export interface QuadratureRule {
  nodes: Float64Array;
  weights: Float64Array;
  horizons: number;
  /** Accepted and rejected steps taken. */
  acceptedSteps: number;
  rejectedSteps: number;
}

function checkHorizons(horizonsHours: number[]): { h: number; j: number }[] {
  if (horizonsHours.length === 0) throw new CascadeError('USAGE', 'at least one horizon is needed');
  for (const h of horizonsHours) if (!(h > 0) || !Number.isFinite(h)) throw new CascadeError('USAGE', `horizons must be finite and > 0 hours, got ${h}`);
  return horizonsHours.map((h, j) => ({ h, j })).sort((a, b) => a.h - b.h);
}

/** Accumulates step weights per node, for one horizon at a time or by snapshots of a running sum. */
class RuleBuilder {
  private readonly nodeIndex = new Map<number, number>();
  private readonly nodes: number[] = [];
  private readonly running: number[] = [];
  private readonly columns: { j: number; weights: number[] }[] = [];

  add(t: number, w: number): void {
    let n = this.nodeIndex.get(t);
    if (n === undefined) {
      n = this.nodes.length;
      this.nodeIndex.set(t, n);
      this.nodes.push(t);
      this.running.push(0);
    }
    this.running[n] += w;
  }

  /** The running weights so far are horizon j's. */
  snapshot(j: number): void {
    this.columns.push({ j, weights: this.running.slice() });
  }

  /** The running weights are horizon j's; start again from zero for the next horizon. */
  finishColumn(j: number): void {
    this.snapshot(j);
    this.running.fill(0);
  }

  build(horizons: number, acceptedSteps: number, rejectedSteps: number): QuadratureRule {
    const weights = new Float64Array(this.nodes.length * horizons);
    for (const col of this.columns) for (let n = 0; n < col.weights.length; n++) weights[n * horizons + col.j] = col.weights[n];
    return { nodes: Float64Array.from(this.nodes), weights, horizons, acceptedSteps, rejectedSteps };
  }
}

/**
 * Fixed-step RK4 from 0 to each horizon (hours, any order) with steps of `stepHours`: the steps of
 * the grid 0, h, 2h, ... below the horizon, then one shorter step to the horizon itself. Each horizon
 * is integrated on its own, so a size does not depend on which other horizons are asked for (the
 * model predicts the same 24 h size whether or not 360 h is requested too).
 */
export function rk4Rule(horizonsHours: number[], stepHours: number): QuadratureRule {
  checkHorizons(horizonsHours);
  if (!(stepHours > 0) || !Number.isFinite(stepHours)) throw new CascadeError('USAGE', `RK4 needs a step > 0 hours, got ${stepHours}`);
  const rule = new RuleBuilder();
  let taken = 0;
  horizonsHours.forEach((target, j) => {
    // Whole steps below the horizon (a horizon on the grid, up to rounding, ends a whole step).
    const whole = Math.floor(target / stepHours + 1e-9);
    for (let k = 0; k < whole; k++) {
      rule.add(k * stepHours, stepHours / 6);
      rule.add((k + 0.5) * stepHours, (4 * stepHours) / 6);
      rule.add((k + 1) * stepHours, stepHours / 6);
    }
    const start = whole * stepHours;
    const rest = target - start;
    if (rest > 1e-9 * stepHours) {
      rule.add(start, rest / 6);
      rule.add(start + rest / 2, (4 * rest) / 6);
      rule.add(target, rest / 6);
    }
    taken += whole + (rest > 1e-9 * stepHours ? 1 : 0);
    rule.finishColumn(j);
  });
  return rule.build(horizonsHours.length, taken, 0);
}

// Dormand & Prince (1980) 5(4) tableau.
/** Nodes c_1..c_6 (c_7 = 1: the FSAL stage, equal to stage 6 for a time-only rate). */
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1];
/** 5th-order weights b_1..b_6 (b_7 = 0). */
const B5 = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84];
/** Embedded 4th-order weights b*_1..b*_7. */
const B4 = [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40];
/** Error weights e_i = b_i - b*_i, with stage 7 (= stage 6 for a time-only rate) folded into e_6. */
const E = [B5[0] - B4[0], 0, B5[2] - B4[2], B5[3] - B4[3], B5[4] - B4[4], B5[5] - B4[5] - B4[6]];

/** The batch's rate parameters (pooled A, gamma, lambda per cascade), as numbers. */
export interface RateParameters {
  A: ArrayLike<number>;
  gamma: ArrayLike<number>;
  lambda: ArrayLike<number>;
}

export interface Dopri5Options {
  relativeTolerance: number;
  absoluteTolerance: number;
  maxSteps: number;
}

/** A t^gamma e^(-lambda t) in float64; 0 at t = 0 (gamma > 0 for softplus outputs). */
export function rateAt(A: number, gamma: number, lambda: number, t: number): number {
  if (t <= 0) return gamma > 0 ? 0 : A;
  return A * Math.exp(gamma * Math.log(t) - lambda * t);
}

/**
 * Chooses Dormand-Prince steps from 0 to every horizon (hours, any order, each > 0) for the batch
 * `params` and returns them as a quadrature rule.
 */
export function planDopri5(params: RateParameters, horizonsHours: number[], options: Dopri5Options): QuadratureRule {
  const order = checkHorizons(horizonsHours);
  const batch = params.A.length;
  const H = horizonsHours.length;
  const rule = new RuleBuilder();

  const y = new Float64Array(batch);
  const yNew = new Float64Array(batch);
  const k = Array.from({ length: 6 }, () => new Float64Array(batch));
  let t = 0;
  let h = 0.01 * order[0].h;
  let accepted = 0;
  let rejected = 0;
  let next = 0;
  while (next < H) {
    if (accepted + rejected >= options.maxSteps) {
      throw new CascadeError('MODEL', `Dormand-Prince needed more than ${options.maxSteps} steps to reach ${order[next].h} h (at t = ${t.toPrecision(4)} h)`, {
        hint: 'raise dopri5MaxSteps or the tolerances, or use integrator: rk4 / closed-form',
      });
    }
    const target = order[next].h;
    const hitsTarget = t + h >= target * (1 - 1e-12);
    const step = hitsTarget ? target - t : h;
    for (let s = 0; s < 6; s++) {
      const ts = t + C[s] * step;
      for (let b = 0; b < batch; b++) k[s][b] = rateAt(params.A[b], params.gamma[b], params.lambda[b], ts);
    }
    let errNorm = 0;
    for (let b = 0; b < batch; b++) {
      let incr = 0;
      let err = 0;
      for (let s = 0; s < 6; s++) {
        incr += B5[s] * k[s][b];
        err += E[s] * k[s][b];
      }
      yNew[b] = y[b] + step * incr;
      const scale = options.absoluteTolerance + options.relativeTolerance * Math.max(Math.abs(y[b]), Math.abs(yNew[b]));
      const ratio = Math.abs(step * err) / scale;
      if (!(ratio <= errNorm)) errNorm = ratio; // also propagates NaN
    }
    if (!Number.isFinite(errNorm)) {
      throw new CascadeError('MODEL', `Dormand-Prince: the rate is not finite on [${t}, ${t + step}] h (parameters overflow)`);
    }
    if (errNorm <= 1) {
      for (let s = 0; s < 6; s++) if (B5[s] !== 0) rule.add(hitsTarget && C[s] === 1 ? target : t + C[s] * step, step * B5[s]);
      y.set(yNew);
      t = hitsTarget ? target : t + step;
      accepted++;
      while (next < H && order[next].h <= t) {
        rule.snapshot(order[next].j);
        next++;
      }
    } else {
      rejected++;
    }
    // Standard step-size controller (Hairer, Norsett & Wanner I, §II.4), order 5.
    const factor = errNorm === 0 ? 10 : Math.min(10, Math.max(0.2, 0.9 * Math.pow(errNorm, -1 / 5)));
    const proposed = step * factor;
    // A step shortened to land on a horizon says little about the step size the rate allows.
    h = errNorm <= 1 && hitsTarget ? Math.max(h, proposed) : proposed;
  }
  return rule.build(H, accepted, rejected);
}

/** Applies a rule to the rate values of one cascade (for tests and float64 reference values). */
export function applyRule(rule: QuadratureRule, rate: (t: number) => number): Float64Array {
  const out = new Float64Array(rule.horizons);
  for (let n = 0; n < rule.nodes.length; n++) {
    const f = rate(rule.nodes[n]);
    for (let j = 0; j < rule.horizons; j++) out[j] += rule.weights[n * rule.horizons + j] * f;
  }
  return out;
}
