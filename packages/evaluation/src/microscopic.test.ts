import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, type Cascade, type InfectionSimulator, type ProgressReporter, type SimulationRequest, type SimulationResult } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { createPopularityModel, IndependentCascadeSimulator, popularityCounts, SequentialSampler, SimulationPool, transmissionGraph, type NextUserModel } from '@cascade-lab/simulation';
import { METRIC_CATALOGUE } from '@cascade-lab/metrics';
import { microscopicMetricValues, rankingMetricValues } from './keys.js';
import { evaluateMicroscopic, evaluateNextUserRanking } from './microscopic.js';
import { nextUserRankingMetrics, simulatedF1 } from './monitors.js';

/** Every real user equally likely at every step (reserved indices 0 and 1 never). */
function uniformNextUser(numUsers: number): NextUserModel<number> {
  const row = Float64Array.from({ length: numUsers }, (_, u) => (u < 2 ? 0 : 1));
  return {
    numUsers,
    scoreKind: 'probabilities',
    start: (_seeds, batch) => batch,
    next(batch) {
      const out = new Float64Array(batch * numUsers);
      for (let b = 0; b < batch; b++) out.set(row, b * numUsers);
      return out;
    },
  };
}

const cascade = (id: string, users: number[]): Cascade => ({ id, events: users.map((user, i) => ({ user, time: i })) });

/** A simulator that answers every request with fixed rows (padded with -1). */
function fixed(rows: number[][], log: SimulationRequest[][] = []): InfectionSimulator {
  return {
    async simulate(requests) {
      log.push(requests);
      return requests.map((r): SimulationResult => {
        const sequences = new Int32Array(r.simulations * r.budget).fill(-1);
        rows.forEach((row, s) => row.slice(0, r.budget).forEach((u, k) => (sequences[s * r.budget + k] = u)));
        return { simulations: r.simulations, budget: r.budget, sequences };
      });
    },
  };
}

