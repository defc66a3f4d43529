/**
 * Small windowed cascades with a known GammaCas-shaped truth, for the unit tests (the evidence runs
 * use @cascade-lab/simulation's generators instead). Each cascade has a rate A t^gamma e^(-lambda t)
 * (t in hours); its bins hold Poisson draws of that rate, its targets are 1 (the root) plus the exact
 * integral. Word 2 in the root text triples A (a content signal the text path can learn); news items
 * are random words.
 */
import { Rng, type MacroscopicDataset, type WindowedCascade } from '@cascade-lab/core';
import { gammaIntegralF64 } from '@cascade-lab/tensor-ops';

export interface SyntheticOptions {
  cascades: number;
  bins?: number;
  binMinutes?: number;
  horizonsHours?: number[];
  vocabularySize?: number;
  withText?: boolean;
  seed?: number;
}

function poisson(rng: Rng, mean: number): number {
  if (mean > 50) return Math.max(0, Math.round(rng.normal(mean, Math.sqrt(mean))));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

export function syntheticCascades(o: SyntheticOptions): { cascades: WindowedCascade[]; truth: { A: number; gamma: number; lambda: number }[] } {
  const rng = Rng.fromSeed(o.seed ?? 7);
  const bins = o.bins ?? 12;
  const binHours = (o.binMinutes ?? 5) / 60;
  const horizons = o.horizonsHours ?? [2, 4, 8, 16];
  const vocab = o.vocabularySize ?? 20;
  const cascades: WindowedCascade[] = [];
  const truth: { A: number; gamma: number; lambda: number }[] = [];
  for (let i = 0; i < o.cascades; i++) {
    const length = 3 + rng.int(5);
    const text = new Int32Array(length);
    for (let j = 0; j < length; j++) text[j] = 3 + rng.int(vocab - 3);
    const popular = rng.bernoulli(0.5);
    if (popular) text[rng.int(length)] = 2;
    const A = (popular ? 30 : 10) * rng.uniform(0.8, 1.25);
    const gamma = rng.uniform(0.4, 1.0);
    const lambda = rng.uniform(0.3, 0.8);
    const counts = new Float32Array(bins);
    const followerSums = new Float32Array(bins);
    let observed = 1;
    for (let k = 0; k < bins; k++) {
      const t = (k + 0.5) * binHours;
      counts[k] = poisson(rng, A * Math.pow(t, gamma) * Math.exp(-lambda * t) * binHours);
      followerSums[k] = counts[k] * (50 + rng.int(100));
      observed += counts[k];
    }
    const targets = Float64Array.from(horizons, (h) => 1 + gammaIntegralF64(gamma + 1, lambda, h).value * A);
    const news = Array.from({ length: 1 + rng.int(3) }, () => Int32Array.from({ length: 2 + rng.int(4) }, () => 3 + rng.int(vocab - 3)));
    cascades.push({
      id: `c${i}`,
      counts,
      followerSums,
      rootFollowers: 1000 + rng.int(5000),
      observedSize: observed,
      targets,
      textTokens: o.withText === false ? undefined : text,
      newsTokens: o.withText === false ? undefined : news,
      windowEvents: [],
    });
    truth.push({ A, gamma, lambda });
  }
  return { cascades, truth };
}

export function syntheticDataset(o: SyntheticOptions & { validation?: number; test?: number }): MacroscopicDataset {
  const total = o.cascades + (o.validation ?? 0) + (o.test ?? 0);
  const { cascades } = syntheticCascades({ ...o, cascades: total });
  const bins = o.bins ?? 12;
  const binSeconds = (o.binMinutes ?? 5) * 60;
  return {
    name: 'synthetic-test',
    observationWindowSeconds: bins * binSeconds,
    binWidthSeconds: binSeconds,
    horizonsHours: o.horizonsHours ?? [2, 4, 8, 16],
    vocabularySize: o.withText === false ? 0 : (o.vocabularySize ?? 20),
    train: cascades.slice(0, o.cascades),
    validation: cascades.slice(o.cascades, o.cascades + (o.validation ?? 0)),
    test: cascades.slice(o.cascades + (o.validation ?? 0)),
  };
}
