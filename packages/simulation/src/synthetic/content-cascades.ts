/**
 * Macroscopic cascades whose growth depends on the root post's words and on how new they are
 * against a stream of news items: the signals of GammaCas' content path (GammaCas paper §3: word
 * attention over the root text, news attention, mu scaling A), which no public dataset carries.
 *
 * Generative story, all in hours:
 * 1. A vocabulary of words `w0 .. w{V-1}`, each with a virality v_w ~ N(0, 1) (the ground truth a
 *    text model should pick up).
 * 2. A news stream: items arrive as a Poisson process over [0, streamHours], each with
 *    `tokensPerNews` words drawn uniformly.
 * 3. Each cascade: root time t0 uniform in [noveltyWindowHours, streamHours]; an echo probability
 *    e ~ U(0, 1); each of its `tokensPerPost` words is, with probability e, copied from a news item
 *    of the window [t0 - noveltyWindowHours, t0), else drawn uniformly. With `echo: 'words'` each
 *    copied word comes from an item drawn afresh; with `echo: 'story'` the post is about one story,
 *    an item of the window drawn once, and copies all its echoed words from it. Novelty = the
 *    fraction of its distinct words that occur in no news item of that window (`tokenNovelty`).
 * 4. Growth rate (the GammaCas curve): retweets arrive as a Poisson process with intensity
 *    A t^gamma e^(-lambda t) (t in hours since the root), with
 *    log A = log baseA + textWeight * mean_w v_w + noveltyWeight * (novelty - 1/2)
 *            + storyWeight * (mean virality of the story's words; 0 without a story);
 *    the story term is the exogenous signal: the story's words mostly do not reach the post, so
 *    a model sees it fully only by attending to the news item itself.
 *    The expected size at P hours is 1 + integral_0^P A t^gamma e^(-lambda t) dt (`expectedSize`).
 * 5. Each retweet has a follower count from the Pareto(2.016) mark law.
 */
import type { MacroCascade, NewsItem, RetweetEvent, Rng } from '@cascade-lab/core';
import { followerCount, gammaGrowthIntegral, gammaVariate, poisson, regularizedLowerGamma } from './distributions.js';

export interface ContentCascadeOptions {
  numCascades: number;
  rng: Rng;
  vocabularySize?: number;
  tokensPerPost?: number;
  tokensPerNews?: number;
  newsPerHour?: number;
  noveltyWindowHours?: number;
  streamHours?: number;
  /** A at text score 0 and novelty 1/2, in retweets per hour^(gamma+1). */
  baseA?: number;
  textWeight?: number;
  noveltyWeight?: number;
  /** How echoed words pick their news item: 'words' (each afresh, default) or 'story' (one item per post). */
  echo?: 'words' | 'story';
  /** Weight of the story's word virality in log A (echo 'story' only; default 0). */
  storyWeight?: number;
  gamma?: number;
  lambdaPerHour?: number;
  /** Retweets are generated up to this many hours after the root (the data's end). */
  horizonHours?: number;
  followerAlpha?: number;
}

/** What generated one cascade. */
export interface ContentCascadeTruth {
  id: string;
  A: number;
  gamma: number;
  lambdaPerHour: number;
  /** Fraction of the root's distinct words absent from the recent news. */
  novelty: number;
  /** Mean virality of the root's words. */
  textScore: number;
  /** Mean virality of the words of the story the post echoes (echo 'story'; 0 without one). */
  storyScore: number;
}

export interface ContentCascadeData {
  cascades: MacroCascade[];
  truth: ContentCascadeTruth[];
  /** Virality of word `w<i>` at index i. */
  wordVirality: Float64Array;
  /** The whole news stream (time in hours since the stream's start). */
  newsStream: { hours: number; tokens: string[] }[];
}

/** Unix time of hour 0 of the synthetic stream (2021-01-01T00:00:00Z). */
export const STREAM_EPOCH_SECONDS = 1609459200;

/** Fraction of the distinct `tokens` that occur in none of `news` (1 when there is no news; 0 for no tokens). */
export function tokenNovelty(tokens: readonly string[], news: readonly (readonly string[])[]): number {
  const distinct = new Set(tokens);
  if (distinct.size === 0) return 0;
  const seen = new Set<string>();
  for (const item of news) for (const t of item) seen.add(t);
  let fresh = 0;
  for (const t of distinct) if (!seen.has(t)) fresh++;
  return fresh / distinct.size;
}

/** Expected size (root included) at `hours` after the root: 1 + integral of the growth rate. */
export function expectedSize(truth: Pick<ContentCascadeTruth, 'A' | 'gamma' | 'lambdaPerHour'>, hours: number): number {
  return 1 + gammaGrowthIntegral(truth.A, truth.gamma, truth.lambdaPerHour, hours);
}

