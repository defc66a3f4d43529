/**
 * `npm run bench -- simulation [--quick]`: throughput of the simulation engines, in simulations x
 * steps per second (one step = one user added to one simulation), in the calling thread and on 1
 * and 2 worker threads.
 * - sequential sampler with a fixed random next-user model (logits) over 1,000 and 20,000 users,
 *   1000 simulations per request, budget 20;
 * - independent cascade on a random graph of 10,000 users (out-degree 10, p ~ U(0, 0.2)),
 *   1000 simulations per request, budget 100.
 * Worker start-up and JIT warm-up are excluded (a quarter of the work is run once first); the rows are checked to be identical
 * across thread counts.
 */
import os from 'node:os';
import { Rng, type InfectionSimulator, type SimulationRequest } from '@cascade-lab/core';
import { IndependentCascadeSimulator, SequentialSampler, SimulationPool, transmissionGraph, type NextUserModelModule } from '@cascade-lab/simulation';

const quick = process.argv.includes('--quick');
const modelModule = new URL('./random-next-user-model.ts', import.meta.url).href;

function requests(n: number, budget: number, numUsers: number): SimulationRequest[] {
  const rng = Rng.fromSeed('bench-seeds');
  return Array.from({ length: n }, (_, i) => ({ seeds: [2 + rng.int(numUsers - 2)], budget, simulations: 1000, label: `cascade:${i}` }));
}

function steps(results: { sequences: Int32Array }[]): number {
  let n = 0;
  for (const r of results) for (const u of r.sequences) if (u >= 0) n++;
  return n;
}

interface Row { engine: string; threads: string; sims: number; steps: number; seconds: number }
const rows: Row[] = [];

async function measure(engine: string, make: (pool?: SimulationPool) => InfectionSimulator, reqs: SimulationRequest[]): Promise<void> {
  let reference: string | undefined;
  for (const workers of [0, 1, 2]) {
    const pool = workers > 0 ? new SimulationPool({ workers }) : undefined;
    const sim = make(pool);
    await sim.simulate(reqs.slice(0, Math.max(1, reqs.length >> 2)), Rng.fromSeed(0)); // start the workers, warm up the JIT
    const t0 = performance.now();
    const results = await sim.simulate(reqs, Rng.fromSeed(42));
    const seconds = (performance.now() - t0) / 1000;
    await pool?.close();
    const digest = results.map((r) => r.sequences.join(',')).join(';');
    if (reference === undefined) reference = digest;
    else if (digest !== reference) throw new Error(`${engine}: rows differ with ${workers} workers`);
    rows.push({ engine, threads: workers === 0 ? 'inline' : `${workers} worker${workers > 1 ? 's' : ''}`, sims: reqs.length * 1000, steps: steps(results), seconds });
    console.error(`  ${engine}, ${rows[rows.length - 1].threads}: ${seconds.toFixed(2)} s`);
  }
}

for (const numUsers of [1000, 20000]) {
  const spec: NextUserModelModule = { module: modelModule, exportName: 'createRandomNextUserModel', options: { numUsers } };
  const n = numUsers === 1000 ? (quick ? 2 : 8) : quick ? 1 : 2;
  await measure(`sequential, ${numUsers.toLocaleString('en')} users`, (pool) => new SequentialSampler(spec, { pool }), requests(n, 20, numUsers));
}

{
  const rng = Rng.fromSeed('bench-graph');
  const nodes = 10002;
  const src: number[] = [], dst: number[] = [], w: number[] = [];
  for (let u = 2; u < nodes; u++) {
    const targets = new Set<number>();
    while (targets.size < 10) { const v = 2 + rng.int(nodes - 2); if (v !== u) targets.add(v); }
    for (const v of targets) { src.push(u); dst.push(v); w.push(rng.uniform(0, 0.2)); }
  }
  const graph = transmissionGraph(nodes, src, dst, w);
  await measure('independent cascade, 10,000 users', (pool) => new IndependentCascadeSimulator(graph, { pool }), requests(quick ? 8 : 64, 100, nodes));
}

const fmt = (x: number) => Math.round(x).toLocaleString('en');
console.log(`\nsimulation engines (${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} cores, node ${process.version})\n`);
console.log(`| engine | threads | simulations | steps | seconds | simulations x steps / s |`);
console.log(`|---|---|---:|---:|---:|---:|`);
for (const r of rows) console.log(`| ${r.engine} | ${r.threads} | ${fmt(r.sims)} | ${fmt(r.steps)} | ${r.seconds.toFixed(2)} | ${fmt(r.steps / r.seconds)} |`);
