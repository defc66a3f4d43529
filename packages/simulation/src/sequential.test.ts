import { Rng } from '@cascade-lab/core';
import { sampleSequences, type NextUserModel } from './sequential.js';
import { SequentialSampler } from './simulators.js';
import { createCategoricalModel } from './test-models.test-util.js';

// Users 2..9 with weights 1..8 (sum 36); padding and </s> have weight 0.
const weights = [0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
const total = 36;
const users = [2, 3, 4, 5, 6, 7, 8, 9];
// scipy.stats.chi2.ppf(0.999, 7) -> 24.321886347856854 (8 categories): a correct sampler fails this
// with probability 0.001; the seeds are fixed, so the test is deterministic.
const CHI2_999_DF7 = 24.321886347856854;

function chiSquare(observed: Map<number, number>, expected: Map<number, number>, n: number): number {
  let x = 0;
  for (const [u, p] of expected) x += ((observed.get(u) ?? 0) - n * p) ** 2 / (n * p);
  return x;
}

function countAt(seq: Int32Array, sims: number, budget: number, k: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let s = 0; s < sims; s++) {
    const u = seq[s * budget + k];
    m.set(u, (m.get(u) ?? 0) + 1);
  }
  return m;
}

describe('sequential sampler: frequencies match the distribution (chi-square)', () => {
  const N = 20000;
  for (const scoreKind of ['probabilities', 'logits'] as const) {
    it(`first and second user (${scoreKind})`, async () => {
      // User 10 (weight 0) is the seed, so nothing the distribution covers is masked at step 1.
      const model = createCategoricalModel({ weights: [...weights, 0], scoreKind });
      const seq = await sampleSequences(model, [10], 2, Rng.fromSeed(`chi:${scoreKind}`), 0, N, { maxBatch: 4096 });
      // step 1: P(u) = w_u / 36
      const first = new Map(users.map((u) => [u, weights[u] / total]));
      expect(chiSquare(countAt(seq, N, 2, 0), first, N)).toBeLessThan(CHI2_999_DF7);
      // step 2, with the first user masked: P(second = v) = sum_{u != v} p_u p_v / (1 - p_u)
      const second = new Map(users.map((v) => [v, users.filter((u) => u !== v).reduce((acc, u) => acc + (first.get(u)! * first.get(v)!) / (1 - first.get(u)!), 0)]));
      expect(chiSquare(countAt(seq, N, 2, 1), second, N)).toBeLessThan(CHI2_999_DF7);
      // and the chi-square does reject a wrong distribution: the step-1 counts against uniform
      const uniform = new Map(users.map((u) => [u, 1 / 8]));
      expect(chiSquare(countAt(seq, N, 2, 0), uniform, N)).toBeGreaterThan(CHI2_999_DF7);
    });
  }
});

