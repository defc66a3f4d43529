import { Rng } from '@cascade-lab/core';
import { generateTimeVaryingCascades, rateAt } from './time-varying.js';

describe('generateTimeVaryingCascades', () => {
  it('rate patterns: constant, step and sinusoid (hand values)', () => {
    expect(rateAt({ kind: 'constant', level: 0.7 }, 123)).toBe(0.7);
    expect(rateAt({ kind: 'step', before: 0, after: 2, at: 10 }, 9.99)).toBe(0);
    expect(rateAt({ kind: 'step', before: 0, after: 2, at: 10 }, 10)).toBe(2);
    // level (1 + sin(2 pi 25 / 100 + 0)) / 2 = level (1 + 1) / 2 = level
    expect(rateAt({ kind: 'sinusoid', level: 3, period: 100, phase: 0 }, 25)).toBeCloseTo(3, 12);
    expect(rateAt({ kind: 'sinusoid', level: 3, period: 100, phase: 0 }, 75)).toBeCloseTo(0, 12);
  });

  it('cascades start in order, stay inside their window, follow only true edges, and are reproducible', () => {
    const opts = { numUsers: 20, averageOutDegree: 2, rateRange: [0.5, 1.5] as [number, number], numCascades: 300, timeSpan: 100, window: 5 };
    const a = generateTimeVaryingCascades({ ...opts, rng: Rng.fromSeed(3) });
    const b = generateTimeVaryingCascades({ ...opts, rng: Rng.fromSeed(3) });
    expect(b).toEqual(a);
    const edges = new Set(a.edges.map((e) => `${e.source}>${e.target}`));
    const kinds = new Set(a.edges.map((e) => e.pattern.kind));
    expect(kinds).toEqual(new Set(['constant', 'step', 'sinusoid']));
    let multi = 0;
    for (let i = 0; i < a.cascades.length; i++) {
      const c = a.cascades[i];
      if (i > 0) expect(c.events[0].time).toBeGreaterThanOrEqual(a.cascades[i - 1].events[0].time);
      for (const e of c.events) expect(e.time).toBeLessThanOrEqual(c.observationEnd);
      // Every later user has some earlier user with a true edge to it.
      for (let k = 1; k < c.events.length; k++) expect(c.events.slice(0, k).some((p) => edges.has(`${p.user}>${c.events[k].user}`))).toBe(true);
      if (c.events.length > 1) multi++;
    }
    expect(multi).toBeGreaterThan(50);
  });

  it('an edge that is off never transmits while it is off', () => {
    // One edge 2 -> 3 switching on at t = 50 (step pattern forced by the mix); window 5.
    const d = generateTimeVaryingCascades({ numUsers: 2, averageOutDegree: 1, rateRange: [5, 5], numCascades: 400, timeSpan: 100, window: 5, mix: { constant: 0, step: 1, sinusoid: 0 }, rng: Rng.fromSeed(8) });
    for (const e of d.edges) {
      if (e.pattern.kind !== 'step') throw new Error('expected step edges');
      const { before, at } = e.pattern;
      for (const c of d.cascades) {
        const t0 = c.events[0].time;
        const offNow = (before === 0 && t0 < at) || (before > 0 && t0 >= at);
        if (offNow && c.events[0].user === e.source) expect(c.events.some((x) => x.user === e.target)).toBe(false);
      }
    }
  });
});
