import { Rng } from '@cascade-lab/core';
import { edgeWeight } from '../graph.js';
import { generateIcCascades, syntheticMicroscopicDataset } from './ic-cascades.js';

describe('IC cascades on a random graph', () => {
  const data = generateIcCascades({ numUsers: 80, averageOutDegree: 3, probabilityRange: [0.2, 0.6], numCascades: 300, rng: Rng.fromSeed('ic-gen') });

  it('builds an Erdős–Rényi digraph of the requested density over real users', () => {
    const m = data.graph.targets.length;
    // E[m] = 80 * 3 = 240, sd = sqrt(80*79*p(1-p)) ~ 15.2
    expect(Math.abs(m - 240)).toBeLessThan(4.5 * 15.2);
    expect(data.graph.offsets[2]).toBe(0); // reserved indices have no edges
    for (const w of data.graph.weights) expect(w >= 0.2 && w <= 0.6).toBe(true);
  });

  it('every infection after the seed has an earlier infected in-neighbour in the true graph', () => {
    for (const c of data.cascades) {
      expect(c.events.length).toBeGreaterThanOrEqual(2);
      const timeOf = new Map<number, number>([[c.events[0].user, c.events[0].time]]);
      for (let i = 1; i < c.events.length; i++) {
        const { user: v, time } = c.events[i];
        expect(timeOf.has(v)).toBe(false);
        expect(time).toBeGreaterThan(c.events[i - 1].time);
        // an in-neighbour infected in the previous step (generation structure of discrete IC)
        const parentSteps = [...timeOf].filter(([u]) => edgeWeight(data.graph, u, v) !== undefined).map(([, t]) => Math.floor(t));
        expect(parentSteps).toContain(Math.floor(time) - 1);
        timeOf.set(v, time);
      }
    }
  });

  it('is deterministic per seed and splits into a dataset', () => {
    const again = generateIcCascades({ numUsers: 80, averageOutDegree: 3, probabilityRange: [0.2, 0.6], numCascades: 300, rng: Rng.fromSeed('ic-gen') });
    expect(again.cascades).toEqual(data.cascades);
    const ds = syntheticMicroscopicDataset(data);
    expect(ds.test).toHaveLength(30);
    expect(ds.validation).toHaveLength(27);
    expect(ds.train).toHaveLength(243);
    expect(ds.users.size).toBe(82);
    expect(ds.users.indexOf(ds.users.rawIdOf(17))).toBe(17);
  });

  it('reports impossible settings', () => {
    expect(() => generateIcCascades({ numUsers: 10, averageOutDegree: 0, probabilityRange: [0.5, 0.5], numCascades: 1, rng: Rng.fromSeed(1) })).toThrow(/1000 seeds in a row/);
    expect(() => generateIcCascades({ numUsers: 10, averageOutDegree: 2, probabilityRange: [0.5, 1.5], numCascades: 1, rng: Rng.fromSeed(1) })).toThrow(/probabilityRange/);
  });
});
