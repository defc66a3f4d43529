import { tinyMacroscopicDataset } from '@cascade-lab/core/testing';
import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { windowCascade } from '@cascade-lab/data';
import { seismicHyperparameters, seismicPlugin, SeismicModel } from './plugin.js';
import { readMacroCascade, readReference } from './reference.test-util.js';

// The plugin contract: schema, reproducible "training", save/load, well-formed sizes (Infinity allowed).
describePluginConformance(seismicPlugin, {});

const defaults = seismicHyperparameters.parse({});

describe('seismic plugin', () => {
  const reference = readReference<{ rows: { data: string; p_time_s: number; prediction: number | 'Inf' }[] }>('seismic-reference.json');

  it('predicts 1 + the R package final size after a 6 h window (RT1, RT2: shared/reference/seismic-reference.json)', async () => {
    const model = new SeismicModel(defaults, 21600);
    for (const file of ['tideh-rt/RT1.txt', 'tideh-rt/RT2.txt', 'seismic-tweet/tweet.csv']) {
      const expected = reference.rows.find((r) => r.data === file && r.p_time_s === 21600)!.prediction as number;
      const c = windowCascade(readMacroCascade(file), { observationWindowSeconds: 21600, horizonsHours: [12, 24] });
      const { sizes } = await model.predict([c], [12, 24, 168]);
      // The size counts the root; the package counts reshares only.
      for (const v of sizes[0]) expect(Math.abs(v - (1 + expected)) / (1 + expected)).toBeLessThan(1e-6);
    }
  });

  it('keeps Infinity where the estimate is supercritical (tweet.csv at 300 s: the package says Inf)', async () => {
    const model = new SeismicModel(defaults, 300);
    const c = windowCascade(readMacroCascade('seismic-tweet/tweet.csv'), { observationWindowSeconds: 300, binWidthSeconds: 300, horizonsHours: [1] });
    const { sizes, details } = await model.predict([c], [1, 24]);
    expect(Array.from(sizes[0])).toEqual([Infinity, Infinity]);
    // The package's estimate there is 0.0185962452831 > 1 / n* = 0.01.
    expect(Math.abs((details![0].infectiousness as number) - 0.0185962452831) / 0.0185962452831).toBeLessThan(1e-6);
  });

  it('inside the window the size is the observed count (hand-made cascade)', async () => {
    const base = tinyMacroscopicDataset().test[0];
    // Root + retweets at 10, 20, 30 min and 2 h: 3 retweets by 0.5 h, 4 by 1.5 h... size = 1 + count.
    const c = { ...base, windowEvents: [600, 1200, 1800, 7200].map((time) => ({ time, followers: 10 })), observedSize: 5 };
    const { sizes } = await new SeismicModel(defaults, 21600).predict([c], [0.25, 0.5, 1.5, 2]);
    expect(Array.from(sizes[0])).toEqual([2, 4, 4, 5]);
  });
});
