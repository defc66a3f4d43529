import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executionSettings, MemoryLogger, quietProgress, Rng, type MacroscopicDataset, type TrainContext, type WindowedCascade } from '@cascade-lab/core';
import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { fitMeanLogGrowth, MeanLogGrowthModel } from './model.js';
import { meanLogGrowthPlugin } from './plugin.js';

// The plugin contract: schema, data needs, reproducible training, save/load, well-formed sizes
// (packages/core/src/conformance), and metric keys from the catalogue or `metrics` (packages/evaluation).
describePluginConformance(meanLogGrowthPlugin);

const logged: { key: string; value: number }[] = [];
const logger = new MemoryLogger();
const context = (): TrainContext => ({
  rng: Rng.fromSeed(1),
  backend: { name: 'none', package: 'none', device: 'cpu' },
  progress: quietProgress,
  logger,
  metrics: { logMetric: (key, value) => void logged.push({ key, value }) },
  signal: new AbortController().signal,
  workDir: mkdtempSync(join(tmpdir(), 'mean-log-growth-')),
  execution: executionSettings({ workers: 1 }),
});

/** A cascade with its observed size and its sizes at the dataset's horizons (no window events: the model reads none). */
const cascade = (id: string, observedSize: number, targets: number[]): WindowedCascade => ({
  id,
  counts: new Float32Array(12),
  followerSums: new Float32Array(12),
  rootFollowers: 0,
  observedSize,
  targets: Float64Array.from(targets),
  windowEvents: [],
});
const dataset = (train: WindowedCascade[], horizonsHours = [12, 24]): MacroscopicDataset => ({
  name: 'hand',
  observationWindowSeconds: 6 * 3600,
  binWidthSeconds: 1800,
  horizonsHours,
  vocabularySize: 0,
  train,
  validation: [cascade('never-read', 1, horizonsHours.map(() => 1000))],
  test: train,
});

describe('mean-log-growth', () => {
  // a: 10 -> 20 -> 40 (ln-growth ln 2, 2 ln 2); b: 10 -> 10 -> 10 (0, 0), window 6 h.
  // g_12 = (ln 2 + 0) / 2 = 0.5 ln 2, g_24 = (2 ln 2 + 0) / 2 = ln 2 (hand-computed).
  const train = [cascade('a', 10, [20, 40]), cascade('b', 10, [10, 10])];

  it('g_h is the mean of ln(S(h) / S_obs) over the training cascades, the validation split unread (hand-computed)', async () => {
    logged.length = 0;
    const model = (await meanLogGrowthPlugin.train(dataset(train), {}, context())) as MeanLogGrowthModel;
    expect(model.params.horizonsHours).toEqual([12, 24]);
    expect(model.params.meanLogGrowth[0]).toBeCloseTo(0.5 * Math.LN2, 14);
    expect(model.params.meanLogGrowth[1]).toBeCloseTo(Math.LN2, 14);
    expect(model.params.counts).toEqual([2, 2]);
    expect(logged).toEqual([]); // nothing per epoch: the runner logs summaryMetrics()
    expect(model.summaryMetrics()).toEqual({ 'h12.meanLogGrowth': model.params.meanLogGrowth[0], 'h24.meanLogGrowth': model.params.meanLogGrowth[1] });
  });

  it('S(h) = S_obs exp(g(h)): g_h at trained horizons, linear in h between them and from 0 at the window end, held after the last (hand-computed)', async () => {
    const model = new MeanLogGrowthModel(fitMeanLogGrowth(train, [12, 24], 6));
    const { sizes } = await model.predict([cascade('x', 8, [NaN, NaN])], [3, 6, 9, 12, 18, 24, 48]);
    // 3 h, 6 h: inside the window, 8. 9 h: g = 0.25 ln 2 -> 8 * 2^0.25. 12 h: 8 * 2^0.5.
    // 18 h: halfway between 0.5 ln 2 and ln 2 -> 8 * 2^0.75. 24 h and after: 8 * 2 = 16.
    const expected = [8, 8, 8 * 2 ** 0.25, 8 * 2 ** 0.5, 8 * 2 ** 0.75, 16, 16];
    expected.forEach((v, i) => expect(sizes[0][i]).toBeCloseTo(v, 12));
  });

  it('an unknown size leaves its cascade out of that horizon\'s mean only; a horizon without any is skipped (hand-computed)', async () => {
    // c: 5 -> unknown -> 20: in g_24 only. g_12 = (ln 2 + 0) / 2; g_24 = (2 ln 2 + 0 + ln 4) / 3 = 4/3 ln 2.
    const withGap = fitMeanLogGrowth([...train, cascade('c', 5, [NaN, 20])], [12, 24], 6);
    expect(withGap.horizonsHours).toEqual([12, 24]);
    expect(withGap.counts).toEqual([2, 3]);
    expect(withGap.meanLogGrowth[1]).toBeCloseTo((4 / 3) * Math.LN2, 14);
    // 48 h known for no training cascade: count 0, g 0, and predictions at 48 h hold g_24.
    const noneAt48 = fitMeanLogGrowth(train.map((c) => ({ ...c, targets: Float64Array.from([...c.targets, NaN]) })), [12, 24, 48], 6);
    expect(noneAt48.counts).toEqual([2, 2, 0]);
    expect(noneAt48.meanLogGrowth[2]).toBe(0);
    const { sizes } = await new MeanLogGrowthModel(noneAt48).predict([cascade('x', 8, [NaN, NaN, NaN])], [48, 96]);
    expect(Array.from(sizes[0])).toEqual([16, 16].map((v) => expect.closeTo(v, 12)));
  });

  it('training on other training cascades changes g (a fitted model, not a constant)', async () => {
    const grown = (await meanLogGrowthPlugin.train(dataset([cascade('a', 10, [40, 160])]), {}, context())) as MeanLogGrowthModel;
    // ln(40 / 10) = 2 ln 2 at 12 h: S = 3 * 4 = 12.
    expect((await grown.predict([cascade('x', 3, [NaN, NaN])], [12])).sizes[0][0]).toBeCloseTo(12, 12);
  });
});
