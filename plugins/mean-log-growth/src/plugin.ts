import { throwIfCancelled, type MacroscopicPlugin } from '@cascade-lab/core';
import { z } from 'zod';
import { fitMeanLogGrowth, MeanLogGrowthModel } from './model.js';

/** No knobs: the baseline is one mean per horizon, fitted on the training split alone. */
export const meanLogGrowthHyperparameters = z.strictObject({});
export type MeanLogGrowthHyperparameters = z.output<typeof meanLogGrowthHyperparameters>;

export const meanLogGrowthPlugin: MacroscopicPlugin<MeanLogGrowthHyperparameters> = {
  name: 'mean-log-growth',
  task: 'macroscopic',
  description: 'Mean log growth: the observed size times the mean growth factor of the training cascades at each horizon (exp of the mean of ln(S(h) / S_obs)).',
  reference: 'the plain baseline of the macroscopic comparison (issue 18); cf. Szabo and Huberman 2010, log size at a later time linear in log size at an early one, slope 1',
  hyperparameters: meanLogGrowthHyperparameters,
  // Only the observed and later sizes, which every macroscopic dataset has (the DeepCas format too).
  dataNeeds: [],
  // summaryMetrics() numbers are logged as model.<name>.
  metrics: [
    { key: 'model.h<hours>.meanLogGrowth', label: 'mean log growth <hours> h', unit: 'value', direction: 'none', description: 'g_h: the mean of ln(S(h) / S_obs) over the training cascades whose size at h is known.' },
  ],

  async train(data, _hp, context) {
    throwIfCancelled(context.signal);
    const params = fitMeanLogGrowth(data.train, data.horizonsHours, data.observationWindowSeconds / 3600);
    params.horizonsHours.forEach((h, i) => {
      if (params.counts[i] === 0) context.logger.warn(`mean-log-growth: no training cascade has a known size at ${h} h; it is skipped (the growth of the nearest earlier horizon is held)`);
    });
    context.logger.info(`mean-log-growth: growth factors ${params.horizonsHours.map((h, i) => `${h} h ${Math.exp(params.meanLogGrowth[i]).toFixed(3)} (${params.counts[i]})`).join(', ')}`);
    return new MeanLogGrowthModel(params);
  },

  async load(dir: string) {
    return MeanLogGrowthModel.load(dir);
  },
};