describe('evaluateMicroscopic: the NDM §5.3 protocol', () => {
  it('computes P_u, full and early F1 by hand', async () => {
    // Cascade 2, 3, 4, 5: seed 2, G = {3, 4, 5}, budget 3. Four simulations:
    const rows = [[3, 9, -1], [4, 3, 5], [9, 8, 7], [5, -1, -1]];
    const log: SimulationRequest[][] = [];
    const r = await evaluateMicroscopic(fixed(rows, log), [cascade('c', [2, 3, 4, 5])], { rng: Rng.fromSeed(1), simulations: 4, earlyStageSize: 2 });
    expect(log).toEqual([[{ seeds: [2], startTime: 0, budget: 3, simulations: 4, label: 'cascade:0' }]]);
    // P: 3 -> 2/4, 5 -> 2/4, 9 -> 2/4, 4 -> 1/4, 7 -> 1/4, 8 -> 1/4 (sorted by P, then index)
    expect(Array.from(r.infectionProbabilities[0].users)).toEqual([3, 5, 9, 4, 7, 8]);
    expect(Array.from(r.infectionProbabilities[0].probabilities)).toEqual([0.5, 0.5, 0.5, 0.25, 0.25, 0.25]);
    // hit = 1.25, predicted = 2.25: pre = 5/9, rec = 1.25/3 = 5/12, F1 = 10/21
    expect(r.cascades[0].full.precision).toBeCloseTo(5 / 9, 15);
    expect(r.cascades[0].full.recall).toBeCloseTo(5 / 12, 15);
    expect(r.macroF1).toBeCloseTo(10 / 21, 15);
    expect(r.microF1).toBeCloseTo(10 / 21, 15);
    // early stage (first 2): predictions [3,9], [4,3], [9,8], [5]; truth {3, 4}
    // hit = (2 + 1)/4 = 0.75, predicted = 7/4: pre = 3/7, rec = 3/8, F1 = 2/5
    expect(r.earlyMacroF1).toBeCloseTo(2 / 5, 15);
    expect(r.earlyMicroF1).toBeCloseTo(2 / 5, 15);
    expect(r.cascades[0].stoppedEarly).toBe(0.5);
    // per-simulation rows (hand, from the rows above): added 2, 3, 3, 1; hits (in {3,4,5}) 1, 3, 0, 1;
    // early: added 2, 2, 2, 1; hits (in {3,4}) 1, 2, 0, 0
    const ps = r.cascades[0].perSimulation;
    expect([Array.from(ps.added), Array.from(ps.hits), Array.from(ps.earlyAdded), Array.from(ps.earlyHits)]).toEqual([
      [2, 3, 3, 1],
      [1, 3, 0, 1],
      [2, 2, 2, 1],
      [1, 2, 0, 0],
    ]);
    // their sums over S reproduce the counts: hit 5/4, predicted 9/4; early 3/4, 7/4
    expect([r.cascades[0].full.hitMass, r.cascades[0].full.predictedMass]).toEqual([5 / 4, 9 / 4]);
    expect([r.cascades[0].early.hitMass, r.cascades[0].early.predictedMass]).toEqual([3 / 4, 7 / 4]);
  });

  it('averages per cascade for Macro and sums first for Micro; skips cascades with nothing to predict', async () => {
    // cascade a: seed 2, G = {3} ; cascade b: seed 2, G = {3, 4, 5, 6}; the same rows [3, 4] for both
    const r = await evaluateMicroscopic(fixed([[3, 4]]), [cascade('a', [2, 3]), cascade('single', [7]), cascade('b', [2, 3, 4, 5, 6]), { id: 'empty', events: [] }], {
      rng: Rng.fromSeed(1),
      simulations: 1,
    });
    expect(r.skipped).toEqual([
      { index: 1, id: 'single', reason: 'no infected user after the seed' },
      { index: 3, id: 'empty', reason: 'no events' },
    ]);
    // a: budget 1 -> predicts {3}: pre 1, rec 1, F1 1. b: predicts {3, 4}: pre 1, rec 1/2, F1 2/3.
    expect(r.macroF1).toBeCloseTo((1 + 2 / 3) / 2, 15);
    // micro: hit 3, predicted 3, truth 5 -> pre 1, rec 3/5, F1 3/4
    expect(r.microF1).toBeCloseTo(3 / 4, 15);
    expect(r.cascades.map((c) => c.index)).toEqual([0, 2]);
  });

  it('uses distinct users for G_c (a repeated user counts once)', async () => {
    const r = await evaluateMicroscopic(fixed([[3, 4]]), [cascade('rep', [2, 3, 2, 3, 4])], { rng: Rng.fromSeed(1), simulations: 1 });
    expect(r.cascades[0].truthSize).toBe(2);
    expect(r.macroF1).toBe(1);
  });

  it('rejects malformed simulator output instead of scoring it', async () => {
    const test = [cascade('c', [2, 3, 4])];
    const opts = { rng: Rng.fromSeed(1), simulations: 2 };
    await expect(evaluateMicroscopic(fixed([[3, 3]]), test, opts)).rejects.toMatchObject({ code: 'MODEL', message: expect.stringMatching(/user 3 twice in simulation 0/) });
    await expect(evaluateMicroscopic(fixed([[4], [2, 3]]), test, opts)).rejects.toThrow(/the seed user 2 in simulation 1/);
    await expect(evaluateMicroscopic(fixed([[-1, 3]]), test, opts)).rejects.toThrow(/after the end of the simulation/);
    await expect(evaluateMicroscopic(fixed([[1]]), test, opts)).rejects.toThrow(/user index 1/);
    const short: InfectionSimulator = { simulate: async () => [] };
    await expect(evaluateMicroscopic(short, test, opts)).rejects.toThrow(/0 results for 1 requests/);
  });

  it('reports progress and stops when cancelled', async () => {
    const events: string[] = [];
    const progress: ProgressReporter = { start: (label, total) => { events.push(`start ${total}`); return { tick: (n = 1) => events.push(`tick ${n}`), status: () => {}, done: () => events.push('done') }; } };
    const test = Array.from({ length: 5 }, (_, i) => cascade(`c${i}`, [2, 3, 4]));
    await evaluateMicroscopic(fixed([[3, 4]]), test, { rng: Rng.fromSeed(1), simulations: 1, cascadesPerCall: 2, progress });
    expect(events).toEqual(['start 5', 'tick 2', 'tick 2', 'tick 1', 'done']);
    const ac = new AbortController();
    ac.abort();
    await expect(evaluateMicroscopic(fixed([[3]]), test, { rng: Rng.fromSeed(1), signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('is reproducible: a cascade scores the same whatever the batching, the other cascades and the workers', async () => {
    const rng = Rng.fromSeed('repro');
    const src: number[] = [], dst: number[] = [], w: number[] = [];
    for (let u = 2; u < 40; u++) for (let v = 2; v < 40; v++) if (u !== v && rng.next() < 0.1) { src.push(u); dst.push(v); w.push(rng.uniform(0.1, 0.5)); }
    const g = transmissionGraph(40, src, dst, w);
    const test = Array.from({ length: 7 }, (_, i) => cascade(`c${i}`, [2 + i, 10, 11, 12, 13 + i]));
    const base = await evaluateMicroscopic(new IndependentCascadeSimulator(g), test, { rng: Rng.fromSeed(5), simulations: 200 });
    const batched = await evaluateMicroscopic(new IndependentCascadeSimulator(g), test, { rng: Rng.fromSeed(5), simulations: 200, cascadesPerCall: 3 });
    const pool = new SimulationPool({ workers: 2 });
    try {
      const parallel = await evaluateMicroscopic(new IndependentCascadeSimulator(g, { pool }), test, { rng: Rng.fromSeed(5), simulations: 200 });
      expect(parallel.cascades).toEqual(base.cascades);
    } finally {
      await pool.close();
    }
    expect(batched.cascades).toEqual(base.cascades);
    // cascade 3 alone, at its own index, gets the same row
    const alone = await evaluateMicroscopic(new IndependentCascadeSimulator(g), [test[0], test[1], test[2], test[3]], { rng: Rng.fromSeed(5), simulations: 200, cascadesPerCall: 1 });
    expect(alone.cascades[3]).toEqual(base.cascades[3]);
    expect(base.macroF1).toBeGreaterThan(0);
  });
});

describe('evaluateMicroscopic on Memetracker (real data)', () => {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const dir = path.resolve(repoRoot, process.env.CASCADE_DATA_DIR ?? '../shared/data', 'micro/memetracker');

  it('the popularity baseline beats a uniformly random next user', async () => {
    const data = await loadMicroscopicDataset({ path: dir, format: 'ndm' });
    const n = data.users.size;
    const test = data.test.slice(0, 200);
    const counts = popularityCounts([...data.train, ...data.validation], n);
    const opts = { rng: Rng.fromSeed(7), simulations: 100 };
    const popular = await evaluateMicroscopic(new SequentialSampler(createPopularityModel({ numUsers: n, counts })), test, opts);
    const uniform = await evaluateMicroscopic(new SequentialSampler(uniformNextUser(n)), test, opts);
    expect(popular.cascades).toHaveLength(200);
    // A uniform guess over ~500 users hits about |G|/500 of its predictions: its F1 is near 0.01.
    expect(uniform.macroF1).toBeLessThan(0.03);
    expect(popular.macroF1).toBeGreaterThan(2 * uniform.macroF1);
    expect(popular.microF1).toBeGreaterThan(2 * uniform.microF1);
    // nobody stops early: the baseline never samples </s> and ~500 users never run out
    expect(popular.cascades.every((c) => c.stoppedEarly === 0)).toBe(true);
    // with no early stop, precision equals recall (the predicted mass is |G|)
    expect(popular.micro.precision).toBeCloseTo(popular.micro.recall, 12);
  });
});

describe('evaluateNextUserRanking', () => {
  // 6 users; the model scores user v as v (higher index = better), infected users -Infinity.
  const model = {
    async nextUserScores(users: number[]) {
      return users.slice(0, -1).map((_, t) => Float32Array.from({ length: 6 }, (_, v) => (v < 2 || users.slice(0, t + 1).includes(v) ? -Infinity : v)));
    },
  };
  it('ranks each true next user given the true prefix (hand)', async () => {
    // cascade 2,5,3: after [2] the order is 5,4,3 -> 5 has rank 1; after [2,5]: 4,3 -> 3 has rank 2
    // cascade 4,2: after [4]: 5,3,2 -> 2 has rank 3
    const r = await evaluateNextUserRanking(model, [cascade('a', [2, 5, 3]), cascade('b', [4, 2]), cascade('one', [3])], { ks: [1, 2] });
    expect(Array.from(r.ranks)).toEqual([1, 2, 3]);
    // hits@1 = 1/3, hits@2 = 2/3, map@1 = 1/3, map@2 = (1 + 1/2)/3 = 1/2
    expect(r.metrics['hits@1']).toBeCloseTo(1 / 3, 15);
    expect(r.metrics['hits@2']).toBeCloseTo(2 / 3, 15);
    expect(r.metrics['map@2']).toBeCloseTo(1 / 2, 15);
  });
  it('needs a model that scores next users, with one row per position', async () => {
    await expect(evaluateNextUserRanking({}, [cascade('a', [2, 3])])).rejects.toMatchObject({ code: 'USAGE' });
    const short = { nextUserScores: async () => [] };
    await expect(evaluateNextUserRanking(short, [cascade('a', [2, 3])])).rejects.toThrow(/0 rows for cascade a of 2 users/);
  });
});

describe('microscopic results under catalogue keys', () => {
  it('names test metrics, ranking cut-offs and validation monitors as the catalogue does', async () => {
    const r = await evaluateMicroscopic(fixed([[3, 4]]), [cascade('a', [2, 3]), cascade('b', [2, 3, 4, 5, 6]), cascade('single', [7])], { rng: Rng.fromSeed(1), simulations: 1 });
    const test = microscopicMetricValues(r);
    // from the hand example above: Macro-F1 (1 + 2/3)/2, Micro-F1 3/4
    expect(test['test.macroF1']).toBeCloseTo((1 + 2 / 3) / 2, 15);
    expect(test['test.microF1']).toBeCloseTo(3 / 4, 15);
    expect(test['test.skippedCascades']).toBe(1);
    expect(test['test.cascades']).toBe(2);
    expect(METRIC_CATALOGUE.unknownKeys(Object.keys(test))).toEqual([]);
    const validation = microscopicMetricValues(r, 'validation');
    expect(validation['validation.macroF1']).toBe(test['test.macroF1']);
    // counts are not monitors
    expect(validation['validation.cascades']).toBeUndefined();
    expect(METRIC_CATALOGUE.unknownKeys(Object.keys(validation))).toEqual([]);
  });

  it('keys hits@k and MAP@k as hitsAt<k> / mapAt<k>', async () => {
    const model = { async nextUserScores(users: number[]) { return users.slice(0, -1).map(() => Float32Array.from([-Infinity, -Infinity, 1, 3, 2])); } };
    // cascade 2,3: user 3 ranks 1; cascade 2,4: user 4 ranks 2
    const r = await evaluateNextUserRanking(model, [cascade('a', [2, 3]), cascade('b', [2, 4])], { ks: [1, 10] });
    expect(r.byK).toEqual([{ k: 1, hits: 0.5, map: 0.5 }, { k: 10, hits: 1, map: 0.75 }]);
    expect(rankingMetricValues(r)).toEqual({ 'test.hitsAt1': 0.5, 'test.mapAt1': 0.5, 'test.hitsAt10': 1, 'test.mapAt10': 0.75 });
    expect(await nextUserRankingMetrics(model, [cascade('a', [2, 3]), cascade('b', [2, 4])], [10])).toEqual({ 'validation.hitsAt10': 1, 'validation.mapAt10': 0.75 });
  });

  it('gives a validation monitor its own seed and simulation count, the same numbers at every call', async () => {
    const rng = Rng.fromSeed('graph');
    const src: number[] = [], dst: number[] = [], w: number[] = [];
    for (let u = 2; u < 30; u++) for (let v = 2; v < 30; v++) if (u !== v && rng.next() < 0.15) { src.push(u); dst.push(v); w.push(0.3); }
    const sim = new IndependentCascadeSimulator(transmissionGraph(30, src, dst, w));
    const validation = Array.from({ length: 6 }, (_, i) => cascade(`v${i}`, [2 + i, 10, 11, 12]));
    const a = await simulatedF1(sim, validation, { simulations: 50, seed: 11 });
    const b = await simulatedF1(sim, validation, { simulations: 50, seed: 11 });
    expect(a).toEqual(b);
    // the monitor is the protocol run with Rng.fromSeed(seed) (its 'simulation' stream)
    const direct = await evaluateMicroscopic(sim, validation, { rng: Rng.fromSeed(11).derive('simulation'), simulations: 50 });
    expect(a['validation.macroF1']).toBe(direct.macroF1);
    expect(Object.keys(a).sort()).toEqual(['validation.earlyMacroF1', 'validation.earlyMicroF1', 'validation.earlyMicroPrecision', 'validation.earlyMicroRecall', 'validation.macroF1', 'validation.microF1', 'validation.microPrecision', 'validation.microRecall']);
    const other = await simulatedF1(sim, validation, { simulations: 50, seed: 12 });
    expect(other['validation.macroF1']).not.toBe(a['validation.macroF1']);
  });
});