describe('sequential sampler protocol', () => {
  it('stops a simulation at </s> with the probability the model gives it', async () => {
    // </s> weight 4 of 40: stop at step 1 with probability 0.1
    const model = createCategoricalModel({ weights: [0, 4, 1, 2, 3, 4, 5, 6, 7, 8] });
    const N = 20000;
    const [r] = await new SequentialSampler(model).simulate([{ seeds: [2], budget: 3, simulations: N }], Rng.fromSeed('end'));
    let stopped = 0;
    for (let s = 0; s < N; s++) if (r.sequences[s * 3] === -1) stopped++;
    // step 1 with seed 2 masked: P(</s>) = 4 / (40 - 1) = 0.10256...
    const p = 4 / 39;
    expect(Math.abs(stopped / N - p)).toBeLessThan(4.5 * Math.sqrt((p * (1 - p)) / N));
    // once stopped, the row stays -1 and never contains </s> or the seed
    const badRows: number[][] = [];
    for (let s = 0; s < N; s++) {
      const row = Array.from(r.sequences.subarray(s * 3, s * 3 + 3));
      const firstStop = row.indexOf(-1);
      if (row.includes(1) || row.includes(2) || (firstStop >= 0 && !row.slice(firstStop).every((u) => u === -1))) badRows.push(row);
    }
    expect(badRows).toEqual([]);
    const [masked] = await new SequentialSampler(model, { endUser: 'mask' }).simulate([{ seeds: [2], budget: 3, simulations: 2000 }], Rng.fromSeed('end'));
    expect(masked.sequences.includes(-1)).toBe(false);
  });

  it('stops when nobody is left and masks every infected user', async () => {
    const model = createCategoricalModel({ weights: [5, 0, 1, 1, 1] });
    const [r] = await new SequentialSampler(model).simulate([{ seeds: [3], budget: 4, simulations: 50 }], Rng.fromSeed(3));
    for (let s = 0; s < 50; s++) {
      const row = Array.from(r.sequences.subarray(s * 4, s * 4 + 4));
      expect(new Set(row.slice(0, 2))).toEqual(new Set([2, 4]));
      expect(row.slice(2)).toEqual([-1, -1]);
    }
  });

  it('feeds each simulation its own last sampled user (incremental state)', async () => {
    // deterministic chain: all mass on (last user + 1) mod 8 + 2
    const calls: (number[] | null)[] = [];
    const chain: NextUserModel<{ last: number[] }> = {
      numUsers: 10,
      scoreKind: 'logits',
      start: (seeds, batch) => ({ last: new Array(batch).fill(seeds[seeds.length - 1]) }),
      next(state, lastSampled) {
        calls.push(lastSampled && Array.from(lastSampled));
        if (lastSampled) lastSampled.forEach((u, b) => { if (u >= 0) state.last[b] = u; });
        const out = new Float32Array(state.last.length * 10).fill(-Infinity);
        state.last.forEach((u, b) => { out[b * 10 + ((u - 2 + 1) % 8) + 2] = 0; });
        return out;
      },
    };
    const [r] = await new SequentialSampler(chain).simulate([{ seeds: [7], budget: 4, simulations: 2 }], Rng.fromSeed(1));
    expect(Array.from(r.sequences)).toEqual([8, 9, 2, 3, 8, 9, 2, 3]);
    expect(calls).toEqual([null, [8, 8], [9, 9], [2, 2]]);
  });

  it('gives the same rows whatever the model batch size', async () => {
    const model = createCategoricalModel({ weights: [0, 1, 3, 1, 4, 1, 5, 9, 2, 6] });
    const req = [{ seeds: [2], budget: 5, simulations: 40 }];
    const a = await new SequentialSampler(model, { maxBatch: 40 }).simulate(req, Rng.fromSeed(9));
    const b = await new SequentialSampler(model, { maxBatch: 3 }).simulate(req, Rng.fromSeed(9));
    expect(b).toEqual(a);
  });

  it('reports model errors', async () => {
    const bad = (out: Float32Array): NextUserModel => ({ numUsers: 4, scoreKind: 'logits', start: (_s, b) => b, next: () => out });
    await expect(new SequentialSampler(bad(Float32Array.from([0, 0, NaN, 1]))).simulate([{ seeds: [3], budget: 1, simulations: 1 }], Rng.fromSeed(1))).rejects.toMatchObject({ code: 'MODEL', message: expect.stringMatching(/NaN logit/) });
    await expect(new SequentialSampler(bad(new Float32Array(3))).simulate([{ seeds: [3], budget: 1, simulations: 1 }], Rng.fromSeed(1))).rejects.toThrow(/returned 3 scores for a batch of 1 x 4/);
    const negative: NextUserModel = { numUsers: 4, scoreKind: 'probabilities', start: (_s, b) => b, next: () => Float32Array.from([0, 0, -1, 1]) };
    await expect(new SequentialSampler(negative).simulate([{ seeds: [3], budget: 1, simulations: 1 }], Rng.fromSeed(1))).rejects.toThrow(/probability -1/);
    await expect(new SequentialSampler(bad(new Float32Array(4))).simulate([{ seeds: [1], budget: 1, simulations: 1 }], Rng.fromSeed(1))).rejects.toThrow(/seed 1 is not a user index/);
  });

  it('stops between steps when cancelled', async () => {
    const ac = new AbortController();
    const model = createCategoricalModel({ weights: [0, 0, 1, 1, 1, 1, 1, 1] });
    const slow: NextUserModel = { ...model, next: (s, l) => { ac.abort(); return model.next(s as number, l); } };
    await expect(new SequentialSampler(slow).simulate([{ seeds: [2], budget: 4, simulations: 3 }], Rng.fromSeed(1), ac.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
