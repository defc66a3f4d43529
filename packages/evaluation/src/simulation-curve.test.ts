import { Rng, type Cascade, type InfectionSimulator, type SimulationResult } from '@cascade-lab/core';
import { evaluateMicroscopic } from './microscopic.js';
import { simulationCountCurve } from './simulation-curve.js';

const cascade = (id: string, users: number[]): Cascade => ({ id, events: users.map((user, i) => ({ user, time: i })) });

/** Simulation s of every request adds users from a fixed pattern that depends on s (so prefixes differ). */
const patterned: InfectionSimulator = {
  async simulate(requests) {
    return requests.map((r): SimulationResult => {
      const sequences = new Int32Array(r.simulations * r.budget).fill(-1);
      for (let s = 0; s < r.simulations; s++) for (let k = 0; k < Math.min(r.budget, 1 + (s % 3)); k++) sequences[s * r.budget + k] = 3 + ((s + k) % 5);
      return { simulations: r.simulations, budget: r.budget, sequences };
    });
  },
};

describe('simulationCountCurve', () => {
  const test = [cascade('a', [2, 3, 4, 5]), cascade('b', [2, 6, 7]), cascade('c', [9, 4, 3, 7, 6])];
  const rowsOf = (ev: Awaited<ReturnType<typeof evaluateMicroscopic>>) => ev.cascades.map((c) => ({ truthSize: c.truthSize, earlyTruthSize: c.early.truthSize, perSimulation: c.perSimulation }));

  it('a prefix of m simulations gives the F1s of an evaluation with m simulations', async () => {
    // The patterned simulator makes simulation s the same whatever S is, so an evaluation with
    // S = 4 must equal the first 4 rows of an evaluation with S = 12.
    const big = await evaluateMicroscopic(patterned, test, { rng: Rng.fromSeed(1), simulations: 12, earlyStageSize: 2 });
    const [p4, p12] = simulationCountCurve(rowsOf(big), [4, 12]);
    const small = await evaluateMicroscopic(patterned, test, { rng: Rng.fromSeed(1), simulations: 4, earlyStageSize: 2 });
    expect(p4.macroF1).toBeCloseTo(small.macroF1, 14);
    expect(p4.microF1).toBeCloseTo(small.microF1, 14);
    expect(p4.earlyMacroF1).toBeCloseTo(small.earlyMacroF1, 14);
    expect(p4.earlyMicroF1).toBeCloseTo(small.earlyMicroF1, 14);
    expect(p12.macroF1).toBeCloseTo(big.macroF1, 14);
    expect(p12.earlyMicroF1).toBeCloseTo(big.earlyMicroF1, 14);
    expect(p4.macroF1).not.toBeCloseTo(p12.macroF1, 6);
  });

  it('refuses more simulations than were kept', async () => {
    const ev = await evaluateMicroscopic(patterned, test, { rng: Rng.fromSeed(1), simulations: 5 });
    expect(() => simulationCountCurve(rowsOf(ev), [10])).toThrow(/kept 5/);
  });
});
