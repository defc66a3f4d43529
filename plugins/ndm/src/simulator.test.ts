import { END_USER, Rng, type SimulationRequest } from '@cascade-lab/core';
import { SequentialSampler } from '@cascade-lab/simulation';
import { LookupAttentionTable, RowDotTable } from '@cascade-lab/tensor-ops';
import { batchOf, NdmNetwork } from './model.js';
import { attentionStep, NdmSimulator, rowSums, type AttentionTables } from './simulator.js';
import { smallModel, useBackend } from './testing.test-util.js';
import { tf } from './tf.js';
import type { NdmHyperparameters } from './hyperparameters.js';

beforeAll(() => useBackend('cpu'));

describe('incremental logits', () => {
  const cases: [string, Partial<NdmHyperparameters>, number][] = [
    ['paper defaults (score table)', {}, 12],
    ['authors\' layer norm (z at length 1)', { layerNorm: 'ndm-code' }, 12],
    ['Finit on act(u_0), window 4', { initialUser: true, window: 4 }, 12],
    ['Finit on emb(u_0), window 1, no bias, unscaled', { initialUser: true, initialUserInput: 'embedding', window: 1, windowBias: false, scaleScores: false }, 12],
    // 2 heads x 3000^2 users is over the score-table limit: scores become dot products.
    ['large vocabulary (dot-product scores)', {}, 3000],
  ];
  it.each(cases)('equal full-prefix logits for every prefix: %s', async (_, overrides, numUsers) => {
    const { arch, weights } = smallModel(numUsers, { dropout: 0, ...overrides });
    const sim = new NdmSimulator(arch, weights);
    expect(sim.tables.scores === null).toBe(numUsers === 3000);
    const net = new NdmNetwork(arch, weights);
    const cascade = [5, 9, 2, 11, 7, 3];
    const U = arch.numUsers;
    const full = tf.tidy(() => net.logits(batchOf([cascade]), { training: false }).dataSync());
    for (let t = 0; t < cascade.length; t++) {
      const prefix = cascade.slice(0, t + 1);
      const incremental = await sim.prefixLogits(prefix);
      // The full pass over a length-1 sequence is what the authors' code computes at the first step.
      const reference = t === 0 && arch.layerNorm === 'ndm-code' ? tf.tidy(() => net.logits(batchOf([prefix]), { training: false }, true).dataSync()) : full.subarray(t * U, (t + 1) * U);
      let worst = 0;
      for (let v = 0; v < U; v++) worst = Math.max(worst, Math.abs(incremental[v] - reference[v]));
      expect(worst).toBeLessThan(2e-4);
    }
    net.dispose();
    sim.dispose();
  });
});

