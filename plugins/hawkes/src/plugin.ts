import { CascadeError, loadModelJson, saveModelJson, throwIfCancelled, type ModelJsonFormat, type MacroscopicModel, type MacroscopicPlugin, type PredictContext, type SizePredictions, type WindowedCascade } from '@cascade-lab/core';
import { z } from 'zod';
import { expectedFinalSize, expectedSizeAfter, fitHawkes, pendingOffspring, type HawkesFit } from './model.js';

/** Every knob with its default and a description (`cascade plugins` prints them). */
export const hawkesHyperparameters = z.strictObject({
  prediction: z
    .enum(['expected', 'final'])
    .default('expected')
    .describe("size at a horizon past the window: the expected size at that time (closed form), or the expected final size at every horizon (Infinity when K >= 1)"),
  gridStep: z.number().positive().max(1).default(0.25).describe('spacing of the likelihood grid in ln theta before refinement (smaller: slower, safer against narrow optima)'),
  thetaMinPerWindow: z.number().positive().default(1e-2).describe('smallest decay rate searched, in units of 1 / observation window'),
  thetaMaxPerWindow: z.number().positive().default(1e6).describe('largest decay rate searched, in units of 1 / observation window'),
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

/** Fits one cascade observed for T hours (see model.ts). */
export function fitCascade(c: WindowedCascade, T: number, hp: HawkesHyperparameters): HawkesFit {
  return fitHawkes(postTimesHours(c), T, { thetaMin: hp.thetaMinPerWindow / T, thetaMax: hp.thetaMaxPerWindow / T, gridStep: hp.gridStep, tolerance: 1e-10 });
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
        const pending = pendingOffspring(times, T, fit.K, fit.theta);
        const final = expectedFinalSize(observed, pending, fit.K);
        sizes.push(
          Float64Array.from(horizonsHours, (h) => {
            if (h >= T) return this.hyperparameters.prediction === 'final' ? final : expectedSizeAfter(observed, pending, fit.K, fit.theta, h - T);
            let k = 1;
            while (k < times.length && times[k] <= h) k++;
            return k;
          }),
        );
        details.push({ K: fit.K, theta: fit.theta, logLikelihood: fit.logLikelihood, finalSize: final, thetaAtSearchEdge: fit.atBoundary ? 1 : 0 });
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
  dataNeeds: ['eventTimes'],
  // Each cascade is fitted on its own window at prediction time: nothing is learnt from the training split.
  fitting: 'none',

  async train(data, hp) {
    if (!(hp.thetaMaxPerWindow > hp.thetaMinPerWindow)) throw new CascadeError('CONFIG_INVALID', `model.hyperparameters.thetaMaxPerWindow (${hp.thetaMaxPerWindow}) must exceed thetaMinPerWindow (${hp.thetaMinPerWindow})`);
    return new HawkesModel(hp, data.observationWindowSeconds);
  },

  async load(dir: string) {
    return HawkesModel.load(dir);
  },
};
