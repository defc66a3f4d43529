/**
 * NetRate fit time: the exact per-target solve (EM, then projected Newton) on the NDM paper's
 * Memetracker and Irvine training cascades (train + validation, as the plugin fits), each cascade
 * observed to its last infection, exponential delays. Optionally a Twitter-sized synthetic set with
 * a known network (`--synthetic`: 12,600 users; the NDM paper's NetRate did not finish on Twitter in
 * 72 hours), with its recovery.
 *
 *   CASCADE_DATA_DIR=../shared/data npm run bench -- netrate [--runs 3] [--synthetic]
 *
 * Prints the median fit time over `--runs` fits and the process's peak resident memory.
 */
import { Rng, TerminalProgress } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { generateTimeVaryingCascades } from '@cascade-lab/simulation';
import { fitNetRate } from '../src/index.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const runs = Number(arg('runs', '3'));
const synthetic = process.argv.includes('--synthetic');

const rows: string[][] = [];
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peakMb = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);

for (const name of ['memetracker', 'irvine']) {
  const d = await loadMicroscopicDataset({ name }, { seed: 1 });
  const cascades = [...d.train, ...d.validation];
  const times: number[] = [];
  let fit: ReturnType<typeof fitNetRate> | undefined;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fit = fitNetRate(cascades, d.users.size, { delay: 'exponential', powerLawMinDelay: 1 });
    times.push((performance.now() - t0) / 1000);
  }
  rows.push([name, `${d.users.size - 2} users, ${cascades.length} cascades`, `${fit!.candidatePairs}`, `${fit!.rates.length}`, median(times).toFixed(2), peakMb()]);
}

if (synthetic) {
  // Twitter-sized: 12,600 users, 3,000 cascades on a network of constant rates (the generator's
  // 'constant' edges only); out-degree 2, rates in [0.5, 1.5] and a window of 3.2 give a mean size
  // near the NDM paper's Twitter set (38) with a long tail (tried on 300 cascades: window 3.3 gave
  // mean 42, median 21, max 411).
  const t0 = performance.now();
  const data = generateTimeVaryingCascades({ numUsers: 12600, averageOutDegree: 2, rateRange: [0.5, 1.5], numCascades: 3000, timeSpan: 1000, window: 3.2, mix: { constant: 1, step: 0, sinusoid: 0 }, rng: Rng.fromSeed(17) });
  const sizes = data.cascades.map((c) => c.events.length).sort((a, b) => a - b);
  const genSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const fit = fitNetRate(data.cascades, data.numNodes, { delay: 'exponential', powerLawMinDelay: 1, progress: new TerminalProgress({ mode: 'lines' }) });
  const seconds = (performance.now() - t1) / 1000;
  // Recovery: precision of the top |E| inferred edges, among the true ones.
  const truth = new Set(data.edges.map((e) => `${e.source}>${e.target}`));
  const order = Array.from(fit.rates.keys()).sort((a, b) => fit.rates[b] - fit.rates[a]);
  const k = Math.min(truth.size, order.length);
  let hits = 0;
  for (let n = 0; n < k; n++) if (truth.has(`${fit.sources[order[n]]}>${fit.targets[order[n]]}`)) hits++;
  // AUC over all ordered pairs of distinct users (ties counted half): pairs without an edge score 0.
  const n = 12600;
  const P = truth.size;
  const N = n * (n - 1) - P;
  let negAbove = 0; // negatives with a higher score than the current position
  let aucSum = 0;
  let truePositives = 0;
  for (let a = 0; a < order.length; ) {
    let b = a;
    while (b < order.length && fit.rates[order[b]] === fit.rates[order[a]]) b++;
    let pos = 0;
    for (let c = a; c < b; c++) if (truth.has(`${fit.sources[order[c]]}>${fit.targets[order[c]]}`)) pos++;
    const neg = b - a - pos;
    aucSum += pos * (N - negAbove - neg) + 0.5 * pos * neg;
    negAbove += neg;
    truePositives += pos;
    a = b;
  }
  // True edges without a positive rate tie with the remaining negatives at 0.
  aucSum += 0.5 * (P - truePositives) * (N - negAbove);
  const auc = aucSum / (P * N);
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  rows.push([
    'synthetic (Twitter-sized)',
    `12600 users, 3000 cascades, mean size ${mean.toFixed(1)}, max ${sizes[sizes.length - 1]} (generated in ${genSeconds.toFixed(1)} s); ${truth.size} true edges, precision@${truth.size} ${(hits / truth.size).toFixed(3)}, ${truePositives} of them with a positive rate, AUC ${auc.toFixed(4)}`,
    `${fit.candidatePairs}`,
    `${fit.rates.length}`,
    seconds.toFixed(2),
    peakMb(),
  ]);
}

console.log(`\nNetRate fit (exponential, exact: EM then projected Newton per target), median of ${runs} fits\n`);
console.log('| data | size | candidate pairs | edges with a positive rate | fit seconds | peak RSS MB |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
