import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executionSettings, MemoryLogger, quietProgress, Rng, type MicroscopicDataset, type TrainContext, type UserVocabulary } from '@cascade-lab/core';
import { popularityPlugin } from './plugin.js';

const users: UserVocabulary = { size: 6, indexOf: (raw) => Number(raw), rawIdOf: (i) => String(i) };
const cascade = (id: string, us: number[]) => ({ id, events: us.map((user, time) => ({ user, time })) });
// After the seeds, user 3 is infected 3 times, user 4 once, user 5 never.
const data: MicroscopicDataset = {
  name: 'toy',
  users,
  timeUnit: 'unknown',
  train: [cascade('a', [2, 3, 4]), cascade('b', [5, 3])],
  validation: [cascade('c', [4, 3])],
  test: [cascade('t', [2, 3, 4])],
};
const context = (): TrainContext => ({
  rng: Rng.fromSeed(1),
  backend: { name: 'cpu', package: 'none', device: 'cpu' },
  execution: executionSettings({ workers: 1 }),
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics: { logMetric: () => undefined },
  signal: new AbortController().signal,
  workDir: tmpdir(),
});

describe('popularity plugin', () => {
  it('learns infection counts and samples in proportion to them (hand-computed: P(first = 3) = 3/4)', async () => {
    const model = await popularityPlugin.train(data, { smoothing: 0 }, context());
    const [result] = await model.simulate([{ seeds: [2], budget: 1, simulations: 4000 }], Rng.fromSeed(5));
    let threes = 0;
    for (let s = 0; s < 4000; s++) if (result.sequences[s] === 3) threes++;
    // Binomial(4000, 0.75): sd = sqrt(4000 * 0.75 * 0.25) = 27.4; 5 sd bound.
    expect(Math.abs(threes - 3000)).toBeLessThan(137);
  });

  it('masks infected users in its ranking and round-trips through save/load', async () => {
    const model = await popularityPlugin.train(data, { smoothing: 0.5 }, context());
    const rows = await model.nextUserScores!([2, 3, 4]);
    expect(rows).toHaveLength(2);
    expect(rows[1][3]).toBe(-Infinity);
    expect(rows[1][2]).toBe(-Infinity);
    expect(rows[0][3]).toBe(3.5);
    const dir = mkdtempSync(join(tmpdir(), 'popularity-'));
    await model.save(dir);
    const loaded = await popularityPlugin.load(dir, { backend: context().backend, logger: new MemoryLogger(), signal: new AbortController().signal, execution: executionSettings({ workers: 1 }) });
    const a = await model.simulate([{ seeds: [2], budget: 2, simulations: 50 }], Rng.fromSeed(9));
    const b = await loaded.simulate([{ seeds: [2], budget: 2, simulations: 50 }], Rng.fromSeed(9));
    expect(Array.from(b[0].sequences)).toEqual(Array.from(a[0].sequences));
  });

  it('refuses a folder that holds no saved model', async () => {
    await expect(popularityPlugin.load(tmpdir(), { backend: context().backend, logger: new MemoryLogger(), signal: new AbortController().signal, execution: executionSettings({ workers: 1 }) })).rejects.toMatchObject({ code: 'MODEL_LOAD', message: expect.stringMatching(/no saved model here/) });
  });
});
