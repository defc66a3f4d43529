import { CascadeError, loadModelJson, saveModelJson, throwIfCancelled, type ModelJsonFormat, type MacroscopicModel, type MacroscopicPlugin, type PredictContext, type SizePredictions, type WindowedCascade } from '@cascade-lab/core';
import { z } from 'zod';
import { expectedFinalSize, expectedSizeAfter, fitHawkes, fitMarkedHawkes, markWeights, meanMarkWeight, pendingOffspring, type MarkedHawkesFit } from './model.js';

/** Every knob with its default and a description (`cascade plugins` prints them). */
export const hawkesHyperparameters = z.strictObject({
  prediction: z
    .enum(['expected', 'final'])
    .default('expected')
    .describe("size at a horizon past the window: the expected size at that time (closed form), or the expected final size at every horizon (Infinity when K >= 1)"),
  gridStep: z.number().positive().max(1).default(0.25).describe('spacing of the likelihood grid in ln theta before refinement (smaller: slower, safer against narrow optima)'),
  thetaMinPerWindow: z.number().positive().default(1e-2).describe('smallest decay rate searched, in units of 1 / observation window'),
  thetaMaxPerWindow: z.number().positive().default(1e6).describe('largest decay rate searched, in units of 1 / observation window'),
  marks: z
    .enum(['none', 'followers'])
    .default('none')
    .describe("'followers': each post's bump scaled by max(followers, 1)^beta (not in the paper; MODELS.md), n* = K (alpha - 1) / (alpha - 1 - beta)"),
  markExponent: z
    .union([z.number().min(0), z.literal('fit')])
    .default('fit')
    .describe("beta with marks: a number, or 'fit' (maximum likelihood in [0, 0.95 (alpha - 1)])"),
  markAlpha: z.number().gt(1).default(2.016).describe('power-law exponent of follower counts, for the expected mark of future posts (MODELS.md: 2.016)'),
  futureMarks: z
    .enum(['power-law', 'observed'])
    .default('power-law')
    .describe("expected mark weight E w of future posts: from power-law follower counts (markAlpha, m >= 1; MODELS.md), or the mean weight of the cascade's observed retweets"),
});
export type HawkesHyperparameters = z.output<typeof hawkesHyperparameters>;

/**
 * The saved model (core's model.json): the settings and the dataset's window length T, nothing
 * fitted. (core's `nothingToFit` would save the settings alone, but its models are built without the
 * dataset, and this one needs T: the windowed cascades do not carry it.)
 */
export const MODEL_FORMAT: ModelJsonFormat<{ observationWindowSeconds: number; hyperparameters: HawkesHyperparameters }> = {
  format: 'cascade-lab/hawkes',
  version: 1,
  schema: z.strictObject({ observationWindowSeconds: z.number().positive(), hyperparameters: hawkesHyperparameters }),
};

/** The root (0) and the window's retweets, in hours: the time unit of the fits (theta per hour). */
export function postTimesHours(c: WindowedCascade): Float64Array {
  const times = new Float64Array(c.windowEvents.length + 1);
  c.windowEvents.forEach((e, i) => (times[i + 1] = e.time / 3600));
  return times;
}

/** Follower counts of the root and the window's retweets, index-aligned with `postTimesHours`. */
export function postFollowers(c: WindowedCascade): Float64Array {
  return Float64Array.from([c.rootFollowers, ...c.windowEvents.map((e) => e.followers)]);
}

export interface CascadeFit extends MarkedHawkesFit {
  /** n*: K, or K E w with marks. */
  branching: number;
  /** Mark weights of the posts (undefined: unmarked). */
  weights?: Float64Array;
}

/** Fits one cascade observed for T hours (see model.ts); beta = 0 without marks. */
export function fitCascade(c: WindowedCascade, T: number, hp: HawkesHyperparameters): CascadeFit {
  const times = postTimesHours(c);
  const options = { thetaMin: hp.thetaMinPerWindow / T, thetaMax: hp.thetaMaxPerWindow / T, gridStep: hp.gridStep, tolerance: 1e-10 };
  if (hp.marks === 'none') {
    const fit = fitHawkes(times, T, options);
    return { ...fit, beta: 0, branching: fit.K };
  }
  const followers = postFollowers(c);
  const betaMax = 0.95 * (hp.markAlpha - 1);
  const fit = fitMarkedHawkes(times, followers, T, options, { beta: hp.markExponent === 'fit' ? undefined : hp.markExponent, betaMax });
  const weights = markWeights(followers, fit.beta);
  return { ...fit, branching: fit.K * futureMarkWeight(hp, fit.beta, weights), weights };
}

