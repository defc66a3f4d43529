import { dataPath } from './data-dir.test-util.js';
import { distribution, formatStats, getDataset, log2Histogram, parseDatasetConfig, quantile, readDatasetSource, sourceStats } from './index.js';

const noCache = { cacheDir: '/nonexistent/cascade-lab-test-cache', dataDir: dataPath(), download: false };

async function statsLines(name: string): Promise<string[]> {
  const src = await readDatasetSource(parseDatasetConfig({ name }), noCache);
  const e = getDataset(name);
  return formatStats({ title: e.title, format: e.format, location: src.location.location, time: e.time, paperStats: e.paperStats }, sourceStats(src));
}

describe("NDM paper Table 1 (users, cascades, average length)", () => {
  // Expected: the NDM paper, Table 1: Irvine 540 / 471 / 13.63, Memetracker 498 / 8,304 / 8.43.
  test('Irvine', async () => {
    const lines = await statsLines('irvine');
    expect(lines[0]).toBe('Irvine: 540 users, 471 cascades, average length 13.63');
    expect(lines.join('\n')).toMatch(/paper +NDM paper, Table 1: 540 users, 471 cascades, average length 13.63 \(matches\)/);
    // python: min/max timestamp of both files = 1084582396 (2004-05-15 00:53 UTC), 1098746402
    // (2004-10-25 23:20 UTC); (1098746402 - 1084582396) / 86400 = 163.93 days.
    expect(lines.join('\n')).toMatch(/time span +2004-05-15 \.\. 2004-10-25 \(163\.9 days\)/);
  });

  test('Memetracker', async () => {
    const lines = await statsLines('memetracker');
    expect(lines[0]).toBe('Memetracker: 498 users, 8,304 cascades, average length 8.43');
  });

  test('the counting: all cascades of both files, every (user,time) pair, vocabulary minus 2', async () => {
    const src = await readDatasetSource(parseDatasetConfig({ name: 'irvine' }), noCache);
    const s = sourceStats(src);
    if (s.task !== 'microscopic') throw new Error('expected microscopic');
    // python: sum(len(l.split()) for f in (cascade.txt, cascadetest.txt) for l in open(f) if l.strip()) = 6419
    expect(s.stats.infections).toBe(6419);
    expect(s.stats.cascades).toBe(471);
    expect(s.stats.averageLength).toBeCloseTo(6419 / 471, 12);
    expect(s.stats.users).toBe(540);
    expect(s.stats.usersInCascades).toBe(540);
  });

  test('macroscopic: size distribution of the TiDeH cascades', async () => {
    const lines = await statsLines('tideh-rt');
    expect(lines[0]).toMatch(/^TiDeH retweets: 100 cascades, [\d,]+ retweets, average size [\d,.]+$/);
    // python: Counter(floor(log2(rows of RT*.txt))) = {10: 3, 11: 66, 12: 23, 13: 7, 14: 1}
    expect(lines.join('\n')).toMatch(/sizes +1,024-2,047: 3, 2,048-4,095: 66, 4,096-8,191: 23, 8,192-16,383: 7, 16,384-32,767: 1$/m);
  });

  test('DeepCas: node and label distributions', async () => {
    const lines = await statsLines('deepcas-test-net');
    expect(lines[0]).toMatch(/^DeepCas test-net: 560 cascade graphs/);
    expect(lines.join('\n')).toMatch(/label 2 +min/);
  });
});

describe('distribution helpers', () => {
  test('quantiles interpolate linearly like numpy', () => {
    // numpy.quantile([1, 2, 4, 8, 16], [0.25, 0.5, 0.9]) = [2.0, 4.0, 12.8]
    const s = [1, 2, 4, 8, 16];
    expect(quantile(s, 0.25)).toBe(2);
    expect(quantile(s, 0.5)).toBe(4);
    expect(quantile(s, 0.9)).toBeCloseTo(12.8, 12);
    const d = distribution([16, 1, 8, 2, 4]);
    expect(d).toMatchObject({ min: 1, max: 16, median: 4, mean: 31 / 5 });
  });

  test('log2 histogram buckets 1, 2-3, 4-7, ...', () => {
    expect(log2Histogram([1, 2, 3, 4, 9])).toEqual([
      { from: 1, to: 1, count: 1 },
      { from: 2, to: 3, count: 2 },
      { from: 4, to: 7, count: 1 },
      { from: 8, to: 15, count: 1 },
    ]);
  });
});
