/**
 * NetRate fit time: the exact per-target solve (EM, then projected Newton) on the NDM paper's
 * Memetracker and Irvine training cascades (train + validation, as the plugin fits), each cascade
 * observed to its last infection, exponential delays. Optionally the simulation package's
 * Twitter-sized preset with its known network (`--synthetic`, or `--synthetic-only` to skip the real
 * sets so that the peak RSS is the synthetic fit's: `twitterSizedCascades`, 12,600 users, 3,000
 * cascades, mean length ~38, longest ~2,400; the NDM paper's NetRate did not finish on Twitter in
 * 72 hours), fitted once, with its recovery scored by @cascade-lab/metrics' `edgeRecovery`.
 *
 *   CASCADE_DATA_DIR=../shared/data npm run bench -- netrate [--runs 3] [--synthetic | --synthetic-only]
 *
 * Prints the median fit time over `--runs` fits and the process's peak resident memory.
 */
import { Rng, TerminalProgress } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { edgeRecovery } from '@cascade-lab/metrics';
import { cascadeLengthStats, edgesShownInOrder, twitterSizedCascades } from '@cascade-lab/simulation';
import { fitNetRate } from '../src/index.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const runs = Number(arg('runs', '3'));
const syntheticOnly = process.argv.includes('--synthetic-only');
const synthetic = syntheticOnly || process.argv.includes('--synthetic');

const rows: string[][] = [];
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peakMb = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);

for (const name of syntheticOnly ? [] : ['memetracker', 'irvine']) {
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
  // The simulation package's Twitter-sized preset (seed 1): 12,600 users, 3,000 continuous-time
  // cascades in hours over a power-law out-degree network with known exponential rates, each
  // observed for its 6.6-hour window (uninfected users contribute survival terms up to it).
  const t0 = performance.now();
  const data = twitterSizedCascades({ seed: 1 });
  const shape = cascadeLengthStats(data.cascades);
  const genSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const fit = fitNetRate(data.cascades, data.numNodes, { delay: 'exponential', powerLawMinDelay: 1, progress: new TerminalProgress({ mode: 'lines' }) });
  const seconds = (performance.now() - t1) / 1000;
  const fitPeak = peakMb();
  // Recovery by the metrics package: every ordered pair of real users, pairs without a fitted rate
  // score 0 (ties counted half in the AUC and by expected share at the precision cut-off).
  const r0 = performance.now();
  const recovery = edgeRecovery({ numNodes: data.numNodes, sources: fit.sources, targets: fit.targets, scores: fit.rates }, data.graph);
  const recoverySeconds = (performance.now() - r0) / 1000;
  // Against the true edges the data can show (source before target in some cascade).
  const shown = edgesShownInOrder(data);
  const shownRecovery = edgeRecovery({ numNodes: data.numNodes, sources: fit.sources, targets: fit.targets, scores: fit.rates }, shown);
  const truth = new Set<number>();
  for (let e = 0; e < data.sources.length; e++) truth.add(data.sources[e] * data.numNodes + data.targets[e]);
  let truePositive = 0;
  for (let e = 0; e < fit.rates.length; e++) if (fit.rates[e] > 0 && truth.has(fit.sources[e] * data.numNodes + fit.targets[e])) truePositive++;
  rows.push([
    'synthetic (Twitter-sized preset, seed 1)',
    `${data.numNodes - 2} users, ${shape.cascades} cascades, length mean ${shape.mean.toFixed(1)}, median ${shape.median}, 99th percentile ${shape.p99}, max ${shape.max} (generated in ${genSeconds.toFixed(1)} s); ${recovery.trueEdges} true edges, ${truePositive} of them with a positive rate; precision@${recovery.trueEdges} ${recovery.precisionAtTrueEdges.toFixed(3)}, AUC ${recovery.auc.toFixed(4)} over ${recovery.pairs} ordered pairs (scored in ${recoverySeconds.toFixed(1)} s); against the ${shownRecovery.trueEdges} true edges shown in order by some cascade: precision@${shownRecovery.trueEdges} ${shownRecovery.precisionAtTrueEdges.toFixed(3)}, AUC ${shownRecovery.auc.toFixed(4)}`,
    `${fit.candidatePairs}`,
    `${fit.rates.length}`,
    seconds.toFixed(2),
    `${fitPeak} (${peakMb()} after scoring)`,
  ]);
}

console.log(`\nNetRate fit (exponential, exact: EM then projected Newton per target), median of ${runs} fits\n`);
console.log('| data | size | candidate pairs | edges with a positive rate | fit seconds | peak RSS MB (after the fit) |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