describe('attention weights', () => {
  it('the exp-score table, the exact softmax it falls back to on underflow, dot products, and JS or WebAssembly sums agree', () => {
    const { arch, weights } = smallModel(12, { dropout: 0 });
    const sim = new NdmSimulator(arch, weights);
    const t = sim.tables;
    const d = arch.dimension;
    const prefix = [5, 9, 2, 11, 7, 3];
    const step = (tables: AttentionTables): Float32Array => {
      const act = new Float32Array(d);
      attentionStep(tables, prefix, prefix.length, act, 0, new Float32Array(d), 0, new Float64Array(d + arch.heads * prefix.length));
      return act;
    };
    const lookup = step(t);
    // Every table weight underflowed (as when the prefix sits far below the row's best key).
    const zeros = new Float32Array(t.expScores!.length);
    const underflow = step({ ...t, expScores: zeros, lookup: null });
    const dot = step({ ...t, scores: null, expScores: null, lookup: null });
    // The weighted value sums in plain JavaScript instead of the WebAssembly row table.
    const js = step({ ...t, valueRows: null, lookup: null });
    for (let e = 0; e < d; e++) {
      expect(Math.abs(lookup[e] - js[e])).toBeLessThan(1e-5);
      expect(Math.abs(lookup[e] - underflow[e])).toBeLessThan(1e-5);
      expect(Math.abs(lookup[e] - dot[e])).toBeLessThan(1e-5);
    }
    // The one-call kernel is the JavaScript table path with the row table, bit for bit; when a head
    // underflows in its table it leaves the step to the exact path (the same bits as without it).
    expect(Array.from(lookup)).toEqual(Array.from(step({ ...t, lookup: null })));
    const kernelUnderflow = step({ ...t, expScores: zeros, lookup: new LookupAttentionTable(t.valueOutput, zeros, arch.heads, d) });
    expect(Array.from(kernelUnderflow)).toEqual(Array.from(underflow));
    sim.dispose();
  });

  it('sums next-user rows four at a time in the order of one row at a time, bit for bit', () => {
    const U = 37;
    for (const R of [0, 1, 3, 4, 5, 8, 11]) {
      const rows = Float32Array.from({ length: R * U }, (_, i) => Math.exp(-((i * 7919) % 61)) * (1 + (i % 13) / 7));
      const totals = new Float64Array(R);
      rowSums(rows, R, U, totals);
      for (let r = 0; r < R; r++) {
        let total = 0;
        for (let v = 0; v < U; v++) total += rows[r * U + v];
        expect(totals[r]).toBe(total);
      }
    }
  });

  it.each([
    ['2 heads', {}],
    ['8 heads', { heads: 8 }],
    ['3 heads: a padded lane', { heads: 3 }],
  ] as [string, Partial<NdmHyperparameters>][])('without the score table, the WebAssembly scores give the JavaScript dot products bit for bit (%s)', (_, overrides) => {
    const { arch, weights } = smallModel(12, { dropout: 0, ...overrides });
    const sim = new NdmSimulator(arch, weights);
    const d = arch.dimension;
    const prefix = [5, 9, 2, 11, 7, 3, 9, 4];
    const tables = { ...sim.tables, scores: null, expScores: null };
    const step = (t: AttentionTables): Float32Array => {
      const act = new Float32Array(d);
      attentionStep(t, prefix, prefix.length, act, 0, new Float32Array(d), 0, new Float64Array(d + arch.heads * prefix.length));
      return act;
    };
    // What the simulator builds when the vocabulary is too large for a score table (the Twitter size).
    const kernel = step({ ...tables, keyRows: new RowDotTable(weights.embedding, d) });
    const js = step({ ...tables, keyRows: null });
    expect(Array.from(kernel)).toEqual(Array.from(js));
    sim.dispose();
  });
});

