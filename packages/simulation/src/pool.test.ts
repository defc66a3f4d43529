import { Rng, type SimulationRequest } from '@cascade-lab/core';
import { transmissionGraph } from './graph.js';
import { SimulationPool, simulationPoolFor } from './pool.js';
import { sampleWalks, sampleWalksOfGraphs } from './random-walks.js';
import { ContinuousTimeSimulator, IndependentCascadeSimulator, SequentialSampler } from './simulators.js';
import { createMarkovModel } from './test-models.test-util.js';

const testModels = new URL('./test-models.test-util.ts', import.meta.url).href;

/** A random graph over 2 reserved + 60 users. */
function randomGraph(seed: string) {
  const rng = Rng.fromSeed(seed);
  const src: number[] = [], dst: number[] = [], w: number[] = [];
  for (let u = 2; u < 62; u++) for (let v = 2; v < 62; v++) if (u !== v && rng.next() < 0.08) { src.push(u); dst.push(v); w.push(rng.uniform(0.05, 0.6)); }
  return transmissionGraph(62, src, dst, w);
}

const requests: SimulationRequest[] = [
  { seeds: [5], budget: 12, simulations: 37, label: 'cascade:0' },
  { seeds: [9, 17], budget: 4, simulations: 50, label: 'cascade:1' },
  { seeds: [30], budget: 25, simulations: 8, label: 'cascade:2' },
];

