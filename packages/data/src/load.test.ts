import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CascadeError, ConfigError, MemoryLogger, type Cascade } from '@cascade-lab/core';
import { dataPath } from './data-dir.test-util.js';
import { datasetConfigSchema, loadDeepCasDataset, loadMacroscopicDataset, loadMicroscopicDataset, parseDatasetConfig, writeJsonl } from './index.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'cascade-load-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const store = () => ({ cacheDir: path.join(tmp, 'no-cache'), dataDir: dataPath(), download: false });

describe('the dataset config section', () => {
  test('defaults', () => {
    const c = parseDatasetConfig({ name: 'memetracker' });
    expect(c).toEqual({
      name: 'memetracker',
      lenient: false,
      minLength: 2,
      split: { testFraction: 0.1, validationFraction: 0.1, useDatasetSplits: true },
      window: { observationWindowSeconds: 21600, binWidthSeconds: 300, horizonsHours: [12, 18, 24, 36, 48, 72, 120, 240, 360], pastEnd: 'mark', textLength: 30, newsLength: 36, minWordCount: 1 },
    });
  });

  test('errors name the key path', () => {
    const issues = (input: unknown) => {
      try {
        parseDatasetConfig(input);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).issues.map((i) => `${i.keyPath}: ${i.message}`);
      }
      throw new Error('expected a ConfigError');
    };
    expect(issues({})).toEqual(['dataset: give either `name` or `path`']);
    expect(issues({ path: './x' })[0]).toMatch(/^dataset\.format: `path` needs a `format`/);
    expect(issues({ name: 'memetraker' })[0]).toMatch(/^dataset\.name: unknown dataset; known: irvine, memetracker/);
    expect(issues({ name: 'irvine', split: { testFraction: 2 } })[0]).toMatch(/^dataset\.split\.testFraction: /);
    expect(issues({ name: 'irvine', windw: {} })[0]).toMatch(/^dataset: .*windw/);
  });

  test('the schema is a zod object the runner can embed', () => {
    expect(datasetConfigSchema.safeParse({ path: 'x', format: 'ndm' }).success).toBe(true);
  });
});

