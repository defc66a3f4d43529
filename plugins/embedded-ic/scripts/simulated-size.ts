/**
 * Trains Embedded IC on a dataset (seed 1) and prints the outgoing probability mass sum_v p(u -> v)
 * of the users, and the mean size of IC simulations from the test cascades' first users against the
 * true sizes: the diagnosis of the Irvine shortfall in the README.
 *
 *   npx tsc -b tsconfig.build.json
 *   node --import tsx plugins/embedded-ic/scripts/simulated-size.ts irvine '{"dimension":25}'
 */
import path from 'node:path';
import { MemoryLogger, quietProgress, Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { embeddedIcHyperparameters, embeddedIcPlugin, EmbeddedIcModel, transmissionProbability } from '@cascade-lab/plugin-embedded-ic';
const [name = 'irvine', hpJson = '{}'] = process.argv.slice(2);
const dataset = await loadMicroscopicDataset({ path: path.join(process.env.CASCADE_DATA_DIR ?? '../shared/data', 'micro', name), format: 'ndm' });
const hp = embeddedIcHyperparameters.parse(JSON.parse(hpJson));
const model = (await embeddedIcPlugin.train(dataset, hp, { rng: Rng.fromSeed(1), backend: { name: 'cpu', package: 'none', device: 'cpu' }, progress: quietProgress, logger: new MemoryLogger(), metrics: { logMetric: () => undefined }, signal: new AbortController().signal, workDir: '/tmp' })) as EmbeddedIcModel;
const p = model.parameters;
const U = p.numUsers;
const R: number[] = [];
for (let u = 2; u < U; u++) { let s = 0; for (let v = 2; v < U; v++) if (v !== u) s += transmissionProbability(p, u, v); R.push(s); }
R.sort((a, b) => a - b);
console.log('outgoing mass sum_v p(u->v): mean', (R.reduce((a, b) => a + b, 0) / R.length).toFixed(3), 'median', R[R.length >> 1].toFixed(3), 'p90', R[Math.floor(0.9 * R.length)].toFixed(3));
const seeds = dataset.test.map((c) => c.events[0].user);
const Rs = seeds.map((u) => { let s = 0; for (let v = 2; v < U; v++) if (v !== u) s += transmissionProbability(p, u, v); return s; });
console.log('test seeds outgoing mass mean', (Rs.reduce((a, b) => a + b, 0) / Rs.length).toFixed(3));
const res = await model.simulate(dataset.test.map((c, i) => ({ seeds: [c.events[0].user], budget: 100, simulations: 200, label: `c${i}` })), Rng.fromSeed(3));
let tot = 0, n = 0; for (const r of res) for (let s = 0; s < r.simulations; s++) { let k = 0; while (k < r.budget && r.sequences[s * r.budget + k] >= 0) k++; tot += k; n++; }
console.log('mean simulated size (budget 100)', (tot / n).toFixed(2), 'true mean size', (dataset.test.reduce((a, c) => a + c.events.length - 1, 0) / dataset.test.length).toFixed(2));
model.dispose();