/** A retweet time in [0, H] hours with density proportional to t^gamma e^(-lambda t). */
function growthTime(rng: Rng, gamma: number, lambda: number, H: number): number {
  const a = gamma + 1;
  if (lambda > 0 && regularizedLowerGamma(a, lambda * H) >= 0.5) {
    // Gamma(a, lambda) restricted to [0, H]: accepted at least half the time.
    for (;;) {
      const t = gammaVariate(rng, a, lambda);
      if (t <= H) return t;
    }
  }
  // Proposal t^gamma on [0, H] (t = H U^(1/a)), accepted with probability e^(-lambda t) >= e^(-lambda H).
  for (;;) {
    const t = H * Math.pow(1 - rng.next(), 1 / a);
    if (lambda === 0 || rng.next() < Math.exp(-lambda * t)) return t;
  }
}

export function generateContentCascades(options: ContentCascadeOptions): ContentCascadeData {
  const V = options.vocabularySize ?? 2000;
  const L = options.tokensPerPost ?? 8;
  const Ln = options.tokensPerNews ?? 10;
  const newsRate = options.newsPerHour ?? 1;
  const W = options.noveltyWindowHours ?? 12;
  const T = options.streamHours ?? 24 * 30;
  const baseA = options.baseA ?? 3;
  const textWeight = options.textWeight ?? 1;
  const noveltyWeight = options.noveltyWeight ?? 1.5;
  const echoMode = options.echo ?? 'words';
  const storyWeight = options.storyWeight ?? 0;
  const gamma = options.gamma ?? 0.5;
  const lambda = options.lambdaPerHour ?? 0.1;
  const H = options.horizonHours ?? 240;
  const alpha = options.followerAlpha ?? 2.016;
  if (!(T > W)) throw new RangeError('generateContentCascades: streamHours must exceed noveltyWindowHours');
  if (!(gamma > -1) || !(lambda >= 0) || !(baseA > 0) || !(H > 0)) throw new RangeError('generateContentCascades: need gamma > -1, lambda >= 0, baseA > 0, horizonHours > 0');
  const rng = options.rng;
  const word = (i: number): string => `w${i}`;

  const vocabRng = rng.derive('vocabulary');
  const wordVirality = new Float64Array(V);
  for (let i = 0; i < V; i++) wordVirality[i] = vocabRng.normal();

  const newsRng = rng.derive('news');
  const newsStream: ContentCascadeData['newsStream'] = [];
  for (let t = newsRng.exponential(newsRate); t < T; t += newsRng.exponential(newsRate)) {
    newsStream.push({ hours: t, tokens: Array.from({ length: Ln }, () => word(newsRng.int(V))) });
  }

  const cascades: MacroCascade[] = [];
  const truth: ContentCascadeTruth[] = [];
  for (let c = 0; c < options.numCascades; c++) {
    const crng = rng.derive(`cascade:${c}`);
    const id = `content-${c}`;
    const t0 = crng.uniform(W, T);
    const window = newsStream.filter((n) => n.hours >= t0 - W && n.hours < t0);
    const echo = crng.next();
    const story = echoMode === 'story' && window.length > 0 ? window[crng.int(window.length)] : null;
    const text: string[] = [];
    for (let k = 0; k < L; k++) {
      if (window.length > 0 && crng.next() < echo) {
        const item = story ?? window[crng.int(window.length)];
        text.push(item.tokens[crng.int(item.tokens.length)]);
      } else text.push(word(crng.int(V)));
    }
    let storyScore = 0;
    if (story) {
      for (const t of story.tokens) storyScore += wordVirality[Number(t.slice(1))];
      storyScore /= story.tokens.length;
    }
    const novelty = tokenNovelty(
      text,
      window.map((n) => n.tokens),
    );
    let textScore = 0;
    for (const t of text) textScore += wordVirality[Number(t.slice(1))];
    textScore /= L;
    const A = baseA * Math.exp(textWeight * textScore + noveltyWeight * (novelty - 0.5) + storyWeight * storyScore);
    const count = poisson(crng, gammaGrowthIntegral(A, gamma, lambda, H));
    const events: RetweetEvent[] = [];
    for (let k = 0; k < count; k++) events.push({ time: growthTime(crng, gamma, lambda, H) * 3600, followers: followerCount(crng, alpha, 1) });
    events.sort((a, b) => a.time - b.time);
    const news: NewsItem[] = window.map((n) => ({ time: (n.hours - t0) * 3600, tokens: [...n.tokens] }));
    cascades.push({
      id,
      rootTime: STREAM_EPOCH_SECONDS + t0 * 3600,
      rootFollowers: followerCount(crng, alpha, 1),
      events,
      text,
      news,
      observedUntil: H * 3600,
    });
    truth.push({ id, A, gamma, lambdaPerHour: lambda, novelty, textScore, storyScore });
  }
  return { cascades, truth, wordVirality, newsStream };
}
