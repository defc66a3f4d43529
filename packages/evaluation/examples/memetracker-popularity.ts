/**
 * Evaluates the "most popular next user" baseline on Memetracker with the NDM protocol (1000
 * simulations per test cascade) and prints Macro/Micro-F1 and the time it took.
 *
 *   npx tsc -b tsconfig.build.json      # the example imports the built packages
 *   node --import tsx packages/evaluation/examples/memetracker-popularity.ts [dataDir] [--workers N]
 *
 * dataDir defaults to $CASCADE_DATA_DIR/micro/memetracker, else ../shared/data/micro/memetracker.
 */
import path from 'node:path';
import { Rng, TerminalProgress } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { evaluateMicroscopic } from '@cascade-lab/evaluation';
import { popularityCounts, popularityModelModule, SequentialSampler, SimulationPool } from '@cascade-lab/simulation';

const args = process.argv.slice(2);
const workersAt = args.indexOf('--workers');
const workers = workersAt >= 0 ? Number(args[workersAt + 1]) : 0;
const dataDir = args.find((a, i) => !a.startsWith('--') && i !== workersAt + 1) ?? path.join(process.env.CASCADE_DATA_DIR ?? '../shared/data', 'micro/memetracker');

const dataset = await loadMicroscopicDataset({ path: dataDir, format: 'ndm' });
// The baseline "trains" on every training cascade (train + validation).
const counts = popularityCounts([...dataset.train, ...dataset.validation], dataset.users.size);
const pool = workers > 0 ? new SimulationPool({ workers }) : undefined;
const model = new SequentialSampler(popularityModelModule({ numUsers: dataset.users.size, counts }), { pool });

const result = await evaluateMicroscopic(model, dataset.test, {
  rng: Rng.fromSeed(2024),
  simulations: 1000,
  progress: new TerminalProgress(),
});
await pool?.close();

const f = (x: number) => x.toFixed(4);
console.log(`${dataset.name}: ${result.cascades.length} test cascades, ${result.simulations} simulations each, ${workers || 'no'} worker threads`);
console.log(`Macro-F1 ${f(result.macroF1)}  Micro-F1 ${f(result.microF1)}  early Macro-F1 ${f(result.earlyMacroF1)}  early Micro-F1 ${f(result.earlyMicroF1)}`);
console.log(`took ${result.seconds.toFixed(1)} s`);
