import { readFileSync } from 'node:fs';
import { END_USER, PAD_USER, Rng, type Cascade, type MacroCascade } from '@cascade-lab/core';
import { dataPath } from './data-dir.test-util.js';
import {
  Vocabulary,
  WordVocabulary,
  degrees,
  hasEdge,
  idx2uFromPickle,
  makeSequenceBatches,
  neighbours,
  padCascades,
  readMicroscopicSource,
  resolveWindow,
  sampleNonEdges,
  sizeAt,
  splitDataset,
  toCsr,
  tokenize,
  transpose,
  unpickle,
  windowCascade,
  windowCascades,
} from './index.js';

const cascade = (id: string, users: number[], t0 = 100): Cascade => ({ id, events: users.map((user, i) => ({ user, time: t0 + 10 * i })) });

describe('vocabularies', () => {
  test('user vocabulary: <blank>=0, </s>=1, users from 2 in order of addition', () => {
    const v = new Vocabulary(['u7', 'u3']);
    expect([v.rawIdOf(PAD_USER), v.rawIdOf(END_USER), v.indexOf('u7'), v.indexOf('u3'), v.add('u7'), v.add('x'), v.size, v.userCount]).toEqual(['<blank>', '</s>', 2, 3, 2, 4, 5, 3]);
    expect(v.indexOf('nobody')).toBeUndefined();
    expect(() => v.rawIdOf(9)).toThrow(RangeError);
  });

  test('word vocabulary: by frequency, ties by first appearance, minCount and maxWords', () => {
    const docs = [['b', 'a', 'c'], ['a', 'c'], ['a', 'd']];
    const v = WordVocabulary.build(docs);
    // counts a 3, c 2, b 1, d 1 -> a, c, b, d after <pad>, <unk>
    expect(v.toWords()).toEqual(['<pad>', '<unk>', 'a', 'c', 'b', 'd']);
    expect(Array.from(v.encode(['d', 'zz', 'a']))).toEqual([5, 1, 2]);
    expect(Array.from(v.encode(['d', 'zz', 'a'], 2))).toEqual([5, 1]);
    expect(WordVocabulary.build(docs, { minCount: 2 }).toWords()).toEqual(['<pad>', '<unk>', 'a', 'c']);
    expect(WordVocabulary.build(docs, { maxWords: 1 }).toWords()).toEqual(['<pad>', '<unk>', 'a']);
    expect(WordVocabulary.fromWords(v.toWords()).toWords()).toEqual(v.toWords());
  });

  test('tokenizer: lower case words, hashtags, mentions; Han characters one by one', () => {
    expect(tokenize('RT @Bob: Floods in #Chennai, 2015!')).toEqual(['rt', '@bob', 'floods', 'in', '#chennai', '2015']);
    expect(tokenize('北京暴雨 news')).toEqual(['北', '京', '暴', '雨', 'news']);
  });
});

describe("NDM idx2u.pickle reader", () => {
  // python3: base64.b64encode(pickle.dumps(['<blank>','</s>','229','333','0'], protocol=P))
  const P = {
    2: 'gAJdcQAoWAcAAAA8Ymxhbms+cQFYBAAAADwvcz5xAlgDAAAAMjI5cQNYAwAAADMzM3EEWAEAAAAwcQVlLg==',
    4: 'gASVJgAAAAAAAABdlCiMBzxibGFuaz6UjAQ8L3M+lIwDMjI5lIwDMzMzlIwBMJRlLg==',
    5: 'gAWVJgAAAAAAAABdlCiMBzxibGFuaz6UjAQ8L3M+lIwDMjI5lIwDMzMzlIwBMJRlLg==',
  };
  test.each(Object.entries(P))('protocol %s', (_, b64) => {
    expect(idx2uFromPickle(Buffer.from(b64, 'base64'), 'idx2u.pickle')).toEqual(['229', '333', '0']);
  });
  test('Python 2 str (SHORT_BINSTRING), hand-assembled; pickle.loads(..., encoding="latin1") gives the same list', () => {
    const py2 = Buffer.from('gAJdcQAoVQc8Ymxhbms+cQFVBDwvcz5xAlUDMjI5cQNlLg==', 'base64');
    expect(idx2uFromPickle(py2, 'p')).toEqual(['229']);
  });
  test('a dict of strings to integers (u2idx.pickle)', () => {
    // pickle.dumps({'<blank>':0,'</s>':1,'229':2,'x':70000}, protocol=4)
    const d = unpickle(Buffer.from('gASVKwAAAAAAAAB9lCiMBzxibGFuaz6USwCMBDwvcz6USwGMAzIyOZRLAowBeJRKcBEBAHUu', 'base64'), 'u2idx.pickle');
    expect(d).toEqual(new Map<string, number>([['<blank>', 0], ['</s>', 1], ['229', 2], ['x', 70000]]));
  });
  test('refuses other objects (a set: EMPTY_SET opcode) and truncated data', () => {
    expect(() => unpickle(Buffer.from('gASVCQAAAAAAAACPlCiMAWGUkC4=', 'base64'), 's.pickle')).toThrow(/unsupported opcode 0x8f/);
    expect(() => unpickle(Buffer.from(P[4], 'base64').subarray(0, 20), 't.pickle')).toThrow(/truncated/);
  });
});