/** E w of a future post: the power-law mean (alpha - 1) / (alpha - 1 - beta), or the mean over the observed retweets (1 when there are none). */
export function futureMarkWeight(hp: HawkesHyperparameters, beta: number, weights: ArrayLike<number>): number {
  if (hp.futureMarks === 'power-law') return meanMarkWeight(hp.markAlpha, beta);
  let sum = 0;
  for (let i = 1; i < weights.length; i++) sum += weights[i];
  return weights.length > 1 ? sum / (weights.length - 1) : 1;
}

/**
 * Nothing is learnt across cascades: `predict` fits K and theta to each cascade's own window by
 * maximum likelihood and returns the closed-form expected size at each horizon (model.ts). Inside
 * the window the size is the observed count. What the model keeps is its settings and the window
 * length T.
 */
export class HawkesModel implements MacroscopicModel {
  constructor(
    readonly hyperparameters: HawkesHyperparameters,
    readonly observationWindowSeconds: number,
  ) {}

  async predict(cascades: WindowedCascade[], horizonsHours: number[], context?: PredictContext): Promise<SizePredictions> {
    const T = this.observationWindowSeconds / 3600;
    const task = context?.progress.start('hawkes fits', cascades.length);
    const sizes: Float64Array[] = [];
    const details: Record<string, number>[] = [];
    try {
      for (const c of cascades) {
        throwIfCancelled(context?.signal);
        const times = postTimesHours(c);
        const fit = fitCascade(c, T, this.hyperparameters);
        const observed = times.length;
        const pending = pendingOffspring(times, T, fit.K, fit.theta, fit.weights);
        const final = expectedFinalSize(observed, pending, fit.branching);
        sizes.push(
          Float64Array.from(horizonsHours, (h) => {
            if (h >= T) return this.hyperparameters.prediction === 'final' ? final : expectedSizeAfter(observed, pending, fit.branching, fit.theta, h - T);
            let k = 1;
            while (k < times.length && times[k] <= h) k++;
            return k;
          }),
        );
        const marked: Record<string, number> = this.hyperparameters.marks === 'none' ? {} : { beta: fit.beta, branching: fit.branching };
        details.push({ K: fit.K, theta: fit.theta, ...marked, logLikelihood: fit.logLikelihood, finalSize: final, thetaAtSearchEdge: fit.atBoundary ? 1 : 0 });
        task?.tick(1);
      }
    } finally {
      task?.done();
    }
    return { sizes, details };
  }

  async save(dir: string): Promise<void> {
    await saveModelJson(dir, MODEL_FORMAT, { observationWindowSeconds: this.observationWindowSeconds, hyperparameters: this.hyperparameters });
  }

  /** Reads what `save` wrote; a ModelLoadError (MODEL_LOAD) when the folder holds no such model. */
  static async load(dir: string): Promise<HawkesModel> {
    const { parameters } = await loadModelJson(dir, MODEL_FORMAT);
    return new HawkesModel(parameters.hyperparameters, parameters.observationWindowSeconds);
  }

  dispose(): void {}
}

export const hawkesPlugin: MacroscopicPlugin<HawkesHyperparameters> = {
  name: 'hawkes',
  task: 'macroscopic',
  description: "Univariate exponential-kernel Hawkes process fitted by maximum likelihood to each cascade's window (the GammaCas paper's baseline); expected size at every horizon in closed form, infinite final size when K >= 1.",
  reference: 'Dutta et al., GammaCas (the Hawkes baseline); Hawkes, Biometrika 1971',
  hyperparameters: hawkesHyperparameters,
  dataNeeds: (hp) => (hp.marks === 'followers' ? ['eventTimes', 'followerCounts'] : ['eventTimes']),
  // Each cascade is fitted on its own window at prediction time: nothing is learnt from the training split.
  fitting: 'none',

  async train(data, hp) {
    if (hp.marks === 'followers' && hp.markExponent !== 'fit' && !(hp.markExponent < hp.markAlpha - 1))
      throw new CascadeError('CONFIG_INVALID', `model.hyperparameters.markExponent (${hp.markExponent}) must be below markAlpha - 1 (${hp.markAlpha - 1}): the expected mark of a future post is infinite otherwise`);
    if (!(hp.thetaMaxPerWindow > hp.thetaMinPerWindow)) throw new CascadeError('CONFIG_INVALID', `model.hyperparameters.thetaMaxPerWindow (${hp.thetaMaxPerWindow}) must exceed thetaMinPerWindow (${hp.thetaMinPerWindow})`);
    return new HawkesModel(hp, data.observationWindowSeconds);
  },

  async load(dir: string) {
    return HawkesModel.load(dir);
  },
};
