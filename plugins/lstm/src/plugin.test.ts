import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexVocabulary } from '@cascade-lab/core/testing';
import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { MemoryLogger, quietProgress, Rng, type MicroscopicDataset, type TrainContext } from '@cascade-lab/core';
import { LstmModel } from './model.js';
import { lstmPlugin } from './plugin.js';

// The plugin contract: schema, reproducible training, save/load, well-formed simulations
// (packages/core/src/conformance), and metric keys from the catalogue or `metrics` (packages/evaluation).
describePluginConformance(lstmPlugin);

const cascade = (id: string, users: number[]) => ({ id, events: users.map((user, time) => ({ user, time })) });
// Users 2, 3, 4. Transitions: 2->3 twice, 2->4 once, 3->4 once. Infections after the seed: n(3) = 2, n(4) = 2.
const data: MicroscopicDataset = {
  name: 'hand',
  users: indexVocabulary(5),
  train: [cascade('a', [2, 3]), cascade('b', [2, 3]), cascade('c', [2, 4]), cascade('d', [3, 4])],
  validation: [],
  test: [cascade('t', [2, 3, 4])],
};
const context = (): TrainContext => ({
  rng: Rng.fromSeed(1),
  backend: { name: 'cpu', package: 'none', device: 'cpu' },
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics: { logMetric: () => undefined },
  signal: new AbortController().signal,
  workDir: mkdtempSync(join(tmpdir(), 'lstm-')),
});

describe('lstm: the first-order transition model', () => {
  it('smooths transition counts towards the popularity prior (hand-computed)', async () => {
    // alpha = 1, beta = 0: p(3) = p(4) = 2/4 = 0.5.
    // P(3 | 2) = (2 + 0.5) / (3 + 1) = 0.625, P(4 | 2) = (1 + 0.5) / 4 = 0.375;
    // P(4 | 3) = (1 + 0.5) / (1 + 1) = 0.75, P(3 | 3) = 0.5 / 2 = 0.25.
    const model = (await lstmPlugin.train(data, { transitionSmoothing: 1, popularityPseudoCount: 0, useValidation: true }, context())) as LstmModel;
    const p2 = model.distribution(2);
    expect(p2[3]).toBeCloseTo(0.625, 12);
    expect(p2[4]).toBeCloseTo(0.375, 12);
    expect(p2[2]).toBe(0);
    expect(model.distribution(3)[4]).toBeCloseTo(0.75, 12);
    // Row t scores the user at position t + 1: ln P(. | 2), then ln P(. | 3) with 2 and 3 infected.
    const rows = await model.nextUserScores([2, 3, 4]);
    expect(rows).toHaveLength(2);
    expect(rows[0][3]).toBeCloseTo(Math.log(0.625), 6);
    expect(rows[1][4]).toBeCloseTo(Math.log(0.75), 6);
    expect(rows[1][3]).toBe(-Infinity);
    expect(rows[1][2]).toBe(-Infinity);
  });

  it('simulates with those probabilities and masks infected users', async () => {
    const model = (await lstmPlugin.train(data, { transitionSmoothing: 1, popularityPseudoCount: 0, useValidation: true }, context())) as LstmModel;
    const [first] = await model.simulate([{ seeds: [2], budget: 2, simulations: 4000, label: 'x' }], Rng.fromSeed(5));
    let threes = 0;
    for (let s = 0; s < 4000; s++) {
      const a = first.sequences[2 * s];
      const b = first.sequences[2 * s + 1];
      if (a === 3) threes++;
      // Only 3 and 4 can follow 2, and each at most once: the second pick is the other one.
      expect([a, b].sort()).toEqual([3, 4]);
    }
    // Binomial(4000, 0.625): sd = sqrt(4000 * 0.625 * 0.375) = 30.6; a 5 sd bound.
    expect(Math.abs(threes - 2500)).toBeLessThan(153);
  });
});
