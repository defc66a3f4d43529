import { Rng } from '@cascade-lab/core';
import { edgeWeight, transmissionGraph } from './graph.js';
import { IndependentCascadeSimulator } from './simulators.js';

/** Fraction of rows of a result that contain user u (in the first `within` positions). */
function frequency(seq: Int32Array, sims: number, budget: number, u: number, within = budget): number {
  let n = 0;
  for (let s = 0; s < sims; s++) for (let k = 0; k < within; k++) if (seq[s * budget + k] === u) n++;
  return n / sims;
}

/** Tolerance: 4.5 binomial standard errors of a frequency from N draws. */
const tol = (p: number, N: number): number => 4.5 * Math.sqrt((p * (1 - p)) / N);

describe('transmissionGraph', () => {
  it('builds sorted CSR rows and finds edge weights', () => {
    const g = transmissionGraph(5, [3, 2, 3, 2], [4, 3, 2, 4], [0.1, 0.2, 0.3, 0.4]);
    expect(Array.from(g.offsets)).toEqual([0, 0, 0, 2, 4, 4]);
    expect(Array.from(g.targets)).toEqual([3, 4, 2, 4]);
    expect(edgeWeight(g, 3, 2)).toBe(0.3);
    expect(edgeWeight(g, 2, 4)).toBe(0.4);
    expect(edgeWeight(g, 4, 2)).toBeUndefined();
    expect(g.targets.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
  it('rejects duplicate edges, bad nodes and (for IC) bad probabilities', () => {
    expect(() => transmissionGraph(4, [2, 2], [3, 3], [0.1, 0.2])).toThrow(/given twice/);
    expect(() => transmissionGraph(4, [2], [4], [0.1])).toThrow(/target 4 outside/);
    expect(() => new IndependentCascadeSimulator(transmissionGraph(4, [2], [3], [1.5]))).toThrow(/probability 1.5/);
  });
});

describe('independent cascade against closed forms', () => {
  const N = 10000;

  it('line 2 -> 3 -> 4 -> 5: P(user k) is the product of the probabilities on the path', async () => {
    const g = transmissionGraph(6, [2, 3, 4], [3, 4, 5], [0.7, 0.5, 0.9]);
    const [r] = await new IndependentCascadeSimulator(g).simulate([{ seeds: [2], budget: 3, simulations: N }], Rng.fromSeed('line'));
    // closed form: 0.7, 0.7*0.5 = 0.35, 0.7*0.5*0.9 = 0.315
    for (const [u, p] of [[3, 0.7], [4, 0.35], [5, 0.315]] as const) expect(Math.abs(frequency(r.sequences, N, 3, u) - p)).toBeLessThan(tol(p, N));
    // never the seed, users in path order
    expect(frequency(r.sequences, N, 3, 2)).toBe(0);
    for (let s = 0; s < N; s++) if (r.sequences[s * 3 + 1] !== -1) expect(r.sequences[s * 3 + 1]).toBe(4);
  });

  it('star with budget truncation: P(leaf in output) = E[min(X, b)] / n, X ~ Bin(n, p), users of a step in random order', async () => {
    const leaves = Array.from({ length: 10 }, (_, i) => i + 3);
    const g = transmissionGraph(13, leaves.map(() => 2), leaves, leaves.map(() => 0.3));
    const [r] = await new IndependentCascadeSimulator(g).simulate([{ seeds: [2], budget: 4, simulations: N }], Rng.fromSeed('star'));
    // scipy: X = stats.binom(10, 0.3); sum(min(k,4)*X.pmf(k) for k in range(11)) -> 2.790050624399998
    const pFull = 2.790050624399998 / 10;
    // same with min(k, 2) -> 1.822444129199999: the first two users of the output (early stage)
    const pFirstTwo = 1.822444129199999 / 10;
    for (const leaf of leaves) {
      expect(Math.abs(frequency(r.sequences, N, 4, leaf) - pFull)).toBeLessThan(tol(pFull, N));
      expect(Math.abs(frequency(r.sequences, N, 4, leaf, 2) - pFirstTwo)).toBeLessThan(tol(pFirstTwo, N));
    }
  });

  it('is exact for probabilities 0 and 1, honours maxSteps, and seeds several users', async () => {
    const g = transmissionGraph(7, [2, 3, 4, 5, 2], [3, 4, 5, 6, 6], [1, 1, 1, 1, 0]);
    const [all] = await new IndependentCascadeSimulator(g).simulate([{ seeds: [2], budget: 6, simulations: 3 }], Rng.fromSeed(1));
    expect(Array.from(all.sequences.subarray(0, 6))).toEqual([3, 4, 5, 6, -1, -1]);
    const [two] = await new IndependentCascadeSimulator(g, { maxSteps: 2 }).simulate([{ seeds: [2], budget: 6, simulations: 1 }], Rng.fromSeed(1));
    expect(Array.from(two.sequences)).toEqual([3, 4, -1, -1, -1, -1]);
    const [multi] = await new IndependentCascadeSimulator(g).simulate([{ seeds: [2, 4], budget: 6, simulations: 1 }], Rng.fromSeed(1));
    // step 1 activates {3, 5} in random order, step 2 activates 6
    expect(new Set(multi.sequences.subarray(0, 2))).toEqual(new Set([3, 5]));
    expect(Array.from(multi.sequences.subarray(2))).toEqual([6, -1, -1, -1]);
  });

  it('checks requests', async () => {
    const g = transmissionGraph(4, [2], [3], [0.5]);
    const sim = new IndependentCascadeSimulator(g);
    await expect(sim.simulate([{ seeds: [], budget: 1, simulations: 1 }], Rng.fromSeed(1))).rejects.toThrow(/at least one seed/);
    await expect(sim.simulate([{ seeds: [9], budget: 1, simulations: 1 }], Rng.fromSeed(1))).rejects.toThrow(/seed 9/);
    await expect(sim.simulate([{ seeds: [2], budget: 1, simulations: 0 }], Rng.fromSeed(1))).rejects.toThrow(/simulations must be/);
  });
});