describe('seeded splits', () => {
  const items = Array.from({ length: 20 }, (_, i) => i);

  test("the dataset's own train/test: validation = round(10% of train), everything in input order", () => {
    const s = splitDataset({ train: items.slice(0, 10), test: [100, 101, 102] }, { seed: 1 });
    expect(s.test).toEqual([100, 101, 102]);
    expect(s.validation).toHaveLength(1);
    expect(s.train).toHaveLength(9);
    expect([...s.train, ...s.validation].sort((a, b) => a - b)).toEqual(items.slice(0, 10));
    expect(s.train).toEqual([...s.train].sort((a, b) => a - b));
  });

  test('own validation file is used as is', () => {
    expect(splitDataset({ train: [1, 2], validation: [3], test: [4] })).toEqual({ train: [1, 2], validation: [3], test: [4] });
  });

  test('pooled: 20 -> test round(2.0)=2, validation round(1.8)=2, train 16; same seed same split', () => {
    const a = splitDataset({ all: items }, { seed: 7 });
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([16, 2, 2]);
    expect([...a.train, ...a.validation, ...a.test].sort((x, y) => x - y)).toEqual(items);
    expect(splitDataset({ all: items }, { seed: 7 })).toEqual(a);
    expect(splitDataset({ all: items }, { seed: 'seven' })).not.toEqual(a);
    expect(splitDataset({ train: items.slice(0, 15), test: items.slice(15) }, { seed: 7, useDatasetSplits: false })).toEqual(a);
  });

  test('fractions: 0 validation, and out-of-range values refused', () => {
    expect(splitDataset({ all: items }, { validationFraction: 0 }).validation).toEqual([]);
    expect(() => splitDataset({ all: items }, { testFraction: 1 })).toThrow(RangeError);
  });

  test('Irvine: 424 train -> 382 train + 42 validation; the 47 test cascades of cascadetest.txt', async () => {
    const src = await readMicroscopicSource(dataPath('micro/irvine'), 'ndm');
    const s = splitDataset(src.parts, { seed: 0 });
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([382, 42, 47]);
  });
});

