import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CascadeError, Rng } from '@cascade-lab/core';
import { RateNetworkModel } from './rate-network-model.js';

const settings = { delay: 'exponential' as const, powerLawMinDelay: 1, simulationHorizon: Infinity };
// Edges 2 -> 3 (rate 2), 3 -> 4 (rate 0.5), 2 -> 5 (rate 0.1) over 6 vocabulary indices.
const model = new RateNetworkModel(6, Int32Array.from([2, 3, 2]), Int32Array.from([3, 4, 5]), Float64Array.from([2, 0.5, 0.1]), settings, {
  summary: { edges: 3 },
  saved: { format: 'test/net@1', file: 'net.json' },
});

describe('RateNetworkModel', () => {
  it('scores its own edges, or given pairs (0 for a pair it lacks)', async () => {
    const own = await model.edgeScores();
    expect(Array.from(own.scores)).toEqual([2, 0.5, 0.1]); // the order the model was given
    expect(own.directed).toBe(true);
    const given = await model.edgeScores({ sources: Int32Array.from([3, 4, 2]), targets: Int32Array.from([4, 3, 5]) });
    expect(Array.from(given.scores)).toEqual([0.5, 0, 0.1]);
  });

  it('saves and loads the same network under its format tag, and refuses another tag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rate-net-'));
    await model.save(dir);
    const loaded = RateNetworkModel.load(dir, 'test/net@1', 'net.json');
    expect(await loaded.edgeScores()).toEqual(await model.edgeScores());
    expect(loaded.summaryMetrics()).toEqual({ edges: 3 });
    const req = [{ seeds: [2], budget: 3, simulations: 50, label: 'a' }];
    expect((await loaded.simulate(req, Rng.fromSeed(4)))[0].sequences).toEqual((await model.simulate(req, Rng.fromSeed(4)))[0].sequences);
    expect(() => RateNetworkModel.load(dir, 'test/other@1', 'net.json')).toThrow(CascadeError);
    expect(() => RateNetworkModel.load(mkdtempSync(join(tmpdir(), 'empty-')), 'test/net@1', 'net.json')).toThrow(CascadeError);
  });
});