describe('loadMicroscopicDataset', () => {
  test('the time unit comes from the registry (NDM paper §5.1: Memetracker in hours, Irvine in seconds) or the config', async () => {
    expect((await loadMicroscopicDataset({ name: 'memetracker' }, store())).timeUnit).toBe('hours');
    expect((await loadMicroscopicDataset({ name: 'irvine' }, store())).timeUnit).toBe('seconds');
    expect((await loadMicroscopicDataset({ path: 'micro/infopath-example', format: 'infopath' }, { baseDir: dataPath() })).timeUnit).toBe('unknown');
    expect((await loadMicroscopicDataset({ path: 'micro/infopath-example', format: 'infopath', timeUnit: 'days' }, { baseDir: dataPath() })).timeUnit).toBe('days');
  });

  test('observation ends: a window after the first infection, or a fixed horizon; later events left out', async () => {
    const all = (d: { train: Cascade[]; validation: Cascade[]; test: Cascade[] }) => [...d.train, ...d.validation, ...d.test];
    const w = await loadMicroscopicDataset({ path: 'micro/infopath-example', format: 'infopath', observation: { window: 10 } }, { baseDir: dataPath() });
    // Every cascade of the example spans less than 10 time units (python over the file: max span 9.998333), so nothing is left out.
    expect(all(w).every((c) => c.observationEnd === c.events[0].time + 10)).toBe(true);
    expect(all(w).reduce((n, c) => n + c.events.length, 0)).toBe(all(await loadMicroscopicDataset({ path: 'micro/infopath-example', format: 'infopath' }, { baseDir: dataPath() })).reduce((n, c) => n + c.events.length, 0));
    const dir = path.join(tmp, 'observed');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'cascade.txt'), 'a,0 b,1 c,5\nb,2 a,3\n');
    await writeFile(path.join(dir, 'cascadetest.txt'), 'c,1 a,2 b,6\n');
    const h = await loadMicroscopicDataset({ path: dir, format: 'ndm', observation: { horizon: 4 }, split: { validationFraction: 0 } });
    expect(h.train.map((c) => [c.events.map((e) => e.time), c.observationEnd])).toEqual([[[0, 1], 4], [[2, 3], 4]]);
    expect(h.test.map((c) => [c.events.map((e) => e.time), c.observationEnd])).toEqual([[[1, 2], 4]]);
    expect(() => parseDatasetConfig({ name: 'irvine', observation: { window: 1, horizon: 2 } })).toThrow(/either `window` or `horizon`/);
  });

  test('by name: Irvine, its own test file, 10% of train for validation', async () => {
    const d = await loadMicroscopicDataset({ name: 'irvine' }, store());
    expect(d.name).toBe('irvine');
    expect([d.train.length, d.validation.length, d.test.length]).toEqual([382, 42, 47]);
    expect(d.users.size).toBe(542);
    expect(d.droppedShort).toEqual({ train: 0, validation: 0, test: 0 });
    const again = await loadMicroscopicDataset({ name: 'irvine' }, store());
    expect(again.validation.map((c) => c.id)).toEqual(d.validation.map((c) => c.id));
    const other = await loadMicroscopicDataset({ name: 'irvine', split: { seed: 99 } }, store());
    expect(other.validation.map((c) => c.id)).not.toEqual(d.validation.map((c) => c.id));
  });

  test('by path and format, relative to a base folder; minLength filter', async () => {
    const d = await loadMicroscopicDataset({ path: 'micro/netinf-example', format: 'netinf', minLength: 5 }, { baseDir: dataPath(), seed: 3 });
    const total = d.train.length + d.validation.length + d.test.length + d.droppedShort.train + d.droppedShort.validation + d.droppedShort.test;
    expect(total).toBe(54);
    // 54 pooled cascades: test round(5.4) = 5, validation round(4.9) = 5 before the minLength filter.
    expect(d.test.length + d.droppedShort.test).toBe(5);
    expect(d.validation.length + d.droppedShort.validation).toBe(5);
    for (const c of [...d.train, ...d.test]) expect(c.events.length).toBeGreaterThanOrEqual(5);
    expect(d.graph?.directed).toBe(true);
  });

  test('Christianity carries its social graph and its own validation file', async () => {
    const d = await loadMicroscopicDataset({ name: 'christianity' }, store());
    expect(d.validation.length + d.droppedShort.validation).toBe(59);
    expect(d.graph!.numNodes).toBe(d.users.size);
  });

  test('a macroscopic format is refused with a clear error', async () => {
    await expect(loadMicroscopicDataset({ name: 'tideh-rt' }, store())).rejects.toThrow(/tideh-rt \(tideh\) is macroscopic, but a microscopic dataset is needed/);
  });

  test('lenient: problems are logged with their counts', async () => {
    const dir = path.join(tmp, 'ndm-bad');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    await writeFile(path.join(dir, 'cascade.txt'), 'a,1 b,2 c,3\na,1 b,x\nb,1 c,2\n');
    await writeFile(path.join(dir, 'cascadetest.txt'), 'a,1 c,2\n');
    await expect(loadMicroscopicDataset({ path: dir, format: 'ndm' })).rejects.toThrow(/cascade\.txt:2:.*timestamp "x"/);
    const log = new MemoryLogger();
    const d = await loadMicroscopicDataset({ path: dir, format: 'ndm', lenient: true }, { logger: log });
    expect(d.report.counts.get('bad-number')).toBe(1);
    expect(log.lines.map((l) => l.message)).toContain('dataset ndm-bad: 1 input problems tolerated (lenient):');
    // Line 2 keeps only "a" after dropping "b,x": shorter than minLength 2, so dropped.
    expect(d.train.length + d.validation.length).toBe(2);
  });
});