describe('sequence batches', () => {
  test('padding, </s>, mask, lengths, times (hand-built)', () => {
    const b = padCascades([cascade('x', [5, 6, 7]), cascade('y', [8]), cascade('z', [9, 4], 50)], { times: true });
    expect([b.batchSize, b.maxLength]).toEqual([3, 4]);
    expect(Array.from(b.users)).toEqual([5, 6, 7, 1, 8, 1, 0, 0, 9, 4, 1, 0]);
    expect(Array.from(b.mask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0]);
    expect(Array.from(b.lengths)).toEqual([4, 2, 3]);
    expect(Array.from(b.times!)).toEqual([0, 10, 20, 0, 0, 0, 0, 0, 0, 10, 0, 0]);
  });

  test('maxLength cuts a cascade and gives it no </s>; appendEnd false', () => {
    const b = padCascades([cascade('x', [5, 6, 7]), cascade('y', [8])], { maxLength: 2 });
    expect(Array.from(b.users)).toEqual([5, 6, 8, 1]);
    expect(Array.from(padCascades([cascade('y', [8, 9])], { appendEnd: false }).users)).toEqual([8, 9]);
  });

  test('bucketing by length removes padding: lengths 1,8,1,8 in batches of 2', () => {
    const cs = [cascade('a', [2]), cascade('b', [2, 3, 4, 5, 6, 7, 8, 9]), cascade('c', [3]), cascade('d', [9, 8, 7, 6, 5, 4, 3, 2])];
    // none: batches {a,b} {c,d}, width 9 each: 36 cells, real 2+9+2+9 = 22, waste 14/36.
    const none = makeSequenceBatches(cs, { batchSize: 2, bucketing: 'none' });
    expect(none.paddingWaste).toBeCloseTo(14 / 36, 12);
    // sorted: {a,c} width 2, {b,d} width 9: 22 cells, all real.
    const sorted = makeSequenceBatches(cs, { batchSize: 2 });
    expect(sorted.paddingWaste).toBe(0);
    expect(sorted.batches.map((x) => Array.from(x.indices))).toEqual([[0, 2], [1, 3]]);
  });

  test('seeded shuffling: every cascade once, same seed same batches, dropLast', async () => {
    const src = await readMicroscopicSource(dataPath('micro/memetracker'), 'ndm');
    const cs = src.parts.train!;
    const plan = makeSequenceBatches(cs, { batchSize: 32, rng: Rng.fromSeed(3).derive('epoch:0') });
    const seen = plan.batches.flatMap((b) => Array.from(b.indices)).sort((a, b) => a - b);
    expect(seen).toEqual(cs.map((_, i) => i));
    const again = makeSequenceBatches(cs, { batchSize: 32, rng: Rng.fromSeed(3).derive('epoch:0') });
    expect(again.batches.map((b) => b.indices[0])).toEqual(plan.batches.map((b) => b.indices[0]));
    // 7,474 cascades / 32 = 233 full batches (+ 18 left over, dropped).
    expect(makeSequenceBatches(cs, { batchSize: 32, dropLast: true }).batches).toHaveLength(233);
    const unbucketed = makeSequenceBatches(cs, { batchSize: 32, bucketing: 'none', rng: Rng.fromSeed(3) });
    expect(plan.paddingWaste).toBeLessThan(unbucketed.paddingWaste);
    // Each row: the cascade's users then </s> then padding.
    const b = plan.batches[0];
    const c = cs[b.indices[0]];
    expect(Array.from(b.users.subarray(0, c.events.length + 1))).toEqual([...c.events.map((e) => e.user), END_USER]);
  });
});

describe('observation window', () => {
  // Hand example: window 1 h in 6 bins of 10 min; horizons 2 h and 3 h.
  const opts = { observationWindowSeconds: 3600, binWidthSeconds: 600, horizonsHours: [2, 3] };
  const c: MacroCascade = {
    id: 'h',
    rootTime: 0,
    rootFollowers: 50,
    events: [0, 600, 601, 3600, 3601, 7200, 9000].map((time, i) => ({ time, followers: 10 ** i })),
    text: ['flood', 'rain'],
  };

  test('bins ((m-1)d, md], the first holding t = 0; follower sums; observed size; sizes t <= T', () => {
    const w = windowCascade(c, opts);
    // t=0 and t=600 -> bin 0; 601 -> bin 1; 3600 -> bin 5; 3601 is after the window.
    expect(Array.from(w.counts)).toEqual([2, 1, 0, 0, 0, 1]);
    expect(Array.from(w.followerSums)).toEqual([1 + 10, 100, 0, 0, 0, 1000]);
    expect(w.observedSize).toBe(5);
    expect(w.windowEvents).toHaveLength(4);
    // 2 h = 7200 s: root + 6 retweets with t <= 7200 = 7; 3 h = 10800 s is past the last event (9000): unknown.
    expect(w.targets[0]).toBe(7);
    expect(Number.isNaN(w.targets[1])).toBe(true);
  });

  test('a known observation end makes later horizons known; sizes never carried past it', () => {
    expect(windowCascade({ ...c, observedUntil: 10800 }, opts).targets[1]).toBe(8);
    expect(sizeAt({ ...c, observedUntil: 10000 }, 10800)).toBeNaN();
    expect(sizeAt(c, 0)).toBe(2);
  });

  test('dataset policy: mark (NaN), drop, and observations shorter than the window', () => {
    const short: MacroCascade = { ...c, id: 's', observedUntil: 1800, events: c.events.slice(0, 3) };
    const marked = windowCascades([c, short], opts);
    expect(marked.cascades.map((x) => x.id)).toEqual(['h']);
    expect(marked.droppedShortObservation).toBe(1);
    const dropped = windowCascades([c], { ...opts, pastEnd: 'drop' });
    expect([dropped.cascades.length, dropped.droppedPastEnd]).toEqual([0, 1]);
  });

  test('unordered or negative retweet times are refused, not binned wrongly', () => {
    expect(() => windowCascade({ ...c, events: [{ time: 50, followers: 0 }, { time: 10, followers: 0 }] }, opts)).toThrow(/time order/);
    expect(() => windowCascade({ ...c, events: [{ time: -5, followers: 0 }] }, opts)).toThrow(/negative time/);
  });

  test('defaults: 6 h / 5 min = 72 bins, GammaCas horizons; bad settings refused', () => {
    expect(resolveWindow()).toEqual({ observationWindowSeconds: 21600, binWidthSeconds: 300, numBins: 72, horizonsHours: [12, 18, 24, 36, 48, 72, 120, 240, 360] });
    expect(() => resolveWindow({ binWidthSeconds: 7 })).toThrow(/whole number of bins/);
    expect(() => resolveWindow({ horizonsHours: [3] })).toThrow(/inside the observation window/);
    expect(() => resolveWindow({ horizonsHours: [12, 12] })).toThrow(/strictly increasing/);
  });

  test('text tokens of the window', () => {
    const words = WordVocabulary.build([['rain', 'rain', 'flood']]);
    const w1 = windowCascade(c, { ...opts, words });
    expect(Array.from(w1.textTokens!)).toEqual([3, 2]);
  });
});

