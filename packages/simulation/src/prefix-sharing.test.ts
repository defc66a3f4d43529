import { END_USER, PAD_USER, Rng, type SimulationRequest } from '@cascade-lab/core';
import { drawFromWeights, PrefixSharingSampler, type PrefixStepper } from './prefix-sharing.js';
import { SequentialSampler } from './simulators.js';
import type { NextUserModel } from './sequential.js';

/** Fixed next-user weights (</s> included); a state is a prefix, the prefix's users masked out. */
const W = Float32Array.from([0, 0.4, 3, 1, 0.5, 2, 0.25, 1.5, 0.75, 1]);
const U = W.length;

class FixedStepper implements PrefixStepper<number[][]> {
  readonly numUsers = U;
  steps = 0;
  checkSeeds(seeds: readonly number[]): void {
    for (const s of seeds) if (s < 2 || s >= U) throw new RangeError(`seed ${s}`);
  }
  roots(seedLists: readonly (readonly number[])[]): number[][] {
    return seedLists.map((s) => [...s]);
  }
  count(states: number[][]): number {
    return states.length;
  }
  async weights(states: number[][]) {
    this.steps++;
    const rows = new Float32Array(states.length * U);
    const totals = new Float64Array(states.length);
    states.forEach((p, r) => {
      for (let v = 0; v < U; v++) {
        const w = v === PAD_USER || p.includes(v) ? 0 : W[v];
        rows[r * U + v] = w;
        totals[r] += w;
      }
    });
    return { rows, totals };
  }
  extend(states: number[][], parent: Int32Array, user: Int32Array) {
    const key = new Map<string, number>();
    const next: number[][] = [];
    const stateOf = new Int32Array(parent.length).fill(-1);
    for (let i = 0; i < parent.length; i++) {
      if (parent[i] < 0 || user[i] < 0) continue;
      const k = `${parent[i]}:${user[i]}`;
      if (!key.has(k)) {
        key.set(k, next.length);
        next.push([...states[parent[i]], user[i]]);
      }
      stateOf[i] = key.get(k)!;
    }
    return { states: next, stateOf };
  }
}

/** The same model for the shared sequential engine (which masks infected users itself). */
const sequentialModel: NextUserModel<number> = {
  numUsers: U,
  scoreKind: 'probabilities',
  start: (_seeds, batch) => batch,
  next: (batch) => {
    const out = new Float32Array(batch * U);
    for (let b = 0; b < batch; b++) out.set(W, b * U);
    return out;
  },
};

const requests: SimulationRequest[] = [
  { seeds: [2], budget: 5, simulations: 300, label: 'cascade:0' },
  { seeds: [3, 5], budget: 3, simulations: 120, label: 'cascade:1' },
  { seeds: [9], budget: 8, simulations: 50, label: 'cascade:2' },
];

describe('PrefixSharingSampler', () => {
  it('gives the sequential engine rows bit for bit (same streams and draw arithmetic), in any batch size', async () => {
    const reference = await new SequentialSampler(sequentialModel).simulate(requests, Rng.fromSeed(21));
    for (const batchRows of [4096, 100, 1]) {
      const out = await new PrefixSharingSampler(new FixedStepper(), { batchRows }).simulate(requests, Rng.fromSeed(21));
      expect(out).toEqual(reference);
    }
    // Simulations stop at </s> (weight 0.4 of ~11): some rows end early.
    expect(reference[0].sequences.includes(-1)).toBe(true);
    expect(reference[0].sequences.includes(END_USER)).toBe(false);
  });

  it('shares states: one model step per step of a batch, not per simulation', async () => {
    const stepper = new FixedStepper();
    await new PrefixSharingSampler(stepper).simulate([requests[2]], Rng.fromSeed(1));
    expect(stepper.steps).toBeLessThanOrEqual(requests[2].budget);
  });

  it('refuses bad requests and a bad batch size', async () => {
    const sampler = new PrefixSharingSampler(new FixedStepper(), { name: 'fixed' });
    await expect(sampler.simulate([{ seeds: [2], budget: -1, simulations: 1 }], Rng.fromSeed(1))).rejects.toThrow(/fixed: budget must be a non-negative integer/);
    expect(() => new PrefixSharingSampler(new FixedStepper(), { batchRows: 0 })).toThrow(/batchRows/);
  });

  it('draws by subtracting positive weights in user order (hand check)', () => {
    const w = Float32Array.from([0, 1, 0, 3]);
    // total 4: u = 0.2 -> r = 0.8, minus 1 < 0 at user 1; u = 0.5 -> r = 2, 2 - 1 = 1, 1 - 3 < 0 at user 3.
    expect([drawFromWeights(w, 0, 4, 4, 0.2), drawFromWeights(w, 0, 4, 4, 0.5), drawFromWeights(w, 0, 4, 0, 0.5)]).toEqual([1, 3, -1]);
  });
});