describe('loadMacroscopicDataset', () => {
  test('TiDeH: 72 bins, horizons past the last retweet NaN', async () => {
    const d = await loadMacroscopicDataset({ name: 'tideh-rt', split: { testFraction: 0.2 } }, store());
    expect([d.train.length, d.validation.length, d.test.length]).toEqual([72, 8, 20]);
    expect(d.vocabularySize).toBe(0);
    expect(d.words).toBeUndefined();
    const rt1 = [...d.train, ...d.validation, ...d.test].find((c) => c.id === 'RT1')!;
    // python over RT1.txt: 1 + #{t <= 21600} = 3435; bins 0..2 = [1, 206, 127], follower sums
    // [433344, 67251, 27147]; sizes at 12..120 h = [4226, 4592, 4667, 4770, 4822, 4887, 4939];
    // the last retweet is at 166.4 h, so 240 h and 360 h are unknown.
    expect(rt1.counts).toHaveLength(72);
    expect(rt1.observedSize).toBe(3435);
    expect(Array.from(rt1.counts.subarray(0, 3))).toEqual([1, 206, 127]);
    expect(Array.from(rt1.followerSums.subarray(0, 3))).toEqual([433344, 67251, 27147]);
    expect(Array.from(rt1.targets)).toEqual([4226, 4592, 4667, 4770, 4822, 4887, 4939, NaN, NaN]);
  });

  test('Weibo: the registry says the data covers 24 h; pastEnd drop keeps horizons up to 24 h only', async () => {
    const d = await loadMacroscopicDataset({ name: 'weibo-sample', window: { horizonsHours: [12, 18, 24] } }, store());
    const all = [...d.train, ...d.validation, ...d.test];
    expect(all).toHaveLength(30);
    const c = all.find((x) => x.id === '14709')!;
    // python over line 1: 1 + #{t <= 21600} = 21; sizes at 12/18/24 h = 23.
    expect(c.observedSize).toBe(21);
    expect(Array.from(c.targets)).toEqual([23, 23, 23]);
    const dropped = await loadMacroscopicDataset({ name: 'weibo-sample', window: { horizonsHours: [12, 48], pastEnd: 'drop' } }, store());
    expect(dropped.train.length + dropped.validation.length + dropped.test.length).toBe(0);
    expect(dropped.dropped.pastEnd).toBe(30);
  });

  test('JSON Lines with text and news: word vocabulary from the training split', async () => {
    const file = path.join(tmp, 'cascades.jsonl');
    const cascades = Array.from({ length: 10 }, (_, i) => ({
      id: `c${i}`,
      rootTime: 1600000000 + i,
      rootFollowers: 100 + i,
      events: [{ time: 60 * i, followers: i }],
      text: ['flood', `w${i}`],
      news: [{ time: -600, tokens: ['rain', 'flood'] }],
      observedUntil: 400 * 3600,
    }));
    await writeFile(file, writeJsonl(cascades));
    const d = await loadMacroscopicDataset({ path: file, format: 'jsonl' }, { seed: 1 });
    expect([d.train.length, d.validation.length, d.test.length]).toEqual([8, 1, 1]);
    expect(d.words!.slice(0, 4)).toEqual(['<pad>', '<unk>', 'flood', 'rain']);
    expect(d.vocabularySize).toBe(d.words!.length);
    const t = d.test[0];
    // the test cascade's own word w<i> was never seen in training: <unk> = 1
    expect(Array.from(t.textTokens!)).toEqual([2, 1]);
    expect(Array.from(t.newsTokens![0])).toEqual([3, 2]);
    expect(Array.from(t.targets).every((y) => y === 2)).toBe(true);
  });

  test('Weibo: each windowed cascade carries the retweet tree observed in the window', async () => {
    const d = await loadMacroscopicDataset({ name: 'weibo-sample', window: { horizonsHours: [12, 18, 24] } }, store());
    const c = [...d.train, ...d.validation, ...d.test].find((x) => x.id === '14709')!;
    // python over line 1 of dataset.txt (paths sorted by time, nodes numbered by first mention, root 0):
    // 21 nodes and 20 edges with time <= 21600 s, the first five from the root.
    const g = c.cascadeGraph!;
    expect([g.numNodes, g.edges.length / 2]).toEqual([21, 20]);
    expect(g.numNodes).toBe(c.observedSize);
    expect(Array.from(g.edges.slice(0, 10))).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5]);
    expect(Array.from(g.edgeTimes!).every((t) => t <= 21600)).toBe(true);
  });

  test('DeepCas: cascade graphs and increment labels at the configured horizons (one per label)', async () => {
    await expect(loadMacroscopicDataset({ name: 'deepcas-test-net' }, store())).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/2 labels .* 9 horizons/) });
    const m = await loadMacroscopicDataset({ name: 'deepcas-test-net', window: { horizonsHours: [24, 48] } }, store());
    expect([m.train.length, m.validation.length, m.test.length]).toEqual([387, 42, 131]);
    // Line 1 of cascade_train.txt: starters 107770 6189 573292, num_nodes 22, 65 edges, labels 11 25.
    const c = m.train.find((x) => x.id === '1')!;
    expect(c.observedSize).toBe(22);
    expect(Array.from(c.targets)).toEqual([33, 47]);
    expect([c.counts.length, c.windowEvents.length]).toEqual([0, 0]);
    const g = c.cascadeGraph!;
    expect([g.numNodes, g.edges.length / 2]).toEqual([22, 65]);
    expect(g.nodeIds!.slice(0, 5)).toEqual(['107770', '6189', '573292', '44969', '532390']);
    expect(Array.from(g.weights!.slice(0, 3))).toEqual([1, 1, 1]);
  });

  test('DeepCas: the raw cascades through loadDeepCasDataset', async () => {
    const d = await loadDeepCasDataset({ name: 'deepcas-test-net' }, store());
    expect([d.train.length, d.validation.length, d.test.length]).toEqual([387, 42, 131]);
    await expect(loadDeepCasDataset({ name: 'irvine' }, store())).rejects.toBeInstanceOf(CascadeError);
  });
});