describe('SimulationPool: results do not depend on the number of workers', () => {
  // Two shared pools (starting workers from TypeScript sources is the slow part of these tests).
  const shared = new Map<number, SimulationPool>();
  const pools: SimulationPool[] = [];
  afterAll(async () => { await Promise.all([...shared.values(), ...pools].map((p) => p.close())); });
  const pool = (workers: number): SimulationPool => {
    if (!shared.has(workers)) shared.set(workers, new SimulationPool({ workers }));
    return shared.get(workers)!;
  };

  it('independent cascade: inline, 1 worker, 2 workers, odd chunks', async () => {
    const g = randomGraph('ic');
    const rng = Rng.fromSeed(11);
    const inline = await new IndependentCascadeSimulator(g).simulate(requests, rng);
    const one = await new IndependentCascadeSimulator(g, { pool: pool(1) }).simulate(requests, rng);
    const two = await new IndependentCascadeSimulator(g, { pool: pool(2), chunkSize: 7 }).simulate(requests, rng);
    expect(one).toEqual(inline);
    expect(two).toEqual(inline);
    // something actually happened
    expect(inline[0].sequences.some((u) => u >= 2)).toBe(true);
  });

  it('random walks: sampleWalksOfGraphs on 1 and 2 workers equals sampleWalks graph by graph in this thread', async () => {
    // 150 graphs (three tasks of up to 64), random out-edges with weights; some without edges.
    const r = Rng.fromSeed('walk-graphs');
    const graphs = Array.from({ length: 150 }, (_, i) => {
      const n = 1 + r.int(30);
      const edges: number[] = [];
      for (let v = 1; v < n; v++) edges.push(r.int(v), v);
      return { numNodes: n, edges: Int32Array.from(edges), weights: i % 2 === 0 ? Float32Array.from({ length: edges.length / 2 }, () => 1 + r.int(4)) : undefined };
    });
    const options = { walksPerGraph: 20, walkLength: 6, transition: 'weight' as const, pseudoCount: 0.01 };
    const streams = () => graphs.map((_, i) => Rng.fromSeed(21).derive(`g${i}`));
    const expected = graphs.map((g, i) => sampleWalks(g, options, streams()[i]));
    expect(await sampleWalksOfGraphs(graphs, options, streams())).toEqual(expected);
    expect(await sampleWalksOfGraphs(graphs, options, streams(), pool(1))).toEqual(expected);
    expect(await sampleWalksOfGraphs(graphs, options, streams(), pool(2))).toEqual(expected);
    // Walks that move: some position after the first holds a node other than the start.
    expect(expected.some((w) => w[1] >= 0)).toBe(true);
    await expect(sampleWalksOfGraphs(graphs, options, streams().slice(1))).rejects.toThrow(/150 graphs but 149 generators/);
  });

  it('continuous time: identical with 1 and 2 workers, times included', async () => {
    const g = randomGraph('ct');
    const sim = (p?: SimulationPool) => new ContinuousTimeSimulator({ graph: g, delay: 'rayleigh' }, { pool: p, horizon: 3 });
    const rng = Rng.fromSeed(12);
    const a = await sim(pool(1)).simulateWithTimes(requests, rng);
    const b = await sim(pool(2)).simulateWithTimes(requests, rng);
    const c = await sim().simulateWithTimes(requests, rng);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('sequential sampler with a JS model module: inline instance, module inline, 1 and 2 workers', async () => {
    const spec = { module: testModels, exportName: 'createMarkovModel', options: { numUsers: 62, endLogit: 0 } };
    const rng = Rng.fromSeed(13);
    const instance = await new SequentialSampler(createMarkovModel({ numUsers: 62, endLogit: 0 }), { maxBatch: 5 }).simulate(requests, rng);
    const moduleInline = await new SequentialSampler(spec).simulate(requests, rng);
    const one = await new SequentialSampler(spec, { pool: pool(1) }).simulate(requests, rng);
    const two = await new SequentialSampler(spec, { pool: pool(2), chunkSize: 9 }).simulate(requests, rng);
    expect(moduleInline).toEqual(instance);
    expect(one).toEqual(instance);
    expect(two).toEqual(instance);
    // with a finite </s> logit some simulations stop early
    expect(instance[2].sequences.some((u) => u === -1)).toBe(true);
  });

  it('reports an error raised inside a worker as the same CascadeError', async () => {
    const spec = { module: testModels, exportName: 'noSuchFactory' };
    await expect(new SequentialSampler(spec, { pool: pool(1) }).simulate(requests, Rng.fromSeed(1))).rejects.toMatchObject({ code: 'MODEL', message: expect.stringMatching(/no function export "noSuchFactory"/) });
  });

  it('fails clearly, without respawning forever, when workers cannot start', async () => {
    // From the TypeScript sources without tsx, a worker cannot load worker.ts.
    const broken = new SimulationPool({ workers: 2, typescript: false });
    pools.push(broken);
    const sim = new IndependentCascadeSimulator(randomGraph('x'), { pool: broken });
    await expect(sim.simulate(requests, Rng.fromSeed(1))).rejects.toThrow(/simulation worker failed to start/);
    await expect(sim.simulate(requests, Rng.fromSeed(1))).rejects.toThrow(/failed to start/);
  });

  it('replaces a worker that dies after it has worked, and goes on', async () => {
    const p = new SimulationPool({ workers: 1 });
    pools.push(p);
    const exiting = new SequentialSampler({ module: testModels, exportName: 'createExitingModel', options: { numUsers: 8, exitOnCall: 3 } }, { pool: p });
    const one = [{ seeds: [2], budget: 2, simulations: 4 }];
    await expect(exiting.simulate(one, Rng.fromSeed(1))).resolves.toHaveLength(1); // calls 1, 2
    await expect(exiting.simulate(one, Rng.fromSeed(1))).rejects.toThrow(/simulation worker failed: worker exited with code 3/);
    const g = randomGraph('after');
    const after = await new IndependentCascadeSimulator(g, { pool: p }).simulate(requests, Rng.fromSeed(2));
    expect(after).toEqual(await new IndependentCascadeSimulator(g).simulate(requests, Rng.fromSeed(2)));
  });

  it('refuses a model instance on a pool', () => {
    expect(() => new SequentialSampler(createMarkovModel({ numUsers: 5 }), { pool: pool(1) })).toThrow(/cannot move to worker threads/);
  });

  it('rejects with CancelledError when the signal fires', async () => {
    const ac = new AbortController();
    const g = randomGraph('cancel');
    const p = new IndependentCascadeSimulator(g, { pool: pool(1), chunkSize: 1 }).simulate([{ seeds: [3], budget: 50, simulations: 2000 }], Rng.fromSeed(1), ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('simulationPoolFor: the execution settings pick the pool', () => {
  it('simulates in this thread for one worker and in a pool of that size otherwise (started lazily)', async () => {
    expect(simulationPoolFor({ workers: 1 })).toBeUndefined();
    const p = simulationPoolFor({ workers: 3 })!;
    expect(p.size).toBe(3);
    await p.close();
  });
});