describe('social graphs as CSR', () => {
  test('undirected: symmetric, deduplicated, rows sorted (hand-built)', () => {
    const g = toCsr({ directed: false, numNodes: 5, edges: Int32Array.from([2, 3, 3, 2, 2, 4, 4, 4]) });
    expect(Array.from(g.offsets)).toEqual([0, 0, 0, 2, 3, 5]);
    expect(Array.from(g.targets)).toEqual([3, 4, 2, 2, 4]);
    expect(Array.from(neighbours(g, 4))).toEqual([2, 4]);
    expect([hasEdge(g, 3, 2), hasEdge(g, 3, 4)]).toEqual([true, false]);
    expect(Array.from(degrees(toCsr({ directed: false, numNodes: 5, edges: Int32Array.from([2, 3, 4, 4]) }, { dropSelfLoops: true })))).toEqual([0, 0, 1, 1, 0]);
  });

  test('directed, and its transpose', () => {
    const g = toCsr({ directed: true, numNodes: 4, edges: Int32Array.from([2, 3, 3, 1]) });
    expect([hasEdge(g, 2, 3), hasEdge(g, 3, 2)]).toEqual([true, false]);
    const t = transpose(g);
    expect([hasEdge(t, 3, 2), hasEdge(t, 1, 3), hasEdge(t, 2, 3)]).toEqual([true, true, false]);
  });

  test('Christianity: 30,044 distinct undirected edges (python: len({tuple(sorted(e)) for e in edges})), no self-loops', async () => {
    const src = await readMicroscopicSource(dataPath('micro/christianity'), 'infvae');
    const g = toCsr(src.graph!);
    expect(g.targets.length).toBe(2 * 30044);
    const rng = Rng.fromSeed(5);
    const neg = sampleNonEdges(g, 200, rng);
    for (let k = 0; k < neg.length; k += 2) {
      expect(neg[k]).toBeGreaterThanOrEqual(2);
      expect(neg[k]).not.toBe(neg[k + 1]);
      expect(hasEdge(g, neg[k], neg[k + 1])).toBe(false);
    }
  });

  test('graph.txt line 2 "33 440" is an edge between vocabulary indices 35 and 442', () => {
    expect(readFileSync(dataPath('micro/christianity/graph.txt'), 'utf8').split('\n')[1]).toBe('33 440');
    return readMicroscopicSource(dataPath('micro/christianity'), 'infvae').then((src) => {
      expect(hasEdge(toCsr(src.graph!), 35, 442)).toBe(true);
      expect(src.users.indexOf('33')).toBe(35);
    });
  });
});
