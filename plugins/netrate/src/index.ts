import { pluginModule } from '@cascade-lab/core';
import { netratePlugin } from './plugin.js';

export { netratePlugin, netrateHyperparameters, type NetrateHyperparameters } from './plugin.js';
export { fitNetRate, type FitOptions, type FittedRates } from './fit.js';
export { observeCascades, LikelihoodBuilder, targetNegLogLikelihood, type ObservedCascade, type TargetProblem, type ObservationOptions } from './likelihood.js';
export { solveTarget, DEFAULT_SOLVER_OPTIONS, type SolverOptions, type SolveResult, type ConvexProblem } from './solver.js';

/** The inversify module the runner loads (apps/experiment-runner/src/plugin-modules.ts). */
export const netrateModule = pluginModule(netratePlugin);
