/**
 * InfoPath fit time with the default knobs (100 steps, batches of 1000 cascades, exponential
 * sampling) on the NDM paper's Memetracker and Irvine training cascades (train + validation, as the
 * plugin fits), and on the synthetic time-varying network of the README.
 *
 *   CASCADE_DATA_DIR=../shared/data npm run bench -- infopath [--runs 3]
 *
 * Prints the median fit time over `--runs` fits (seeds 1..runs) and the process's peak resident memory.
 */
import { Rng, type Cascade } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { generateTimeVaryingCascades } from '@cascade-lab/simulation';
import { fitInfoPath, infopathHyperparameters } from '../src/index.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const runs = Number(arg('runs', '3'));
const hp = infopathHyperparameters.parse({});
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peakMb = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);
const rows: string[][] = [];

function time(name: string, detail: string, cascades: Cascade[], numUsers: number): void {
  const times: number[] = [];
  let edges = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const fit = fitInfoPath(cascades, numUsers, { ...hp, rng: Rng.fromSeed(r + 1).derive('infopath') });
    times.push((performance.now() - t0) / 1000);
    edges = fit.rates.length;
  }
  rows.push([name, detail, String(edges), median(times).toFixed(2), peakMb()]);
}

for (const name of ['memetracker', 'irvine']) {
  const d = await loadMicroscopicDataset({ name }, { seed: 1 });
  const cascades = [...d.train, ...d.validation];
  time(name, `${d.users.size - 2} users, ${cascades.length} cascades`, cascades, d.users.size);
}
const syn = generateTimeVaryingCascades({ numUsers: 30, averageOutDegree: 2, rateRange: [0.5, 1.5], numCascades: 10000, timeSpan: 1000, window: 1, rng: Rng.fromSeed(5) });
time('synthetic time-varying', `30 users, ${syn.cascades.length} cascades`, syn.cascades, syn.numNodes);

console.log(`\nInfoPath fit (${hp.steps} steps, batch ${hp.batchSize}, ${hp.sampling} sampling, eta ${hp.stepSize}), median of ${runs} fits\n`);
console.log('| data | size | edges at the last step | fit seconds | peak RSS MB |');
console.log('|---|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
