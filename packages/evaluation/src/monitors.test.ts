import { Rng, type Cascade, type SimulationRequest, type SimulationResult } from '@cascade-lab/core';
import { METRIC_CATALOGUE } from '@cascade-lab/metrics';
import { fit } from '@cascade-lab/training';
import { evaluateMicroscopic } from './microscopic.js';
import { simulatedF1, simulatedF1Monitor, type MonitorSimulator } from './monitors.js';

const cascade = (id: string, users: number[]): Cascade => ({ id, events: users.map((user, i) => ({ user, time: i })) });

/** Every simulation of every request is `row` (cut to the budget, padded with -1). */
function constant(row: number[], log: { disposed: number; signals: (AbortSignal | undefined)[] }): MonitorSimulator {
  return {
    async simulate(requests: SimulationRequest[], _rng: Rng, signal?: AbortSignal) {
      log.signals.push(signal);
      return requests.map((r): SimulationResult => {
        const sequences = new Int32Array(r.simulations * r.budget).fill(-1);
        for (let s = 0; s < r.simulations; s++) row.slice(0, r.budget).forEach((u, k) => (sequences[s * r.budget + k] = u));
        return { simulations: r.simulations, budget: r.budget, sequences };
      });
    },
    dispose: () => log.disposed++,
  };
}

// Validation cascade: seed 2, G = (3, 4, 5, 6, 7, 8), early stage its first 5 users.
const validation = [cascade('v', [2, 3, 4, 5, 6, 7, 8])];
// Rows each "weight" simulates, and their F1 against G by hand (every simulation the same row):
// - 0: [9, 10, 11, 12, 13, 14]: no hit, F1 0 (full and early).
// - 1: [3, 4, 9, 10, 11, 12]: full 2 hits of 6 predicted and 6 true: F1 1/3; early: first 5
//   predicted [3, 4, 9, 10, 11] against (3..7): 2 of 5, F1 2/5.
// - 2: [8, 7, 6, 9, 10, 11]: full 3 of 6: F1 1/2; early [8, 7, 6, 9, 10] against (3..7): 2 of 5, F1 2/5.
const ROWS = [[9, 10, 11, 12, 13, 14], [3, 4, 9, 10, 11, 12], [8, 7, 6, 9, 10, 11]];

