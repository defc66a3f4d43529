import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelLoadError, Rng } from '@cascade-lab/core';
import { RateNetworkModel, rateNetworkFormat } from './rate-network-model.js';

const settings = { delay: 'exponential' as const, powerLawMinDelay: 1, simulationHorizon: Infinity };
const FORMAT = rateNetworkFormat('test/net');
// Edges 2 -> 3 (rate 2), 3 -> 4 (rate 0.5), 2 -> 5 (rate 0.1) over 6 vocabulary indices.
const model = new RateNetworkModel(6, Int32Array.from([2, 3, 2]), Int32Array.from([3, 4, 5]), Float64Array.from([2, 0.5, 0.1]), settings, { summary: { edges: 3 }, saved: FORMAT });

describe('RateNetworkModel', () => {
  it('scores its own edges, or given pairs (0 for a pair it lacks)', async () => {
    const own = await model.edgeScores();
    expect(Array.from(own.scores)).toEqual([2, 0.5, 0.1]); // the order the model was given
    expect(own.directed).toBe(true);
    const given = await model.edgeScores({ sources: Int32Array.from([3, 4, 2]), targets: Int32Array.from([4, 3, 5]) });
    expect(Array.from(given.scores)).toEqual([0.5, 0, 0.1]);
  });

  it('saves and loads the same network under its format tag, and refuses another tag or a broken file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rate-net-'));
    await model.save(dir);
    const loaded = await RateNetworkModel.load(dir, FORMAT);
    expect(await loaded.edgeScores()).toEqual(await model.edgeScores());
    expect(loaded.summaryMetrics()).toEqual({ edges: 3 });
    const req = [{ seeds: [2], budget: 3, simulations: 50, label: 'a' }];
    expect((await loaded.simulate(req, Rng.fromSeed(4)))[0].sequences).toEqual((await model.simulate(req, Rng.fromSeed(4)))[0].sequences);
    await expect(RateNetworkModel.load(dir, rateNetworkFormat('test/other'))).rejects.toThrow(ModelLoadError);
    await expect(RateNetworkModel.load(mkdtempSync(join(tmpdir(), 'empty-')), FORMAT)).rejects.toThrow(ModelLoadError);
    const bad = mkdtempSync(join(tmpdir(), 'bad-'));
    writeFileSync(join(bad, 'model.json'), JSON.stringify({ format: 'test/net', version: 1, parameters: { numUsers: 3, settings, summary: {}, sources: [2], targets: [7], rates: [1] } }));
    await expect(RateNetworkModel.load(bad, FORMAT)).rejects.toThrow(/outside 0..2/);
  });
});
