/**
 * Fitting NetRate: one convex problem per target user (likelihood.ts), each solved exactly
 * (solver.ts); the rates of all targets form the network.
 */
import { RESERVED_USERS, throwIfCancelled, type Cascade, type ProgressReporter } from '@cascade-lab/core';
import { delayKindIndex, type DelayDistribution } from '@cascade-lab/simulation';
import { LikelihoodBuilder, observeCascades, type ObservationOptions } from './likelihood.js';
import { DEFAULT_SOLVER_OPTIONS, solveTarget, type SolverOptions } from './solver.js';

export interface FitOptions extends ObservationOptions {
  delay: DelayDistribution;
  powerLawMinDelay: number;
  solver?: Partial<SolverOptions>;
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

export interface FittedRates {
  sources: Int32Array;
  targets: Int32Array;
  rates: Float64Array;
  /** Total negative log-likelihood (sum of the targets' optima). */
  negLogLikelihood: number;
  /** Candidate pairs (j precedes i somewhere) over all targets. */
  candidatePairs: number;
  /** Targets whose free set was too large for the Newton polish (solved by EM alone). */
  emOnlyTargets: number;
  /** Largest KKT residual over the targets. */
  kktResidual: number;
  cascadesUsed: number;
}

/** Maximum-likelihood rates alpha_{j,i} >= 0 of every pair; only positive rates are returned. */
export function fitNetRate(cascades: readonly Cascade[], numUsers: number, options: FitOptions): FittedRates {
  const solver = { ...DEFAULT_SOLVER_OPTIONS, ...options.solver };
  const observed = observeCascades(cascades, options, 2);
  const builder = new LikelihoodBuilder(observed, numUsers, delayKindIndex(options.delay), options.powerLawMinDelay);
  const sources: number[] = [];
  const targets: number[] = [];
  const rates: number[] = [];
  let nll = 0;
  let pairs = 0;
  let emOnly = 0;
  let kkt = 0;
  const task = options.progress?.start('netrate: solving per target', Math.max(0, numUsers - RESERVED_USERS));
  for (let i = RESERVED_USERS; i < numUsers; i++) {
    throwIfCancelled(options.signal);
    const p = builder.problem(i, options.signal);
    pairs += p.candidates.length;
    const r = solveTarget(p, solver);
    nll += r.negLogLikelihood;
    if (r.newtonSkipped) emOnly++;
    kkt = Math.max(kkt, r.kktResidual);
    for (let n = 0; n < p.candidates.length; n++) {
      if (r.rates[n] > 0) {
        sources.push(p.candidates[n]);
        targets.push(i);
        rates.push(r.rates[n]);
      }
    }
    task?.tick();
  }
  task?.done();
  return {
    sources: Int32Array.from(sources),
    targets: Int32Array.from(targets),
    rates: Float64Array.from(rates),
    negLogLikelihood: nll,
    candidatePairs: pairs,
    emOnlyTargets: emOnly,
    kktResidual: kkt,
    cascadesUsed: observed.length,
  };
}
