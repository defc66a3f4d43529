/**
 * Writes the synthetic text-and-news cascades of the GammaCas evidence (configs/experiments/
 * gammacas-synthetic.yaml) as our JSON Lines format: @cascade-lab/simulation's content-cascade
 * generator, whose growth rate A t^gamma e^(-lambda t) has log A driven by the root's words and by
 * their novelty against the news of the 12 h before the root.
 *
 *   node --import tsx plugins/gammacas/scripts/make-synthetic.ts [--out DIR] [--cascades N] [--seed S] [--vocabulary V] [--text-weight W] [--base-a A]
 *
 * Default DIR: <repo>/.cascade/synthetic/gammacas-content (git-ignored); it gets cascades.jsonl and
 * truth.json (each cascade's generating A, novelty and text score).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { writeJsonl } from '@cascade-lab/data';
import { generateContentCascades } from '@cascade-lab/simulation';

export const SYNTHETIC_DEFAULTS = { cascades: 8000, seed: 2021, vocabulary: 500, textWeight: 2, baseA: 1 };
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEFAULT_SYNTHETIC_DIR = join(repoRoot, '.cascade/synthetic/gammacas-content');

/** The generator settings of the evidence (everything else: the generator's defaults). */
export function makeSynthetic(outDir: string, cascades: number, seed: number, vocabulary: number, textWeight: number, baseA: number): void {
  const data = generateContentCascades({
    numCascades: cascades,
    rng: Rng.fromSeed(seed),
    // 500 words (the generator's default is 2,000): each word then occurs about 100 times in the
    // 6,480 training roots, enough to learn its virality from the noisy sizes.
    vocabularySize: vocabulary,
    // log A = log 3 + textWeight * (mean virality of the words) + 1.5 (novelty - 1/2): weight 2 (the
    // generator's default is 1) makes the text explain about as much of log A as the novelty.
    textWeight,
    // A = 1 at text score 0 and novelty 1/2 (the generator's default is 3): about 8 retweets in the
    // first 6 h. With 3 (about 23), the window's count already pins A down to about 20%, and the
    // content can only add little: content matters for cascades that are still small when observed.
    baseA,
    // Retweets up to 360 h, so every GammaCas horizon (12 ... 360 h) has a known size.
    horizonHours: 360,
  });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'cascades.jsonl'), writeJsonl(data.cascades));
  writeFileSync(join(outDir, 'truth.json'), JSON.stringify(data.truth));
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(arg('out') ?? DEFAULT_SYNTHETIC_DIR);
  const n = Number(arg('cascades') ?? SYNTHETIC_DEFAULTS.cascades);
  const seed = Number(arg('seed') ?? SYNTHETIC_DEFAULTS.seed);
  const vocabulary = Number(arg('vocabulary') ?? SYNTHETIC_DEFAULTS.vocabulary);
  const textWeight = Number(arg('text-weight') ?? SYNTHETIC_DEFAULTS.textWeight);
  const baseA = Number(arg('base-a') ?? SYNTHETIC_DEFAULTS.baseA);
  makeSynthetic(out, n, seed, vocabulary, textWeight, baseA);
  console.log(`wrote ${n} synthetic content cascades (seed ${seed}, ${vocabulary} words, text weight ${textWeight}, base A ${baseA}) to ${out}`);
}