describe('simulate', () => {
  const requests: SimulationRequest[] = [
    { seeds: [3], budget: 6, simulations: 40, label: 'cascade:0' },
    { seeds: [7, 4], budget: 3, simulations: 25, label: 'cascade:1' },
    { seeds: [10], budget: 1, simulations: 10, label: 'cascade:2' },
    { seeds: [2], budget: 0, simulations: 5, label: 'cascade:3' },
  ];

  it('gives the shared sequential engine\'s rows, bit for bit, faster (states shared by equal prefixes)', async () => {
    const { arch, weights } = smallModel(12);
    const sim = new NdmSimulator(arch, weights);
    const ours = await sim.simulate(requests, Rng.fromSeed(21));
    const engine = await new SequentialSampler(sim.nextUserModel()).simulate(requests, Rng.fromSeed(21));
    expect(ours.map((r) => Array.from(r.sequences))).toEqual(engine.map((r) => Array.from(r.sequences)));
    sim.dispose();
  });

  it('does not depend on how requests are grouped into batches', async () => {
    const { arch, weights } = smallModel(12);
    const together = new NdmSimulator(arch, weights, 4096);
    const apart = new NdmSimulator(arch, weights, 1);
    const a = await together.simulate(requests, Rng.fromSeed(5));
    const b = await apart.simulate(requests, Rng.fromSeed(5));
    expect(a.map((r) => Array.from(r.sequences))).toEqual(b.map((r) => Array.from(r.sequences)));
    const c = await together.simulate(requests, Rng.fromSeed(6));
    expect(c.map((r) => Array.from(r.sequences))).not.toEqual(a.map((r) => Array.from(r.sequences)));
    together.dispose();
    apart.dispose();
  });

  it('rows respect the protocol: no seed, no repeat, no reserved user, -1 after a stop, within budget', async () => {
    const { arch, weights } = smallModel(12);
    const sim = new NdmSimulator(arch, weights);
    const results = await sim.simulate(requests, Rng.fromSeed(8));
    results.forEach((r, k) => {
      expect(r.sequences.length).toBe(requests[k].simulations * requests[k].budget);
      for (let s = 0; s < r.simulations; s++) {
        const row = Array.from(r.sequences.subarray(s * r.budget, (s + 1) * r.budget));
        const stop = row.indexOf(-1);
        const users = stop < 0 ? row : row.slice(0, stop);
        if (stop >= 0) expect(row.slice(stop).every((x) => x === -1)).toBe(true);
        expect(new Set([...users, ...requests[k].seeds]).size).toBe(users.length + requests[k].seeds.length);
        expect(users.every((u) => u >= 2 && u < 12)).toBe(true);
      }
    });
    sim.dispose();
  });

  it('stops every simulation at once when </s> dominates the logits', async () => {
    const { arch, weights } = smallModel(12);
    const biased = { ...weights, windowBias: weights.windowBias.slice() };
    biased.windowBias[END_USER] = 1e4;
    const sim = new NdmSimulator(arch, biased);
    const [r] = await sim.simulate([{ seeds: [3], budget: 5, simulations: 20 }], Rng.fromSeed(1));
    expect(Array.from(r.sequences).every((x) => x === -1)).toBe(true);
    sim.dispose();
  });

  it('samples the users left when an infected user\'s logit towers over them (host recompute after underflow)', async () => {
    const { arch, weights } = smallModel(12);
    const biased = { ...weights, windowBias: weights.windowBias.slice() };
    biased.windowBias[END_USER] = -1e4;
    // Seed 3 is infected, so its logit must not matter; exp(logit - row max) underflows for all others.
    biased.windowBias[3] = 1e3;
    const sim = new NdmSimulator(arch, biased);
    const { rows, totals } = await sim.stepper.weights(sim.stepper.roots([[3]]));
    const logits = await sim.prefixLogits([3]);
    let max = -Infinity;
    for (let v = 2; v < 12; v++) if (v !== 3) max = Math.max(max, logits[v]);
    let z = 0;
    for (let v = 2; v < 12; v++) if (v !== 3) z += Math.exp(logits[v] - max);
    expect(rows[0]).toBe(0);
    expect(rows[3]).toBe(0);
    for (let v = 2; v < 12; v++) if (v !== 3) expect(rows[v] / totals[0]).toBeCloseTo(Math.exp(logits[v] - max) / z, 6);
    const request = [{ seeds: [3], budget: 6, simulations: 30 }];
    const [r] = await sim.simulate(request, Rng.fromSeed(4));
    expect(Array.from(r.sequences).every((u) => u >= 2 && u !== 3)).toBe(true);
    const [engine] = await new SequentialSampler(sim.nextUserModel()).simulate(request, Rng.fromSeed(4));
    expect(Array.from(r.sequences)).toEqual(Array.from(engine.sequences));
    sim.dispose();
  });

  it('stops when nobody is left to infect', async () => {
    const { arch, weights } = smallModel(5);
    const noEnd = { ...weights, windowBias: weights.windowBias.slice() };
    noEnd.windowBias[END_USER] = -1e4;
    const sim = new NdmSimulator(arch, noEnd);
    // Users 2, 3, 4 exist; seed 2 leaves two to infect, then nobody.
    const [r] = await sim.simulate([{ seeds: [2], budget: 4, simulations: 10 }], Rng.fromSeed(1));
    for (let s = 0; s < 10; s++) {
      const row = Array.from(r.sequences.subarray(s * 4, s * 4 + 4));
      expect(new Set(row.slice(0, 2))).toEqual(new Set([3, 4]));
      expect(row.slice(2)).toEqual([-1, -1]);
    }
    sim.dispose();
  });

  it('rejects seeds outside the vocabulary and reserved users', async () => {
    const { arch, weights } = smallModel(12);
    const sim = new NdmSimulator(arch, weights);
    await expect(sim.simulate([{ seeds: [12], budget: 1, simulations: 1 }], Rng.fromSeed(1))).rejects.toThrow(/not a real user/);
    await expect(sim.simulate([{ seeds: [END_USER], budget: 1, simulations: 1 }], Rng.fromSeed(1))).rejects.toThrow(/not a real user/);
    sim.dispose();
  });

  it('frees no more and no fewer tensors than it made', async () => {
    const { arch, weights } = smallModel(12);
    const before = tf.memory().numTensors;
    const sim = new NdmSimulator(arch, weights);
    await sim.simulate(requests, Rng.fromSeed(2));
    sim.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
