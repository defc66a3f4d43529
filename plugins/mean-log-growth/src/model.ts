import { loadModelJson, saveModelJson, type MacroscopicModel, type SizePredictions, type WindowedCascade } from '@cascade-lab/core';
import { z } from 'zod';

/** The saved parameters (core's model.json: `{ format, version, parameters }`). */
export const meanLogGrowthParameters = z.strictObject({
  /** Trained horizons in hours, increasing. */
  horizonsHours: z.array(z.number()),
  /** g_h: the mean of ln(S(h) / S_obs) over the training cascades whose size at h is known (0 where none is). */
  meanLogGrowth: z.array(z.number()),
  /** How many training cascades each g_h averages (0: none known, g_h = 0). */
  counts: z.array(z.number().int().min(0)),
  /** T: the observation window in hours (g = 0 there). */
  windowHours: z.number().min(0),
});
export type MeanLogGrowthParameters = z.output<typeof meanLogGrowthParameters>;

/** Format tag and version of the saved model; `load` refuses anything else. */
export const SAVED = { format: 'cascade-lab/mean-log-growth', version: 1, schema: meanLogGrowthParameters };

/**
 * The mean growth in log size of the training cascades at each horizon h:
 *
 *     g_h = (1 / n_h) sum_i ln(S_i(h) / S_obs,i)     (training cascades i with S_i(h) known),
 *
 * the least-squares fit of a growth that is the same factor exp(g_h) for every cascade. The plain
 * baseline of the macroscopic comparison (issue 18; the same number as deepcas'
 * scripts/compare-baselines.ts computes). Sizes of the training cascades only enter through g_h.
 */
export function fitMeanLogGrowth(train: readonly WindowedCascade[], horizonsHours: readonly number[], windowHours: number): MeanLogGrowthParameters {
  const order = horizonsHours.map((_, i) => i).sort((a, b) => horizonsHours[a] - horizonsHours[b]);
  const meanLogGrowth: number[] = [];
  const counts: number[] = [];
  for (const k of order) {
    let sum = 0;
    let n = 0;
    for (const c of train) {
      const s = c.targets[k];
      if (!(Number.isFinite(s) && s > 0 && c.observedSize > 0)) continue; // unknown size: not in the mean
      sum += Math.log(s / c.observedSize);
      n++;
    }
    meanLogGrowth.push(n > 0 ? sum / n : 0);
    counts.push(n);
  }
  return { horizonsHours: order.map((k) => horizonsHours[k]), meanLogGrowth, counts, windowHours };
}

/**
 * S(h) = S_obs exp(g(h)). At a trained horizon g(h) = g_h; between two trained horizons g is
 * linear in h; from the end of the window (g = 0) to the first trained horizon likewise; after the
 * last one it stays g_last; before the window ends it is 0. Horizons whose g_h averaged no cascade
 * (count 0) are skipped in the interpolation.
 */
export class MeanLogGrowthModel implements MacroscopicModel {
  constructor(readonly params: MeanLogGrowthParameters) {}

  /** g(h) for any horizon h (hours). */
  logGrowth(h: number): number {
    const { windowHours } = this.params;
    const hs = [windowHours];
    const gs = [0];
    this.params.horizonsHours.forEach((t, i) => {
      if (this.params.counts[i] > 0 && t > hs[hs.length - 1]) {
        hs.push(t);
        gs.push(this.params.meanLogGrowth[i]);
      }
    });
    if (h <= hs[0]) return 0;
    if (h >= hs[hs.length - 1]) return gs[gs.length - 1];
    let k = 1;
    while (hs[k] < h) k++;
    return gs[k - 1] + ((gs[k] - gs[k - 1]) * (h - hs[k - 1])) / (hs[k] - hs[k - 1]);
  }

  async predict(cascades: WindowedCascade[], horizonsHours: number[]): Promise<SizePredictions> {
    const factors = horizonsHours.map((h) => Math.exp(this.logGrowth(h)));
    return { sizes: cascades.map((c) => Float64Array.from(factors, (f) => c.observedSize * f)) };
  }

  /** g_h per trained horizon, logged as model.h<hours>.meanLogGrowth. */
  summaryMetrics(): Record<string, number> {
    return Object.fromEntries(this.params.horizonsHours.map((h, i) => [`h${String(h).replace('.', 'p')}.meanLogGrowth`, this.params.meanLogGrowth[i]]));
  }

  save(dir: string): Promise<void> {
    return saveModelJson(dir, SAVED, this.params);
  }

  static async load(dir: string): Promise<MeanLogGrowthModel> {
    const { parameters } = await loadModelJson(dir, SAVED);
    return new MeanLogGrowthModel(parameters);
  }

  /** Plain numbers only: nothing to free. */
  dispose(): void {}
}
