import { loadModelJson, saveModelJson, throwIfCancelled, type ModelJsonFormat, type MacroscopicModel, type MacroscopicPlugin, type PredictContext, type SizePredictions, type WindowedCascade } from '@cascade-lab/core';
import { z } from 'zod';
import { predictFinalReshares, type SeismicOptions, type Shares } from './model.js';

/** Every knob with its default (the paper's and the CRAN package's) and a description (`cascade plugins` prints them). */
export const seismicHyperparameters = z.strictObject({
  nStar: z.number().positive().default(100).describe("n*: mean follower count of a future resharer in the branching formula (paper Sec. 4.3: 100)"),
  maxWindowSeconds: z.number().positive().default(7200).describe('widest triangular estimation window, seconds (R package max.window)'),
  minWindowSeconds: z.number().positive().default(300).describe('narrowest triangular estimation window, seconds (R package min.window)'),
  minCount: z.number().int().min(1).default(5).describe('fewest posts (the root counts) in the window before it widens back to the last minCount + 1 posts (R package min.count)'),
  kernelTheta: z.number().positive().lt(1).default(0.2314843).describe('memory kernel: power-law tail exponent theta (paper Sec. 3.1, measured on Twitter)'),
  kernelCutoffSeconds: z.number().positive().default(300).describe('memory kernel: s0, end of the constant part, seconds'),
  kernelC: z.number().positive().default(0.0006265725).describe('memory kernel: constant density c before s0, per second'),
  exposure: z
    .enum(['followers', 'unit'])
    .default('followers')
    .describe("n_i of each post: its follower count (the paper), or 1 for data without follower counts (Weibo sample), which then also sets n* = 1"),
});
export type SeismicHyperparameters = z.output<typeof seismicHyperparameters>;

/**
 * The saved model (core's model.json): the settings and the dataset's window length T, nothing
 * fitted. (core's `nothingToFit` would save the settings alone, but its models are built without the
 * dataset, and this one needs T: the windowed cascades do not carry it.)
 */
export const MODEL_FORMAT: ModelJsonFormat<{ observationWindowSeconds: number; hyperparameters: SeismicHyperparameters }> = {
  format: 'cascade-lab/seismic',
  version: 1,
  schema: z.strictObject({ observationWindowSeconds: z.number().positive(), hyperparameters: seismicHyperparameters }),
};

export function seismicOptions(hp: SeismicHyperparameters): SeismicOptions {
  return {
    kernel: { theta: hp.kernelTheta, cutoffSeconds: hp.kernelCutoffSeconds, c: hp.kernelC },
    maxWindowSeconds: hp.maxWindowSeconds,
    minWindowSeconds: hp.minWindowSeconds,
    minCount: hp.minCount,
    nStar: hp.exposure === 'unit' ? 1 : hp.nStar,
  };
}

/**
 * The root (time 0, its followers) and the window's retweets: the posts SEISMIC works on. With
 * `exposure: 'unit'` every post counts as one unit of exposure instead of its follower count.
 */
export function windowShares(c: WindowedCascade, exposure: SeismicHyperparameters['exposure'] = 'followers'): Shares {
  const n = c.windowEvents.length;
  const times = new Float64Array(n + 1);
  const followers = new Float64Array(n + 1).fill(1);
  if (exposure === 'followers') followers[0] = c.rootFollowers;
  c.windowEvents.forEach((e, i) => {
    times[i + 1] = e.time;
    if (exposure === 'followers') followers[i + 1] = e.followers;
  });
  return { times, followers };
}

/**
 * SEISMIC needs no training: each cascade's infectiousness is estimated at the end of its
 * observation window T from its own retweets, and its size at any horizon after T is the predicted
 * final size 1 + R_inf (the root included; the model predicts no time course). At horizons inside
 * the window the size is the observed count. What it keeps is its settings and T.
 */
export class SeismicModel implements MacroscopicModel {
  constructor(
    readonly hyperparameters: SeismicHyperparameters,
    readonly observationWindowSeconds: number,
  ) {}

  async predict(cascades: WindowedCascade[], horizonsHours: number[], context?: PredictContext): Promise<SizePredictions> {
    const options = seismicOptions(this.hyperparameters);
    const T = this.observationWindowSeconds;
    const sizes: Float64Array[] = [];
    const details: Record<string, number>[] = [];
    for (const c of cascades) {
      throwIfCancelled(context?.signal);
      const shares = windowShares(c, this.hyperparameters.exposure);
      const p = predictFinalReshares(shares, T, options);
      sizes.push(
        Float64Array.from(horizonsHours, (h) => {
          const seconds = h * 3600;
          if (seconds >= T) return 1 + p.finalReshares;
          let k = 0;
          while (k < c.windowEvents.length && c.windowEvents[k].time <= seconds) k++;
          return 1 + k;
        }),
      );
      details.push({ infectiousness: p.infectiousness, infectiousnessLow: p.low, infectiousnessUp: p.up, windowSeconds: p.windowSeconds, finalSize: 1 + p.finalReshares });
    }
    return { sizes, details };
  }

  async save(dir: string): Promise<void> {
    await saveModelJson(dir, MODEL_FORMAT, { observationWindowSeconds: this.observationWindowSeconds, hyperparameters: this.hyperparameters });
  }

  /** Reads what `save` wrote; a ModelLoadError (MODEL_LOAD) when the folder holds no such model. */
  static async load(dir: string): Promise<SeismicModel> {
    const { parameters } = await loadModelJson(dir, MODEL_FORMAT);
    return new SeismicModel(parameters.hyperparameters, parameters.observationWindowSeconds);
  }

  dispose(): void {}
}

export const seismicPlugin: MacroscopicPlugin<SeismicHyperparameters> = {
  name: 'seismic',
  task: 'macroscopic',
  description: "SEISMIC (Zhao et al., KDD 2015): a cascade's infectiousness estimated from its own reshares and follower counts with a power-law memory kernel; final size by the branching formula. Nothing to train.",
  reference: 'Zhao, Erdogdu, He, Rajaraman, Leskovec. SEISMIC: A Self-Exciting Point Process Model for Predicting Tweet Popularity. KDD 2015',
  hyperparameters: seismicHyperparameters,
  // Follower counts are the exposure n_i, unless every post counts as one.
  dataNeeds: (hp) => (hp.exposure === 'followers' ? ['eventTimes', 'followerCounts'] : ['eventTimes']),
  // Nothing learnt from the training cascades: only the dataset's window length is kept.
  fitting: 'none',

  async train(data, hp) {
    return new SeismicModel(hp, data.observationWindowSeconds);
  },

  async load(dir: string) {
    return SeismicModel.load(dir);
  },
};
