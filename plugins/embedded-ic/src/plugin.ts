import { loadingModel, type MicroscopicDataset, type MicroscopicPlugin } from '@cascade-lab/core';
import { WITHIN_STEP_ORDERS } from '@cascade-lab/simulation';
import { z } from 'zod';
import { cascadeUsers } from './model.js';
import { EmbeddedIcModel } from './simulator.js';
import { trainEmbeddedIc } from './trainer.js';

/** Every knob with its default and a description (`cascade plugins` prints them). */
export const embeddedIcHyperparameters = z.strictObject({
  dimension: z.number().int().positive().default(25).describe('d, the size of the sender and receiver vectors (the NDM paper picks it from {25, 50, 100} on validation; the experiment configs choose it jointly with negativeWeight on validation Micro-F1, README "Choosing d and lambda")'),
  learningRate: z.number().positive().default(0.5).describe('Adagrad step size of the per-cascade stochastic EM step'),
  maxEpochs: z.number().int().positive().default(100).describe('most passes over the training cascades'),
  patience: z.number().int().positive().default(5).describe('stop after this many epochs without a better mean validation log-likelihood (the best epoch is kept)'),
  earlyStoppingMetric: z
    .enum(['logLikelihood', 'macroF1', 'microF1'])
    .default('logLikelihood')
    .describe('validation score that stops training and picks the kept epoch: the mean log-likelihood per cascade, or the shared protocol\'s Macro-F1 / Micro-F1 on the validation cascades (monitorSimulations IC simulations each)'),
  monitorSimulations: z.number().int().positive().default(100).describe('IC simulations per validation cascade for an F1 early-stopping metric'),
  negativeSamples: z.number().int().nonnegative().default(200).describe('never-infected users sampled per cascade for the likelihood (re-weighted to stay unbiased); 0 or more than there are: all of them (exact)'),
  negativeWeight: z
    .number()
    .positive()
    .max(1)
    .default(1)
    .describe('factor on the never-infected term of the training objective and of the validation log-likelihood monitor (1: the likelihood itself; below 1: a weighted likelihood)'),
  parentWindow: z
    .number()
    .int()
    .nonnegative()
    .default(0)
    .describe('candidate parents of an infected user in the likelihood: 0: every earlier user of the cascade (the relaxation of unobserved IC steps); k: only the k users infected just before it'),
  earlierParentsFailed: z.boolean().default(false).describe('with parentWindow k > 0: the users infected before the window count as failed attempts, a factor (1 - p) each (the exact likelihood of the contagious-window IC); false: those pairs are left out'),
  minEdgeProbability: z.number().min(0).max(1).default(1e-4).describe('pairs with p(u -> v) below this are left out of the simulation graph (0: every pair)'),
  finalFit: z
    .enum(['best-epoch', 'retrain-all'])
    .default('best-epoch')
    .describe('best-epoch: keep the parameters of the best validation epoch; retrain-all: retrain from scratch on training + validation cascades for that many epochs (NDM paper §5.2)'),
  workers: z.number().int().nonnegative().default(0).describe('worker threads for the Monte-Carlo simulations (0: the calling thread)'),
  withinStepOrder: z
    .enum(WITHIN_STEP_ORDERS)
    .default('random')
    .describe('how the users one IC step activates are listed, which decides who is kept at the budget and in the first five: random (a seeded uniform order), probability (likeliest successful edge first), time (a continuous delay inside the step drawn from each edge, earliest first)'),
});
export type EmbeddedIcHyperparameters = z.output<typeof embeddedIcHyperparameters>;

