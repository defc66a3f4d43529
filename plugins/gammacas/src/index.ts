/**
 * @cascade-lab/plugin-gammacas: GammaCas (Dutta et al. 2021) for the macroscopic task.
 * `gammaCasModule` is the ContainerModule the runner loads; the rest is for tests, benchmarks and
 * code that wants the network directly.
 */
import { pluginModule } from '@cascade-lab/core';
import { gammaCasPlugin } from './plugin.js';

export { gammaCasPlugin, GammaCasModel, CHECKPOINT_FILE } from './plugin.js';
export { gammaCasHyperparameters, type GammaCasHyperparameters } from './hyperparameters.js';
export { GammaCasNetwork, integrateSizes, rateAtTimes, type GammaCasArchitecture, type IntegratorSettings, type ForwardOutput } from './model.js';
export { planDopri5, rk4Rule, applyRule, rateAt, type QuadratureRule, type Dopri5Options, type RateParameters } from './quadrature.js';
export { loadWordVectors, type WordVectorCoverage } from './word-vectors.js';

/** Binds the GammaCas plugin under TOKENS.ModelPlugin. */
export const gammaCasModule = pluginModule(gammaCasPlugin);
