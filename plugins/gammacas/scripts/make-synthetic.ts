/**
 * Writes the synthetic text-and-news cascades of the GammaCas evidence (configs/experiments/
 * gammacas-synthetic.yaml) as our JSON Lines format: @cascade-lab/simulation's content-cascade
 * generator in its 'story' mode. Each root post is about one news story of the 12 h before it and
 * copies some of its words; its growth rate A t^gamma e^(-lambda t) has
 *   log A = log baseA + storyWeight * (story's word virality) + textWeight * (post's word virality)
 *           + noveltyWeight * (novelty of the post's words against the news - 1/2).
 * The story term is the exogenous signal of GammaCas (§3.5): a 20-word story reaches the post only
 * through the few words the post copies: the counts see it only through the retweets it brings,
 * the post's text sees part of it, and the news attention (which reads the whole story) all of it.
 *
 *   node --import tsx plugins/gammacas/scripts/make-synthetic.ts [--out DIR] [--cascades N] [--seed S]
 *        [--vocabulary V] [--story-weight W] [--text-weight W] [--novelty-weight W] [--base-a A]
 *
 * Default DIR: <repo>/.cascade/synthetic/gammacas-content (git-ignored); it gets cascades.jsonl and
 * truth.json (each cascade's generating A, story score, text score and novelty).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { writeJsonl } from '@cascade-lab/data';
import { generateContentCascades } from '@cascade-lab/simulation';

export interface SyntheticSettings {
  cascades: number;
  seed: number;
  vocabulary: number;
  storyWeight: number;
  textWeight: number;
  noveltyWeight: number;
  baseA: number;
}

export const SYNTHETIC_DEFAULTS: SyntheticSettings = {
  // 19,440 training cascades after the 10% test and 10% validation splits. With 6,480 (8,000
  // cascades) the content path over-fitted the training cascades and no variant beat counts-only
  // (plugins/gammacas/README.md, "Evidence").
  cascades: 24000,
  seed: 2021,
  // 500 words (the generator's default is 2,000): each then occurs in about 750 of the 19,440
  // training windows' news, enough to learn its virality from the noisy sizes.
  vocabulary: 500,
  // The story's score is the mean of 20 standard normal viralities (sd 0.22): weight 4 makes it the
  // main content effect (sd 0.9 in log A).
  storyWeight: 4,
  // The post's own words (sd 0.35 as a mean of 8): a smaller effect, visible to the text models.
  textWeight: 0.5,
  // The novelty premium (the paper's Fig. 1 finding), kept small: no variant reads it linearly.
  noveltyWeight: 0.5,
  // A = 1 at zero scores: about 8 retweets in the first 6 h. With 3 (about 23), the window's count
  // already pins A down to about 20%, and the content can only add little: content matters for
  // cascades that are still small when observed.
  baseA: 1,
};
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEFAULT_SYNTHETIC_DIR = join(repoRoot, '.cascade/synthetic/gammacas-content');

export function makeSynthetic(outDir: string, settings: SyntheticSettings): void {
  const data = generateContentCascades({
    numCascades: settings.cascades,
    rng: Rng.fromSeed(settings.seed),
    vocabularySize: settings.vocabulary,
    echo: 'story',
    // Stories of 20 words: a post of 8 copies a few of them.
    tokensPerNews: 20,
    storyWeight: settings.storyWeight,
    textWeight: settings.textWeight,
    noveltyWeight: settings.noveltyWeight,
    baseA: settings.baseA,
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
  const num = (name: string, fallback: number): number => Number(arg(name) ?? fallback);
  const d = SYNTHETIC_DEFAULTS;
  const settings: SyntheticSettings = {
    cascades: num('cascades', d.cascades),
    seed: num('seed', d.seed),
    vocabulary: num('vocabulary', d.vocabulary),
    storyWeight: num('story-weight', d.storyWeight),
    textWeight: num('text-weight', d.textWeight),
    noveltyWeight: num('novelty-weight', d.noveltyWeight),
    baseA: num('base-a', d.baseA),
  };
  makeSynthetic(out, settings);
  console.log(`wrote ${settings.cascades} synthetic content cascades to ${out} (${JSON.stringify(settings)})`);
}
