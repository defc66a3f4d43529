import {
  loadModelJson,
  RESERVED_USERS,
  saveModelJson,
  type MicroscopicDataset,
  type MicroscopicModel,
  type MicroscopicPlugin,
  type Rng,
  type SimulationRequest,
  type SimulationResult,
} from '@cascade-lab/core';
import { createPopularityModel, popularityCounts, SequentialSampler } from '@cascade-lab/simulation';
import { z } from 'zod';

export const popularityHyperparameters = z.strictObject({
  smoothing: z.number().min(0).default(0).describe('pseudo-count added to every user (0: users never seen after a seed are never predicted)'),
});
export type PopularityHyperparameters = z.output<typeof popularityHyperparameters>;

/** The saved model: the next-user weights (core's parameter-only model file). */
const SAVED = { format: 'cascade-lab/popularity', version: 1, schema: z.strictObject({ weights: z.array(z.number().min(0)) }) };

/**
 * The trained baseline: next-user weights proportional to how often each user was infected (after
 * the seed) in the training cascades. Simulation uses the shared sequential engine, which masks
 * infected users; the model never predicts `</s>`, so a simulation runs its whole budget.
 */
export class PopularityModel implements MicroscopicModel {
  private readonly sampler: SequentialSampler;

  constructor(readonly weights: Float64Array) {
    this.sampler = new SequentialSampler(createPopularityModel({ numUsers: weights.length, counts: weights }));
  }

  simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    return this.sampler.simulate(requests, rng, signal);
  }

  async nextUserScores(cascade: number[]): Promise<Float32Array[]> {
    const rows: Float32Array[] = [];
    const scores = Float32Array.from(this.weights, (w, u) => (u < RESERVED_USERS ? -Infinity : w));
    // Row t scores the user at position t + 1 given users 0..t (infected users masked).
    for (let t = 0; t + 1 < cascade.length; t++) {
      scores[cascade[t]] = -Infinity;
      rows.push(scores.slice());
    }
    return rows;
  }

  async save(dir: string): Promise<void> {
    await saveModelJson(dir, SAVED, { weights: Array.from(this.weights) });
  }

  dispose(): void {}
}

export const popularityPlugin: MicroscopicPlugin<PopularityHyperparameters> = {
  name: 'popularity',
  task: 'microscopic',
  description: 'Most-popular-next-user baseline: samples users by their infection frequency in training; a floor for learned models.',
  hyperparameters: popularityHyperparameters,

  async train(data: MicroscopicDataset, hp: PopularityHyperparameters, context) {
    const task = context.progress.start('counting infections', 1);
    const counts = popularityCounts([...data.train, ...data.validation], data.users.size);
    const weights = new Float64Array(data.users.size);
    for (let u = RESERVED_USERS; u < weights.length; u++) weights[u] = counts[u] + hp.smoothing;
    task.tick();
    task.done();
    context.metrics.logMetric('train.usersSeen', weights.filter((w) => w > 0).length);
    return new PopularityModel(weights);
  },

  async load(dir: string) {
    const { parameters } = await loadModelJson(dir, SAVED);
    return new PopularityModel(Float64Array.from(parameters.weights));
  },
};
