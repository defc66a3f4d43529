import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CascadeError, throwIfCancelled, type MacroscopicModel, type MacroscopicPlugin, type PredictContext, type SizePredictions, type WindowedCascade } from '@cascade-lab/core';
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

export const FORMAT = 'cascade-lab/hawkes@2';
const FILE = 'hawkes.json';

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
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, FILE), JSON.stringify({ format: FORMAT, observationWindowSeconds: this.observationWindowSeconds, hyperparameters: this.hyperparameters }, null, 2) + '\n');
  }

  static load(dir: string): HawkesModel {
    const file = join(dir, FILE);
    let saved: { format?: string; observationWindowSeconds?: unknown; hyperparameters?: unknown };
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CascadeError('MODEL', `cannot read ${file}: ${(e as Error).message}`);
    }
    const hp = hawkesHyperparameters.safeParse(saved.hyperparameters);
    if (saved.format !== FORMAT || typeof saved.observationWindowSeconds !== 'number' || !hp.success)
      throw new CascadeError('MODEL', `${file} is not a saved hawkes model (format ${String(saved.format)}, expected ${FORMAT})`);
    return new HawkesModel(hp.data, saved.observationWindowSeconds);
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
