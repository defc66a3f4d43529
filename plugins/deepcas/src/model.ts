import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CascadeError, type MacroscopicModel, type SizePredictions, type WindowedCascade } from '@cascade-lab/core';

/** Version tag of the saved file; `load` refuses anything else. */
export const FORMAT = 'cascade-lab/deepcas@1';
const FILE = 'deepcas.json';

/** Names of the window features, in the order of `features()`. */
export const FEATURES = ['log observed size', 'log root followers', 'log retweets in the last quarter of the window'] as const;

/** Features of a cascade's observation window (before standardisation). */
export function features(c: WindowedCascade): number[] {
  const bins = c.counts.length;
  let recent = 0;
  for (let b = Math.floor((3 * bins) / 4); b < bins; b++) recent += c.counts[b];
  return [Math.log1p(c.observedSize), Math.log1p(c.rootFollowers), Math.log1p(recent)];
}

export const softplus = (z: number): number => (z > 30 ? z : Math.log1p(Math.exp(z)));

export interface DeepcasWeights {
  /** w: one weight per standardised feature. */
  weights: number[];
  bias: number;
  /** Training mean and standard deviation of each feature (standardisation). */
  featureMean: number[];
  featureStd: number[];
  /** T: the observation window in hours. */
  windowHours: number;
}

/**
 * Log-linear growth: after the observation window T, the log size grows linearly in log time,
 *
 *     ln S(h) = ln S_obs + beta(x) ln(h / T)      (h >= T; S(h) = S_obs before),
 *
 * i.e. S(h) = S_obs (h / T)^beta(x), with a growth exponent beta(x) = softplus(w . x + b) >= 0 from
 * the standardised window features x (FEATURES). Szabo and Huberman (2010) found log popularity at
 * a later time linear in log popularity at an early one; here the slope also depends on the window.
 * Sizes never shrink with the horizon and are defined at any horizon, not only the training ones.
 */
export class DeepcasModel implements MacroscopicModel {
  constructor(readonly params: DeepcasWeights) {}

  /** beta(x) of a cascade. */
  growthExponent(c: WindowedCascade): number {
    const { weights, bias, featureMean, featureStd } = this.params;
    const x = features(c);
    let z = bias;
    for (let i = 0; i < x.length; i++) z += weights[i] * ((x[i] - featureMean[i]) / featureStd[i]);
    return softplus(z);
  }

  async predict(cascades: WindowedCascade[], horizonsHours: number[]): Promise<SizePredictions> {
    const T = this.params.windowHours;
    const sizes = cascades.map((c) => {
      const beta = this.growthExponent(c);
      return Float64Array.from(horizonsHours, (h) => c.observedSize * Math.pow(Math.max(h, T) / T, beta));
    });
    return { sizes, details: cascades.map((c) => ({ growthExponent: this.growthExponent(c) })) };
  }

  summaryMetrics(): Record<string, number> {
    return Object.fromEntries([...this.params.weights.map((w, i) => [`weight.${i}`, w]), ['bias', this.params.bias]]);
  }

  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, FILE), JSON.stringify({ format: FORMAT, features: FEATURES, ...this.params }, null, 2) + '\n');
  }

  static load(dir: string): DeepcasModel {
    const file = join(dir, FILE);
    let saved: Partial<DeepcasWeights> & { format?: string };
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CascadeError('MODEL', `cannot read ${file}: ${(e as Error).message}`);
    }
    const ok =
      saved.format === FORMAT &&
      [saved.weights, saved.featureMean, saved.featureStd].every((a) => Array.isArray(a) && a.length === FEATURES.length) &&
      typeof saved.bias === 'number' &&
      typeof saved.windowHours === 'number';
    if (!ok) throw new CascadeError('MODEL', `${file} is not a saved deepcas model (format ${String(saved.format)}, expected ${FORMAT})`);
    const { weights, bias, featureMean, featureStd, windowHours } = saved as DeepcasWeights;
    return new DeepcasModel({ weights, bias, featureMean, featureStd, windowHours });
  }

  /** The model keeps plain numbers: its tensors live only while it trains. */
  dispose(): void {}
}