describe('simulatedF1Monitor: model selection by the microscopic protocol on a validation split', () => {
  it('reports the selected metric as the value and the others as companions (hand-computed F1)', async () => {
    const log = { disposed: 0, signals: [] as (AbortSignal | undefined)[] };
    const signal = new AbortController().signal;
    const full = simulatedF1Monitor({ cascades: validation, simulations: 3, seed: 1, simulator: () => constant(ROWS[1], log) });
    expect(full.name).toBe('macroF1');
    expect(full.direction).toBe('max');
    const a = await full.evaluate({ signal });
    expect(a.value).toBeCloseTo(1 / 3, 15);
    expect(a.also.earlyMacroF1).toBeCloseTo(2 / 5, 15);
    expect(a.also.macroF1).toBeUndefined();
    // every companion is the validation twin of a catalogue metric
    expect(METRIC_CATALOGUE.unknownKeys(Object.keys(a.also).map((k) => `validation.${k}`))).toEqual([]);
    expect(log.signals).toEqual([signal]);
    expect(log.disposed).toBe(1);
    expect(full.seconds).toHaveLength(1);

    const early = simulatedF1Monitor({ cascades: validation, simulations: 3, seed: 1, select: 'earlyMacroF1', simulator: () => constant(ROWS[2], log) });
    expect(early.name).toBe('earlyMacroF1');
    expect((await early.evaluate({})).value).toBeCloseTo(2 / 5, 15);

    const mean = simulatedF1Monitor({ cascades: validation, simulations: 3, seed: 1, select: 'meanMacroF1', simulator: () => constant(ROWS[2], log) });
    const m = await mean.evaluate({});
    // (1/2 + 2/5) / 2 = 0.45
    expect(m.value).toBeCloseTo(0.45, 15);
    expect(m.also.macroF1).toBeCloseTo(0.5, 15);
    expect(METRIC_CATALOGUE.unknownKeys(['validation.meanMacroF1'])).toEqual([]);
    expect(log.disposed).toBe(3);
  });

  it('frees the simulator when a pass fails', async () => {
    let disposed = 0;
    const monitor = simulatedF1Monitor({
      cascades: validation,
      simulations: 2,
      seed: 1,
      simulator: () => ({ simulate: async () => { throw new Error('broken'); }, dispose: () => disposed++ }),
    });
    await expect(monitor.evaluate({})).rejects.toThrow('broken');
    expect(disposed).toBe(1);
  });

  it('rejects an unknown selection and an empty validation split', () => {
    expect(() => simulatedF1Monitor({ cascades: validation, simulations: 1, seed: 1, select: 'hitsAt10' as never, simulator: () => constant([], { disposed: 0, signals: [] }) })).toThrow(RangeError);
    expect(() => simulatedF1Monitor({ cascades: [], simulations: 1, seed: 1, simulator: () => constant([], { disposed: 0, signals: [] }) })).toThrow(RangeError);
  });

  it('restarts from its seed at every pass: the same numbers as simulatedF1 and as the protocol with that seed', async () => {
    // A random simulator: each simulation draws 3 distinct users of 3..12 from its stream.
    const random: MonitorSimulator = {
      async simulate(requests, rng) {
        return requests.map((r) => {
          const stream = rng.derive(r.label!);
          const sequences = new Int32Array(r.simulations * r.budget).fill(-1);
          for (let s = 0; s < r.simulations; s++) {
            const pool = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
            for (let k = 0; k < Math.min(3, r.budget); k++) sequences[s * r.budget + k] = pool.splice(stream.int(pool.length), 1)[0];
          }
          return { simulations: r.simulations, budget: r.budget, sequences };
        });
      },
    };
    const cascades = [cascade('a', [2, 3, 4, 5]), cascade('b', [13, 6, 7, 8, 9])];
    const rng = Rng.fromSeed('monitor');
    const monitor = simulatedF1Monitor({ cascades, simulations: 20, seed: rng, simulator: () => random });
    const first = await monitor.evaluate({});
    const second = await monitor.evaluate({});
    expect(second).toEqual(first);
    const direct = await evaluateMicroscopic(random, cascades, { rng: rng.derive('simulation'), simulations: 20 });
    expect(first.value).toBe(direct.macroF1);
    expect(first.also.earlyMacroF1).toBe(direct.earlyMacroF1);
    // a seed given as a generator is the same as that generator's own seed
    expect((await simulatedF1(random, cascades, { simulations: 20, seed: 'monitor' }))['validation.macroF1']).toBe(direct.macroF1);
  });

  it('lets the shared fit loop keep the epoch of best validation Macro-F1, evaluated every k epochs', async () => {
    // The "model": a weight index that epoch e sets to QUALITY[e - 1]. With every: 2 the monitor
    // sees epochs 2, 4 and 6 only; the best of those is epoch 4 (weight 2, Macro-F1 1/2).
    const QUALITY = [1, 0, 1, 2, 0, 1];
    let weight = -1;
    const log = { disposed: 0, signals: [] as (AbortSignal | undefined)[] };
    const monitor = simulatedF1Monitor({ cascades: validation, simulations: 4, seed: 7, every: 2, simulator: () => constant(ROWS[weight], log) });
    const result = await fit<number, number>({
      name: 'toy',
      epochs: 6,
      rng: Rng.fromSeed(1),
      plan: (info) => ({ batches: [0], step: () => { weight = QUALITY[info.epoch - 1]; return { loss: 1 }; } }),
      monitors: [monitor],
      weights: { snapshot: () => weight, restore: (w) => (weight = w) },
    });
    // evaluated after epochs 2 (weight 0: F1 0), 4 (weight 2: 1/2), 6 (weight 1: 1/3)
    const seen = result.history.map((h) => h.validation.macroF1);
    expect(seen.map((v) => v === undefined)).toEqual([true, false, true, false, true, false]);
    expect(seen[1]).toBe(0);
    expect(seen[3]).toBeCloseTo(0.5, 15);
    expect(seen[5]).toBeCloseTo(1 / 3, 15);
    expect(result.bestEpoch).toBe(4);
    expect(weight).toBe(2);
    expect(result.best?.macroF1).toBeCloseTo(0.5, 15);
    expect(result.best?.earlyMacroF1).toBeCloseTo(2 / 5, 15);
    expect(monitor.seconds).toHaveLength(3);
    expect(log.disposed).toBe(3);
  });
});
