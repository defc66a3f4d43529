import { Rng } from '@cascade-lab/core';
import { edgeWeight, transmissionGraph } from './graph.js';
import { conditionalDelay } from './independent-cascade.js';
import { SimulationPool } from './pool.js';
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

describe('independent cascade: listing a step by probability or by time', () => {
  const N = 20000;
  /** Fraction of rows whose first user is u. */
  const first = (seq: Int32Array, budget: number, u: number) => frequency(seq, N, budget, u, 1);

  it('conditionalDelay inverts the delay law Exp(-ln(1 - p)) conditioned on a delay below 1', () => {
    // hand: p = 0.5, u = 0.5: ln(1 - 0.25) / ln(0.5) = ln(0.75) / ln(0.5) = 0.4150374992788438
    expect(conditionalDelay(0.5, 0.5)).toBeCloseTo(0.4150374992788438, 12);
    // p -> 0: the conditioned delay becomes uniform, tau -> u (hand: ln(1 - u p) / ln(1 - p) ~ u p / p)
    expect(conditionalDelay(1e-9, 0.5)).toBeCloseTo(0.5, 8);
    expect(conditionalDelay(1, 0.7)).toBe(0);
    expect(conditionalDelay(0.3, 0)).toBe(0);
  });

  it('probability: the likeliest successful attempt decides, over every parent of the step', async () => {
    // seeds 2 and 5; 2 -> 3 (0.2), 5 -> 3 (0.9), 2 -> 4 (0.5); budget 1, so only the first listed counts.
    const g = transmissionGraph(6, [2, 5, 2], [3, 3, 4], [0.2, 0.9, 0.5]);
    const req = [{ seeds: [2, 5], budget: 1, simulations: N }];
    const [r] = await new IndependentCascadeSimulator(g, { withinStepOrder: 'probability' }).simulate(req, Rng.fromSeed('prob'));
    // hand: 3 is listed first when its 0.9 attempt succeeds (0.9), or when only the 0.2 one does and 4
    // is not active (0.1 * 0.2 * 0.5 = 0.01): 0.91; 4 first when it is active and the 0.9 attempt
    // failed: 0.5 * 0.1 = 0.05. (Keying 3 by its first successful attempt, 2's, would give
    // 0.2 * 0.5 + 0.8 * 0.9 = 0.82.)
    expect(Math.abs(first(r.sequences, 1, 3) - 0.91)).toBeLessThan(tol(0.91, N));
    expect(Math.abs(first(r.sequences, 1, 4) - 0.05)).toBeLessThan(tol(0.05, N));
    // The random listing of the same step: P(3 active) = 1 - 0.8 * 0.1 = 0.92; 3 first when 4 is not
    // active, or at random when both are: 0.92 * (0.5 + 0.5 * 0.5) = 0.69 (hand).
    const [u] = await new IndependentCascadeSimulator(g).simulate(req, Rng.fromSeed('prob'));
    expect(Math.abs(first(u.sequences, 1, 3) - 0.69)).toBeLessThan(tol(0.69, N));
  });

  it('probability: a step of more than 32 users (the array-sort path) and of fewer are listed by decreasing p', async () => {
    for (const n of [40, 10]) {
      // A star 2 -> 3 .. 2+n with distinct p_i = 0.9 + 0.09 i / n: one parent each, so the key is
      // p_i; about 0.945 n leaves per step, so with n = 40 most steps hold more than 32 users.
      const leaves = Array.from({ length: n }, (_, i) => i + 3);
      const p = leaves.map((_, i) => 0.9 + (0.09 * i) / n);
      const g = transmissionGraph(n + 3, leaves.map(() => 2), leaves, p);
      const [r] = await new IndependentCascadeSimulator(g, { withinStepOrder: 'probability' }).simulate([{ seeds: [2], budget: n, simulations: 200 }], Rng.fromSeed(`star${n}`));
      let large = 0;
      for (let s = 0; s < 200; s++) {
        const row = Array.from(r.sequences.subarray(s * n, (s + 1) * n)).filter((u) => u !== -1);
        if (row.length > 32) large++;
        // leaf u has p increasing with u, so the listing is by decreasing user index
        for (let k = 1; k < row.length; k++) expect(row[k]).toBeLessThan(row[k - 1]);
      }
      if (n === 40) expect(large).toBeGreaterThan(100);
    }
  });

  it('probability: equal probabilities are listed in a uniformly random order', async () => {
    const g = transmissionGraph(5, [2, 2], [3, 4], [1, 1]);
    const [r] = await new IndependentCascadeSimulator(g, { withinStepOrder: 'probability' }).simulate([{ seeds: [2], budget: 1, simulations: N }], Rng.fromSeed('tie'));
    expect(Math.abs(first(r.sequences, 1, 3) - 0.5)).toBeLessThan(tol(0.5, N));
  });

  it('time: a user comes first with the closed-form probability of the earliest delay', async () => {
    // Each successful attempt's delay is Exp(mu) below 1, mu = -ln(1 - p); a user's time is the minimum
    // over its attempts, Exp(sum of mu). With budget 1, user 3 is listed first with probability
    // P(T3 < min(T4, 1)) = mu3 / (mu3 + mu4) * (1 - exp(-(mu3 + mu4))) (closed form), computed with
    // python3: m3 = -log(0.1); m4 = -log(0.7); m3 / (m3 + m4) * (1 - 0.1 * 0.7) -> 0.8052631584515456
    const single = transmissionGraph(5, [2, 2], [3, 4], [0.9, 0.3]);
    const [a] = await new IndependentCascadeSimulator(single, { withinStepOrder: 'time' }).simulate([{ seeds: [2], budget: 1, simulations: N }], Rng.fromSeed('time'));
    expect(Math.abs(first(a.sequences, 1, 3) - 0.8052631584515456)).toBeLessThan(tol(0.805, N));
    // Two parents of 3: seeds 2 and 5, 2 -> 3 (0.3), 5 -> 3 (0.6), 2 -> 4 (0.5): mu3 = -log(0.7) - log(0.4),
    // mu4 = -log(0.5); mu3 / (mu3 + mu4) * (1 - 0.7 * 0.4 * 0.5) -> 0.5568095837686168 (python3)
    const two = transmissionGraph(6, [2, 5, 2], [3, 3, 4], [0.3, 0.6, 0.5]);
    const [b] = await new IndependentCascadeSimulator(two, { withinStepOrder: 'time' }).simulate([{ seeds: [2, 5], budget: 1, simulations: N }], Rng.fromSeed('time2'));
    expect(Math.abs(first(b.sequences, 1, 3) - 0.5568095837686168)).toBeLessThan(tol(0.557, N));
  });

  it.each(['probability', 'time'] as const)('%s: the users of each step, and the generations, are those of the IC', async (order) => {
    // Diamond 2 -> {3, 4} (0.5 each), {3, 4} -> 5 (0.4 each). Closed form (hand): K ~ Bin(2, 0.5)
    // active parents of 5, P(5) = 1 - E[0.6^K] = 1 - (0.25 + 0.5 * 0.6 + 0.25 * 0.36) = 0.36.
    const g = transmissionGraph(6, [2, 2, 3, 4], [3, 4, 5, 5], [0.5, 0.5, 0.4, 0.4]);
    const [r] = await new IndependentCascadeSimulator(g, { withinStepOrder: order }).simulate([{ seeds: [2], budget: 3, simulations: N }], Rng.fromSeed(order));
    for (const [u, p] of [[3, 0.5], [4, 0.5], [5, 0.36]] as const) expect(Math.abs(frequency(r.sequences, N, 3, u) - p)).toBeLessThan(tol(p, N));
    // 5 (second generation) is never listed before 3 or 4 of the first.
    for (let s = 0; s < N; s++) {
      const row = Array.from(r.sequences.subarray(s * 3, s * 3 + 3));
      const at5 = row.indexOf(5);
      if (at5 >= 0) for (let k = at5 + 1; k < 3; k++) expect(row[k]).toBe(-1);
    }
  });

  it('gives the same rows on a worker pool, and rejects an unknown listing', async () => {
    const g = transmissionGraph(6, [2, 2, 3, 4], [3, 4, 5, 5], [0.5, 0.5, 0.4, 0.4]);
    const req = [{ seeds: [2], budget: 2, simulations: 300 }];
    const inline = await new IndependentCascadeSimulator(g, { withinStepOrder: 'time' }).simulate(req, Rng.fromSeed('pool'));
    const pool = new SimulationPool({ workers: 1 });
    try {
      const pooled = await new IndependentCascadeSimulator(g, { withinStepOrder: 'time', pool }).simulate(req, Rng.fromSeed('pool'));
      expect(Array.from(pooled[0].sequences)).toEqual(Array.from(inline[0].sequences));
    } finally {
      await pool.close();
    }
    expect(() => new IndependentCascadeSimulator(g, { withinStepOrder: 'latest' as never })).toThrow(/withinStepOrder must be one of random, probability, time/);
  });
});
