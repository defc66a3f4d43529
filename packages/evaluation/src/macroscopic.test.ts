import { Rng, quietProgress, type MacroscopicDataset, type MacroscopicModel, type WindowedCascade } from '@cascade-lab/core';
import { METRIC_CATALOGUE } from '@cascade-lab/metrics';
import { macroscopicMetricValues, macroscopicSeries } from './keys.js';
import { evaluateMacroscopic, scoreSizePredictions } from './macroscopic.js';
import { sizeErrorMetrics } from './monitors.js';
import { runMacroscopicProtocol } from './protocols.js';

const windowed = (id: string, observedSize: number, targets: number[]): WindowedCascade => ({
  id,
  counts: new Float32Array(2),
  followerSums: new Float32Array(2),
  rootFollowers: 0,
  observedSize,
  targets: Float64Array.from(targets),
  windowEvents: [],
});

// Horizons 24 h and 48 h; cascade c2's data end before 48 h (NaN target); c3's prediction is infinite.
const horizons = [24, 48];
const cascades = [windowed('c0', 2, [3, 4]), windowed('c1', 5, [10, 20]), windowed('c2', 8, [50, NaN]), windowed('c3', 3, [7, 9])];
const sizes = [
  [5, 4],
  [8, 25],
  [300, 400],
  [Infinity, Infinity],
];
const model: MacroscopicModel = {
  predict: async (cs, hs) => ({ sizes: cs.map((c) => Float64Array.from(sizes[cascades.findIndex((x) => x.id === c.id)].slice(0, hs.length))), details: cs.map((c) => ({ note: `for ${c.id}` })) }),
  save: async () => undefined,
  dispose: () => undefined,
};

describe('the macroscopic protocol', () => {
  it('scores every horizon, reporting infinite predictions, finite and capped MAPE (hand)', async () => {
    const ev = await evaluateMacroscopic(model, cascades, horizons);
    const [h24, h48] = ev.horizons;
    // 24 h: finite pairs t = [3, 10, 50], p = [5, 8, 300]: errors 2/3, 0.2, 5
    expect(h24.infinitePredictions).toBe(1);
    expect(h24.mape).toBeCloseTo((2 / 3 + 0.2 + 5) / 3, 14);
    // capped: the infinite prediction counts INFINITE_APE_CAP = 1e4, over 4 valid predictions
    expect(h24.mapeCapped).toBeCloseTo((2 / 3 + 0.2 + 5 + 1e4) / 4, 10);
    expect(h24.mapeWithInfinite).toBe(Infinity);
    // scipy.stats.kendalltau([3,10,50,7],[5,8,300,np.inf]).statistic -> 0.3333333333333334
    expect(h24.kendallTau).toBeCloseTo(0.3333333333333334, 14);
    // scipy.stats.spearmanr([3,10,50,7],[5,8,300,np.inf]).statistic -> 0.39999999999999997
    expect(h24.spearmanRho).toBeCloseTo(0.4, 14);
    // 48 h: c2 has no target; finite t = [4, 20], p = [4, 25]: errors 0, 0.25
    expect(h48.missingTargets).toBe(1);
    expect(h48.mape).toBeCloseTo(0.125, 15);
    expect(h48.mapeCapped).toBeCloseTo((0.25 + 1e4) / 3, 10);
    // scipy.stats.kendalltau([4,20,9],[4,25,np.inf]).statistic -> 0.33333333333333337; spearmanr -> 0.5
    expect(h48.kendallTau).toBeCloseTo(1 / 3, 14);
    expect(h48.spearmanRho).toBeCloseTo(0.5, 14);
    // the rows keep the infinite prediction (as a string: JSON has no Infinity), the unknown target as null, and the model's details
    expect(ev.cascades[3]).toMatchObject({ id: 'c3', predicted: ['Infinity', 'Infinity'], actual: [7, 9], note: 'for c3' });
    expect(ev.cascades[2].actual).toEqual([50, null]);
    expect(ev.predictions[3][0]).toBe(Infinity);
  });

  it('takes the cap from the options', () => {
    const s = scoreSizePredictions(cascades, sizes, horizons, { infiniteErrorCap: 100 });
    expect(s.horizons[0].mapeCapped).toBeCloseTo((2 / 3 + 0.2 + 5 + 100) / 4, 12);
  });

  it('counts NaN predictions as invalid and leaves them out', () => {
    const s = scoreSizePredictions(cascades.slice(0, 2), [[NaN, NaN], [8, 25]], horizons);
    expect(s.horizons[0]).toMatchObject({ invalidPredictions: 1, infinitePredictions: 0 });
    expect(s.horizons[0].mape).toBeCloseTo(0.2, 15);
    expect(s.horizons[0].stepwiseTau).toBeNaN();
  });

  it('rejects malformed predictions', () => {
    expect(() => scoreSizePredictions(cascades, sizes.slice(1), horizons)).toThrow(/3 prediction rows for 4 cascades/);
    expect(() => scoreSizePredictions(cascades, sizes.map((r) => r.slice(1)), horizons)).toThrow(/1 predictions for 2 horizons/);
  });

  it('logs catalogue keys, test and validation', async () => {
    const ev = await evaluateMacroscopic(model, cascades, horizons);
    const test = macroscopicMetricValues(ev);
    expect(test['test.h24.infinitePredictions']).toBe(1);
    expect(test['test.h24.mapeCapped']).toBeCloseTo(ev.horizons[0].mapeCapped, 15);
    expect(test['test.h48.missingTargets']).toBe(1);
    expect(test['test.cascades']).toBe(4);
    expect(METRIC_CATALOGUE.unknownKeys(Object.keys(test))).toEqual([]);
    expect(METRIC_CATALOGUE.unknownKeys(macroscopicSeries(ev).map((p) => p.key))).toEqual([]);
    const validation = await sizeErrorMetrics(model, cascades, horizons);
    // monitors only: no counts
    expect(Object.keys(validation).sort()).toEqual(
      ['mape', 'mapePercent', 'mapeCapped', 'kendallTau', 'spearmanRho', 'stepwiseTau', 'msle'].flatMap((m) => [`validation.h24.${m}`, `validation.h48.${m}`]).sort(),
    );
    expect(validation['validation.h24.mape']).toBe(test['test.h24.mape']);
  });

  it('runs on a dataset for the runner: metrics, curves, rows and a summary that names the infinite predictions', async () => {
    const data: MacroscopicDataset = { name: 'toy', observationWindowSeconds: 3600, binWidthSeconds: 1800, horizonsHours: horizons, vocabularySize: 0, train: [], validation: [], test: cascades };
    const out = await runMacroscopicProtocol(model, data, { maxTestCascades: 4 }, { rng: Rng.fromSeed(1), progress: quietProgress, signal: new AbortController().signal });
    expect(out.metrics['test.h24.infinitePredictions']).toBe(1);
    expect(out.metrics['evaluation.seconds']).toBeGreaterThanOrEqual(0);
    expect(out.series.filter((p) => p.key === 'test.mapeByHorizon').map((p) => p.step)).toEqual([24, 48]);
    expect(out.predictions).toHaveLength(4);
    expect(out.summary).toMatch(/24 h .*\(1 infinite; MAPE with them capped 2501\.4667\)/);
    expect(out.sizePoints).toHaveLength(7);
  });
});