export const embeddedIcPlugin: MicroscopicPlugin<EmbeddedIcHyperparameters> = {
  name: 'embedded-ic',
  task: 'microscopic',
  description: 'Embedded IC (Bourigault, Lamprier, Gallinari, WSDM 2016): independent cascade with transmission probabilities from sender and receiver user embeddings',
  hyperparameters: embeddedIcHyperparameters,
  metrics: [
    { key: 'validation.logLikelihood', label: 'validation log-likelihood', unit: 'loss', direction: 'higher', description: 'IC log-likelihood per validation cascade (step = epoch); the default early-stopping monitor.' },
    { key: 'validation.bestLogLikelihood', label: 'best validation log-likelihood', unit: 'loss', direction: 'higher', description: 'The validation log-likelihood of the kept epoch.' },
    { key: 'train.pairsPerSecond', label: 'scored pairs/s', unit: 'perSecond', direction: 'higher', description: 'Sender-receiver pairs scored per second of training (sampled never-infected users included).' },
    { key: 'model.simulationEdges', label: 'simulation edges', unit: 'count', direction: 'none', description: 'Pairs kept for simulation (probability at least minEdgeProbability).' },
    { key: 'model.meanPrunedMassPerSender', label: 'pruned probability mass per sender', unit: 'value', direction: 'lower', description: 'Mean total probability of the dropped pairs per sender.' },
  ],

  async train(data: MicroscopicDataset, hp, context) {
    const train = data.train.map((c) => cascadeUsers(c.events));
    const validation = data.validation.map((c) => cascadeUsers(c.events));
    const result = await trainEmbeddedIc(data.users.size, train, validation, {
      dimension: hp.dimension,
      learningRate: hp.learningRate,
      maxEpochs: hp.maxEpochs,
      patience: hp.patience,
      negativeSamples: hp.negativeSamples,
      negativeWeight: hp.negativeWeight,
      parents: { window: hp.parentWindow, earlierFailed: hp.earlierParentsFailed },
      rng: context.rng,
      signal: context.signal,
      progress: context.progress,
      metrics: context.metrics,
      logger: context.logger,
      monitor: hp.earlyStoppingMetric,
      monitorSimulations: hp.monitorSimulations,
      simulator: (p) => new EmbeddedIcModel(p, { minEdgeProbability: hp.minEdgeProbability, workers: 0, withinStepOrder: hp.withinStepOrder }),
    });
    const { epochs, bestEpoch, best } = result.fit;
    let { seconds } = result.fit;
    let parameters = result.parameters;
    if (hp.finalFit === 'retrain-all' && validation.length > 0) {
      // NDM paper §5.2: the final model sees every training cascade, validation ones included, for
      // the number of epochs validation chose.
      context.logger.info(`embedded-ic: retraining on ${train.length + validation.length} cascades for ${bestEpoch} epochs`);
      const retrained = await trainEmbeddedIc(data.users.size, [...train, ...validation], [], {
        dimension: hp.dimension,
        learningRate: hp.learningRate,
        maxEpochs: bestEpoch,
        patience: 0,
        negativeSamples: hp.negativeSamples,
        negativeWeight: hp.negativeWeight,
      parents: { window: hp.parentWindow, earlierFailed: hp.earlierParentsFailed },
        rng: context.rng.derive('retrain'),
        signal: context.signal,
        progress: context.progress,
        metrics: context.metrics,
        logger: context.logger,
        scope: 'retrain',
      });
      parameters = retrained.parameters;
      seconds += retrained.fit.seconds;
    }
    // The kept epoch's monitor (the last logged validation.logLikelihood is the last epoch's): what
    // the dimension sweep compares.
    if (best?.logLikelihood !== undefined) context.metrics.logMetric('validation.bestLogLikelihood', best.logLikelihood);
    if (best?.macroF1 !== undefined) context.metrics.logMetric('validation.bestMacroF1', best.macroF1);
    if (best?.microF1 !== undefined) context.metrics.logMetric('validation.bestMicroF1', best.microF1);
    context.metrics.logMetric('train.seconds', seconds);
    // Pairs (u, v) whose score and gradient were computed, per second of training.
    context.metrics.logMetric('train.pairsPerSecond', (result.pairsPerEpoch * epochs) / Math.max(result.fit.seconds, 1e-9));
    context.logger.info(`embedded-ic: d=${hp.dimension}, ${epochs} epochs in ${seconds.toFixed(1)} s, kept epoch ${bestEpoch}`);
    return new EmbeddedIcModel(parameters, { minEdgeProbability: hp.minEdgeProbability, workers: hp.workers, withinStepOrder: hp.withinStepOrder });
  },

  async load(dir: string) {
    // One error code for every failed load (core's ModelLoadError, MODEL_LOAD).
    return loadingModel(dir, async () => EmbeddedIcModel.load(dir));
  },
};
