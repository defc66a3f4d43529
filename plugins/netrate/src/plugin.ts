import { type MicroscopicDataset, type MicroscopicPlugin } from '@cascade-lab/core';
import { DELAY_DISTRIBUTIONS, RateNetworkModel, rateNetworkFormat, simulationPoolFor } from '@cascade-lab/simulation';
import { z } from 'zod';
import { fitNetRate } from './fit.js';

/** The saved model: core's model.json with this format tag and version (`load` refuses anything else). */
export const SAVED = rateNetworkFormat('cascade-lab/netrate', 1);

/** Every knob with its default and a description (`cascade plugins` prints them). */
export const netrateHyperparameters = z.strictObject({
  delay: z.enum(DELAY_DISTRIBUTIONS).default('exponential').describe('transmission delay model (NetRate §2): exponential (the NDM paper\'s choice), power-law or rayleigh'),
  powerLawMinDelay: z.number().positive().default(1).describe("delta of the power-law delay: the shortest possible delay, in the dataset's time unit"),
  simulationHorizon: z.number().positive().optional().describe("prediction: simulations add no infection later than this after the seed (dataset's time unit); absent: only the budget stops them"),
  useValidation: z.boolean().default(true).describe('fit on the validation cascades too (maximum likelihood has nothing to tune on them)'),
  emIterations: z.number().int().min(0).default(200).describe('most minorise-maximise (EM) updates per target before the projected Newton polish'),
  newtonIterations: z.number().int().min(0).default(100).describe('most projected Newton steps per target'),
  maxNewtonSize: z.number().int().positive().default(2000).describe('largest set of free rates of one target solved by Newton steps (dense system); larger ones stop after EM'),
});
export type NetrateHyperparameters = z.output<typeof netrateHyperparameters>;

export const netratePlugin: MicroscopicPlugin<NetrateHyperparameters> = {
  name: 'netrate',
  task: 'microscopic',
  description: 'NetRate (Gomez-Rodriguez et al., ICML 2011): maximum-likelihood pairwise transmission rates under the continuous-time independent cascade model; predicts by continuous-time simulation.',
  reference: 'M. Gomez-Rodriguez, D. Balduzzi, B. Schölkopf. Uncovering the temporal dynamics of diffusion networks. ICML 2011.',
  hyperparameters: netrateHyperparameters,
  // Infection times drive the likelihood; each cascade's observation end comes from the dataset's
  // `observation` config (undefined: its last infection).
  dataNeeds: ['eventTimes'],
  metrics: [
    { key: 'model.negLogLikelihood', label: 'negative log-likelihood', unit: 'loss', direction: 'none', description: 'NetRate objective at the fitted rates, summed over training cascades (survival terms included).' },
    { key: 'model.edges', label: 'edges with a positive rate', unit: 'count', direction: 'none', description: 'Pairs (j, i) with a fitted rate above zero.' },
    { key: 'model.candidatePairs', label: 'candidate pairs', unit: 'count', direction: 'none', description: 'Pairs (j, i) where j precedes i in some training cascade (the only rates that can be non-zero).' },
    { key: 'model.kktResidual', label: 'KKT residual', unit: 'value', direction: 'lower', description: 'Largest violation of the optimality (KKT) conditions at the returned rates: how close the solver got to the exact optimum.' },
  ],

  async train(data: MicroscopicDataset, hp, context) {
    const cascades = hp.useValidation ? [...data.train, ...data.validation] : data.train;
    const started = performance.now();
    const fit = fitNetRate(cascades, data.users.size, {
      delay: hp.delay,
      powerLawMinDelay: hp.powerLawMinDelay,
      solver: { emIterations: hp.emIterations, newtonIterations: hp.newtonIterations, maxNewtonSize: hp.maxNewtonSize },
      progress: context.progress,
      signal: context.signal,
    });
    const seconds = (performance.now() - started) / 1000;
    const summary = { negLogLikelihood: fit.negLogLikelihood, edges: fit.rates.length, candidatePairs: fit.candidatePairs, kktResidual: fit.kktResidual };
    // The runner logs summaryMetrics() as model.<key> (edges, negative log-likelihood, ...).
    context.metrics.logMetric('train.seconds', seconds);
    context.logger.info(
      `netrate: ${fit.rates.length} edges with a positive rate among ${fit.candidatePairs} candidate pairs from ${fit.cascadesUsed} cascades (rates per ${data.timeUnit === 'unknown' ? 'time unit' : data.timeUnit.replace(/s$/, '')}); negative log-likelihood ${fit.negLogLikelihood.toFixed(4)}; ${seconds.toFixed(1)} s` +
        (fit.emOnlyTargets > 0 ? `; ${fit.emOnlyTargets} targets too large for Newton steps (EM only)` : ''),
    );
    return new RateNetworkModel(data.users.size, fit.sources, fit.targets, fit.rates, { delay: hp.delay, powerLawMinDelay: hp.powerLawMinDelay, simulationHorizon: hp.simulationHorizon ?? Infinity }, { summary, saved: SAVED, pool: simulationPoolFor(context.execution) });
  },

  async load(dir: string, context) {
    return RateNetworkModel.load(dir, SAVED, simulationPoolFor(context.execution));
  },
};
