import { type MicroscopicDataset, type MicroscopicPlugin } from '@cascade-lab/core';
import { DELAY_DISTRIBUTIONS, RateNetworkModel, rateNetworkFormat, simulationPoolFor } from '@cascade-lab/simulation';
import { z } from 'zod';
import { fitInfoPath, SAMPLINGS } from './fit.js';

/** The saved model: core's model.json with this format tag and version (`load` refuses anything else). */
export const SAVED = rateNetworkFormat('cascade-lab/infopath', 1);

/** Every knob with its default and a description (`cascade plugins` prints them). */
export const infopathHyperparameters = z.strictObject({
  delay: z.enum(DELAY_DISTRIBUTIONS).default('exponential').describe("transmission delay model: exponential (the NDM paper's choice), power-law or rayleigh"),
  powerLawMinDelay: z.number().positive().default(1).describe("delta of the power-law delay: the shortest possible delay, in the dataset's time unit"),
  steps: z.number().int().positive().default(100).describe("time steps, evenly spaced over the training data's time span (one batch and gradient update each)"),
  sampling: z.enum(SAMPLINGS).default('exponential').describe('cascade sampling at each step (WSDM 2013 §4): uniform over all cascades started so far, uniform inside a recent window, or weighted by recency (exponential or Rayleigh kernel)'),
  samplingScale: z.number().positive().default(0.1).describe('window length or recency time scale of the sampling, as a fraction of the data\'s time span'),
  batchSize: z.number().int().positive().default(1000).describe('cascades sampled (with replacement) per step'),
  stepSize: z.number().gt(0).max(1).default(0.5).describe('eta of the preconditioned projected gradient step alpha <- max(0, alpha - eta (alpha / B) g); 1 = one EM update on the batch, smaller = longer memory'),
  iterationsPerStep: z.number().int().positive().default(1).describe('gradient steps on each batch'),
  rateFloor: z.number().positive().max(1).default(1e-3).describe('lower bound of the projection, as a fraction of the initial rate (infections per unit of exposure): keeps rates able to grow again; rates at the bound count as absent edges'),
  predictAt: z.number().optional().describe("prediction uses the rates of the last step at or before this time (dataset's time unit); absent: the last step (the NDM paper does not say which time it used)"),
  simulationHorizon: z.number().positive().optional().describe("prediction: simulations add no infection later than this after the seed (dataset's time unit); absent: only the budget stops them"),
  useValidation: z.boolean().default(true).describe('fit on the validation cascades too'),
});
export type InfopathHyperparameters = z.output<typeof infopathHyperparameters>;

export const infopathPlugin: MicroscopicPlugin<InfopathHyperparameters> = {
  name: 'infopath',
  task: 'microscopic',
  description: 'InfoPath (Gomez-Rodriguez et al., WSDM 2013): time-varying transmission rates tracked by stochastic gradient over time windows of cascades; predicts by continuous-time simulation with the rates of the chosen time.',
  reference: 'M. Gomez-Rodriguez, J. Leskovec, B. Schölkopf. Structure and dynamics of information pathways in online media. WSDM 2013.',
  hyperparameters: infopathHyperparameters,
  // Infection times drive the likelihood; each cascade's observation end comes from the dataset's
  // `observation` config (undefined: its last infection).
  dataNeeds: ['eventTimes'],
  metrics: [
    { key: 'model.edges', label: 'edges with a positive rate', unit: 'count', direction: 'none', description: 'Pairs with a rate above the projection floor at the prediction time.' },
    { key: 'model.steps', label: 'time steps', unit: 'count', direction: 'none', description: 'Stochastic-gradient time steps over the training span.' },
    { key: 'model.ratesAtTime', label: 'prediction time', unit: 'value', direction: 'none', description: 'Time (dataset unit) whose rates the simulations use (predictAt; the last step by default).' },
  ],

  async train(data: MicroscopicDataset, hp, context) {
    const cascades = hp.useValidation ? [...data.train, ...data.validation] : data.train;
    const started = performance.now();
    const fit = fitInfoPath(cascades, data.users.size, {
      delay: hp.delay,
      powerLawMinDelay: hp.powerLawMinDelay,
      steps: hp.steps,
      sampling: hp.sampling,
      samplingScale: hp.samplingScale,
      batchSize: hp.batchSize,
      stepSize: hp.stepSize,
      iterationsPerStep: hp.iterationsPerStep,
      rateFloor: hp.rateFloor,
      until: hp.predictAt,
      rng: context.rng.derive('infopath'),
      progress: context.progress,
      signal: context.signal,
    });
    const seconds = (performance.now() - started) / 1000;
    const at = fit.stepTimes.length > 0 ? fit.stepTimes[fit.stepTimes.length - 1] : NaN;
    // The runner logs summaryMetrics() as model.<key> (edges, negative log-likelihood, ...).
    context.metrics.logMetric('train.seconds', seconds);
    context.logger.info(`infopath: ${fit.rates.length} edges with a positive rate after ${fit.stepTimes.length} steps over ${fit.cascadesUsed} cascades (rates of time ${at}, per ${data.timeUnit === 'unknown' ? 'time unit' : data.timeUnit.replace(/s$/, '')}); ${seconds.toFixed(1)} s`);
    return new RateNetworkModel(
      data.users.size,
      fit.sources,
      fit.targets,
      fit.rates,
      { delay: hp.delay, powerLawMinDelay: hp.powerLawMinDelay, simulationHorizon: hp.simulationHorizon ?? Infinity },
      { summary: { edges: fit.rates.length, steps: fit.stepTimes.length, ratesAtTime: at }, saved: SAVED, pool: simulationPoolFor(context.execution) },
    );
  },

  async load(dir: string, context) {
    return RateNetworkModel.load(dir, SAVED, simulationPoolFor(context.execution));
  },
};
