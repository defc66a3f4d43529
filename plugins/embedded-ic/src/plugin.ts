import { type MicroscopicDataset, type MicroscopicPlugin } from '@cascade-lab/core';
import { z } from 'zod';
import { EmbeddedIcModel } from './model.js';

/** Every knob with its default and a description (`cascade plugins` prints them). */
export const embeddedIcHyperparameters = z.strictObject({
  transitionSmoothing: z.number().min(0).default(1).describe('alpha: weight of the popularity prior in each transition distribution (Dirichlet smoothing; 0 = raw transition frequencies)'),
  popularityPseudoCount: z.number().min(0).default(0.01).describe('beta: pseudo-count of every user in the popularity prior (0: users never infected in training are never predicted)'),
  useValidation: z.boolean().default(true).describe('count the validation cascades too (the model has nothing to tune on them)'),
});
export type EmbeddedIcHyperparameters = z.output<typeof embeddedIcHyperparameters>;

export const embeddedIcPlugin: MicroscopicPlugin<EmbeddedIcHyperparameters> = {
  name: 'embedded-ic',
  task: 'microscopic',
  description: "Embedded IC (Bourigault, Lamprier, Gallinari, WSDM 2016): independent cascade with transmission probabilities from sender and receiver user embeddings",
  hyperparameters: embeddedIcHyperparameters,

  async train(data: MicroscopicDataset, hp, context) {
    const cascades = hp.useValidation ? [...data.train, ...data.validation] : data.train;
    const task = context.progress.start('counting transitions', 1);
    const model = EmbeddedIcModel.fit(cascades, data.users.size, hp.transitionSmoothing, hp.popularityPseudoCount, context.signal);
    task.tick();
    task.done();
    // A diagnostic the runner logs with the run (the evaluation protocol itself is the runner's).
    if (!hp.useValidation && data.validation.length > 0) context.metrics.logMetric('validation.nll', meanNegativeLogLikelihood(model, data.validation.map((c) => c.events.map((e) => e.user))));
    context.logger.info(`embedded-ic: ${model.summaryMetrics().transitionPairs} distinct transitions from ${cascades.length} cascades`);
    return model;
  },

  async load(dir: string) {
    return EmbeddedIcModel.load(dir);
  },
};

/** Mean -ln P(next user | previous user) over the transitions of `cascades` (infected users excluded). */
export function meanNegativeLogLikelihood(model: EmbeddedIcModel, cascades: number[][]): number {
  let sum = 0;
  let n = 0;
  for (const users of cascades)
    for (let t = 1; t < users.length; t++) {
      const p = model.distribution(users[t - 1]);
      let mass = 0;
      for (let u = 0; u < p.length; u++) if (!users.slice(0, t).includes(u)) mass += p[u];
      sum += -Math.log(p[users[t]] / mass);
      n++;
    }
  return n ? sum / n : NaN;
}
