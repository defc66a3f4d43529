import { Rng } from '@cascade-lab/core';
import { spearmanRho } from '@cascade-lab/metrics';
import { expectedSize, generateContentCascades, tokenNovelty } from './content-cascades.js';

describe('content-driven cascades (text and news novelty)', () => {
  it('measures novelty as the share of distinct words missing from the news (hand)', () => {
    expect(tokenNovelty(['a', 'b', 'b', 'c', 'd'], [['a', 'x'], ['c']])).toBe(0.5);
    expect(tokenNovelty(['a'], [])).toBe(1);
    expect(tokenNovelty([], [['a']])).toBe(0);
  });

  const data = generateContentCascades({ numCascades: 1500, rng: Rng.fromSeed('content') });

  it('emits MacroCascades with text, past news and follower counts', () => {
    const c = data.cascades[0];
    expect(c.text).toHaveLength(8);
    expect(c.observedUntil).toBe(240 * 3600);
    for (const n of c.news!) {
      expect(n.time).toBeLessThan(0);
      expect(n.time).toBeGreaterThanOrEqual(-12 * 3600);
    }
    for (const e of c.events) expect(e.time >= 0 && e.time <= 240 * 3600 && e.followers >= 1).toBe(true);
    // the truth's novelty is what tokenNovelty says about the emitted text and news
    for (let i = 0; i < 50; i++) expect(data.truth[i].novelty).toBe(tokenNovelty(data.cascades[i].text!, data.cascades[i].news!.map((n) => n.tokens)));
  });

  it('grows as the GammaCas curve says: sizes at 24 h match 1 + integral A t^g e^(-lambda t)', () => {
    // sum over cascades of (size_c(24h) - E_c) / sqrt(sum Var_c), Var_c = E_c - 1 (Poisson count), ~ N(0, 1)
    let dev = 0, variance = 0;
    data.cascades.forEach((c, i) => {
      const size24 = 1 + c.events.filter((e) => e.time <= 24 * 3600).length;
      const e = expectedSize(data.truth[i], 24);
      dev += size24 - e;
      variance += e - 1;
    });
    expect(Math.abs(dev / Math.sqrt(variance))).toBeLessThan(4);
  });

  it('retweet times follow the truncated Gamma(g+1, lambda) law: mean over [0, 240 h]', () => {
    // (a/lam) * gammainc(a+1, lam*H) / gammainc(a, lam*H), a = 1.5, lam = 0.1, H = 240 -> 14.999999949915384 h (scipy)
    // sd of Gamma(1.5, 0.1) = sqrt(1.5)/0.1 = 12.25 h
    const times = data.cascades.flatMap((c) => c.events.map((e) => e.time / 3600));
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    expect(Math.abs(mean - 14.999999949915384)).toBeLessThan((4.5 * 12.25) / Math.sqrt(times.length));
  });

  it('makes growth depend on the words and on novelty (the signals GammaCas should learn)', () => {
    const sizes = data.cascades.map((c) => c.events.length + 1);
    const novelty = data.truth.map((t) => t.novelty);
    const text = data.truth.map((t) => t.textScore);
    expect(Math.min(...novelty)).toBeLessThan(0.2);
    expect(Math.max(...novelty)).toBe(1);
    expect(spearmanRho(novelty, sizes)).toBeGreaterThan(0.2);
    expect(spearmanRho(text, sizes)).toBeGreaterThan(0.2);
    // textScore is the mean virality of the emitted words
    const t0 = data.cascades[0].text!.reduce((a, w) => a + data.wordVirality[Number(w.slice(1))], 0) / 8;
    expect(data.truth[0].textScore).toBeCloseTo(t0, 12);
  });

  it("in 'story' mode copies echoed words from one news item and adds its virality to log A", () => {
    const story = generateContentCascades({ numCascades: 400, rng: Rng.fromSeed('story'), echo: 'story', tokensPerNews: 20, storyWeight: 4, textWeight: 0.5, noveltyWeight: 0.5 });
    let withStory = 0;
    story.cascades.forEach((c, i) => {
      const t = story.truth[i];
      // log A = log 3 + 0.5 textScore + 0.5 (novelty - 1/2) + 4 storyScore (generator base A 3)
      expect(Math.log(t.A)).toBeCloseTo(Math.log(3) + 0.5 * t.textScore + 0.5 * (t.novelty - 0.5) + 4 * t.storyScore, 10);
      const newsWords = new Set(c.news!.flatMap((n) => n.tokens));
      const echoed = c.text!.filter((w) => newsWords.has(w));
      if (t.storyScore === 0 || echoed.length < 3) return;
      // Some single item holds every echoed word that is not there by chance, and its word
      // virality is the story score.
      const items = c.news!.filter((n) => Math.abs(n.tokens.reduce((a, w) => a + story.wordVirality[Number(w.slice(1))], 0) / n.tokens.length - t.storyScore) < 1e-12);
      expect(items.length).toBeGreaterThan(0);
      if (items.some((n) => echoed.every((w) => n.tokens.includes(w)))) withStory++;
    });
    // Random words fall in some window news item now and then; most posts echo only their story.
    expect(withStory).toBeGreaterThan(100);
    // The default 'words' mode has no story.
    expect(data.truth.every((t) => t.storyScore === 0)).toBe(true);
  });
});
