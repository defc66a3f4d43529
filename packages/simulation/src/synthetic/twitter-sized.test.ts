import { RESERVED_USERS, Rng } from '@cascade-lab/core';
import { transmissionGraph } from '../graph.js';
import { cascadeLengthStats, edgesShownInOrder, TWITTER_SIZED_DEFAULTS, twitterSizedCascades, twitterSizedDataset } from './twitter-sized.js';

// The full preset takes well under a second to generate, so the shape is checked at full size.
const full = twitterSizedCascades({ seed: 1 });

describe('twitterSizedCascades', () => {
  it('is reproducible from the seed, and another seed gives another set', () => {
    const again = twitterSizedCascades({ seed: 1 });
    expect(again.rates).toEqual(full.rates);
    expect(again.targets).toEqual(full.targets);
    // JSON round-trips doubles exactly, and compares 113,000 events much faster than toEqual.
    expect(JSON.stringify(again.cascades)).toBe(JSON.stringify(full.cascades));
    // An Rng seeded the same way is the same generator.
    expect(twitterSizedCascades({ seed: Rng.fromSeed(1), numCascades: 50 }).cascades).toEqual(full.cascades.slice(0, 50));
    const other = twitterSizedCascades({ seed: 2, numCascades: 50 });
    expect(other.cascades).not.toEqual(full.cascades.slice(0, 50));
  });

  it('has the NDM Twitter shape: 12,600 users, 3,000 cascades, mean length near 38, a tail past 2,000', () => {
    // The target is the NDM paper's Twitter row (mean 38, longest 2,368 in the public set of that
    // size). Seed 1 measured once: mean 37.46, median 14, max 2,466; the bounds are the tolerance the
    // preset promises for its default seed.
    const s = cascadeLengthStats(full.cascades);
    expect(full.numNodes - RESERVED_USERS).toBe(12600);
    expect(s.cascades).toBe(3000);
    expect(s.mean).toBeGreaterThan(35);
    expect(s.mean).toBeLessThan(41);
    expect(s.max).toBeGreaterThan(2000);
    expect(s.max).toBeLessThan(3000);
    expect(s.median).toBeLessThan(s.mean / 2); // heavy tailed: most cascades are short
  });

  it('keeps the mean within its tolerance on other seeds, with a long tail on each', () => {
    // Seeds 2-5 measured once: means 39.2, 37.1, 40.5, 38.9; maxima 1,891, 2,096, 2,125, 1,725.
    for (const seed of [2, 3, 4, 5]) {
      const s = cascadeLengthStats(twitterSizedCascades({ seed }).cascades);
      expect(s.mean).toBeGreaterThan(34);
      expect(s.mean).toBeLessThan(44);
      expect(s.max).toBeGreaterThan(1000);
    }
  });

  it('draws out-degrees from the stated power law: P(K >= k) = (k / 3)^-1.8', () => {
    const n = full.numNodes - RESERVED_USERS;
    const degree = new Int32Array(full.numNodes);
    for (let e = 0; e < full.sources.length; e++) degree[full.sources[e]]++;
    expect(degree[0] + degree[1]).toBe(0);
    expect(Math.min(...degree.slice(RESERVED_USERS))).toBe(TWITTER_SIZED_DEFAULTS.outDegree.min);
    expect(Math.max(...degree)).toBeLessThanOrEqual(TWITTER_SIZED_DEFAULTS.outDegree.max);
    // floor(3 U^(-1/1.8)) >= k  <=>  U <= (k / 3)^-1.8, so the share is exact for integer k >= 3:
    // (6/3)^-1.8 = 0.28717, (12/3)^-1.8 = 0.08247, (30/3)^-1.8 = 0.01585 (python3: (6/3)**-1.8 ...).
    // Tolerance 4 binomial standard deviations at n = 12,600 (sqrt(p (1 - p) / n) <= 0.0041).
    for (const [k, p] of [[6, 0.28717], [12, 0.08247], [30, 0.01585]]) {
      let atLeast = 0;
      for (let u = RESERVED_USERS; u < full.numNodes; u++) if (degree[u] >= k) atLeast++;
      expect(Math.abs(atLeast / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    }
    // Edges are distinct pairs without self loops, rates in the stated range.
    const seen = new Set<number>();
    let selfLoops = 0;
    for (let e = 0; e < full.sources.length; e++) {
      if (full.sources[e] === full.targets[e]) selfLoops++;
      seen.add(full.sources[e] * full.numNodes + full.targets[e]);
    }
    expect(selfLoops).toBe(0);
    expect(seen.size).toBe(full.sources.length);
    const [lo, hi] = TWITTER_SIZED_DEFAULTS.rateRange;
    expect(full.rates.every((r) => r >= lo && r <= hi)).toBe(true);
    expect(full.graph.edges.length).toBe(2 * full.sources.length);
    expect(full.graph.directed).toBe(true);
  });

  it('spreads only along true edges, with increasing times inside the observation window', () => {
    const edges = new Set<number>();
    for (let e = 0; e < full.sources.length; e++) edges.add(full.sources[e] * full.numNodes + full.targets[e]);
    // Problems are counted rather than asserted per event (113,000 events).
    const problems = { short: 0, start: 0, end: 0, user: 0, repeat: 0, late: 0, order: 0, orphan: 0 };
    for (const c of full.cascades) {
      if (c.events.length < 2) problems.short++;
      if (c.events[0].time !== 0) problems.start++;
      if (c.observationEnd !== TWITTER_SIZED_DEFAULTS.window) problems.end++;
      const users = new Set<number>();
      for (let k = 0; k < c.events.length; k++) {
        const { user, time } = c.events[k];
        if (!(user >= RESERVED_USERS && user < full.numNodes)) problems.user++;
        if (users.has(user)) problems.repeat++;
        users.add(user);
        if (time > c.observationEnd) problems.late++;
        if (k === 0) continue;
        if (!(time > c.events[k - 1].time)) problems.order++;
        // Some earlier user has a true edge to this one.
        let parent = false;
        for (let j = 0; j < k && !parent; j++) parent = edges.has(c.events[j].user * full.numNodes + user);
        if (!parent) problems.orphan++;
      }
    }
    expect(problems).toEqual({ short: 0, start: 0, end: 0, user: 0, repeat: 0, late: 0, order: 0, orphan: 0 });
  });

  it('transmits with the exponential law in hours: two users, one rate, closed forms', () => {
    // Two users, each the other's only follower, rate 0.5 per hour, window 2 hours, no redraw: a
    // cascade has two users with probability 1 - e^(-0.5 * 2) = 0.63212, and the second infection
    // time is a truncated exponential with mean 1/r - T e^(-rT) / (1 - e^(-rT)) = 0.83605 (scipy:
    // scipy.stats.truncexpon(b=1, scale=2).mean(), std 0.56330). 4,000 cascades: tolerance 4
    // standard errors (0.0076 and 0.0089 x 4 / sqrt(n / 4,000) at n two-user cascades).
    const d = twitterSizedCascades({ seed: 5, numUsers: 2, numCascades: 4000, outDegree: { min: 1, exponent: 1, max: 1 }, rateRange: [0.5, 0.5], window: 2, minLength: 1 });
    expect(d.sources.length).toBe(2);
    const two = d.cascades.filter((c) => c.events.length === 2);
    expect(Math.abs(two.length / 4000 - 0.63212)).toBeLessThan(4 * Math.sqrt((0.63212 * 0.36788) / 4000));
    const meanTime = two.reduce((a, c) => a + c.events[1].time, 0) / two.length;
    expect(Math.abs(meanTime - 0.83605)).toBeLessThan((4 * 0.5633) / Math.sqrt(two.length));
  });

  it('splits into a MicroscopicDataset with the NDM Twitter proportions and the true graph', () => {
    const ds = twitterSizedDataset(full);
    // 3,000 x 346 / 2,837 = 365.9 -> 366 test; 10% of the other 2,634 -> 263 validation.
    expect(ds.test.length).toBe(366);
    expect(ds.validation.length).toBe(263);
    expect(ds.train.length).toBe(3000 - 366 - 263);
    expect(ds.timeUnit).toBe('hours');
    expect(ds.users.size).toBe(full.numNodes);
    expect(ds.users.rawIdOf(ds.users.indexOf('u5')!)).toBe('u5');
    expect(ds.graph).toBe(full.graph);
  });

  it('edgesShownInOrder keeps the true edges whose source precedes the target in some cascade', () => {
    // Hand-built: users 2 -> 3, 3 -> 4, 4 -> 2, 2 -> 4; cascades [2, 3] and [4, 2]: shown 2 -> 3 and
    // 4 -> 2; 3 -> 4 never has both ends in one cascade, 2 -> 4 only in the wrong order.
    const sources = [2, 3, 4, 2];
    const targets = [3, 4, 2, 4];
    const network = transmissionGraph(5, sources, targets, [1, 1, 1, 1], { shared: false });
    const ev = (...users: number[]) => ({ id: 'c', observationEnd: 9, events: users.map((user, k) => ({ user, time: k })) });
    const g = edgesShownInOrder({ numNodes: 5, network, cascades: [ev(2, 3), ev(4, 2)] });
    expect(Array.from(g.edges)).toEqual([2, 3, 4, 2]);
    // On the preset: some edges are shown, far from all (3,000 cascades for ~79,000 edges).
    const shown = edgesShownInOrder(full);
    expect(shown.edges.length).toBeGreaterThan(0);
    expect(shown.edges.length).toBeLessThan(full.graph.edges.length);
  });

  it('refuses bad options', () => {
    expect(() => twitterSizedCascades({ seed: 1, numUsers: 1 })).toThrow(RangeError);
    expect(() => twitterSizedCascades({ seed: 1, rateRange: [0, 1] })).toThrow(RangeError);
    expect(() => twitterSizedCascades({ seed: 1, window: 0 })).toThrow(RangeError);
    expect(() => twitterSizedCascades({ seed: 1, outDegree: { min: 0, exponent: 1, max: 5 } })).toThrow(RangeError);
  });
});
