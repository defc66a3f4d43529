// `npm run bench -- embedded-ic [--dimension 50] [--epochs 3] [--simulations 1000] [--workers 0] [--twitter | --twitter-only] [--twitter-epochs 100] [--twitter-negatives 50]`
//
// Embedded IC (host Float64 code, no tensors):
// - training throughput on Memetracker: --epochs epochs at the default knobs (200 sampled
//   never-infected users per cascade), pairs (u, v) scored with gradient per second, cascades per
//   second, seconds per epoch;
// - the shared 1000-simulation evaluation (`evaluateMicroscopic`, every test cascade, full and early
//   stage) of that model: graph build and simulation wall time;
// - with --twitter: the Twitter-sized fit of issue 16 (the NDM paper's Embedded IC did not finish on
//   its Twitter set in 72 hours): ~12,600 users and 3,000 IC cascades of mean length ~38 with a long
//   tail, from the simulation package's generator, trained to early stopping (at most
//   --twitter-epochs); fit time and the process's peak RSS. Goal: < 30 min, < 4 GB, on 2 cores.
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset, splitDataset } from '@cascade-lab/data';
import { evaluateMicroscopic, generateIcCascades } from '@cascade-lab/simulation';
import { cascadeUsers, EmbeddedIcModel, trainEmbeddedIc } from '../src/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const dataDir = process.env.CASCADE_DATA_DIR ?? resolve(root, '../shared/data');
const dimension = Number(arg('dimension', '50'));
const epochs = Number(arg('epochs', '3'));
const simulations = Number(arg('simulations', '1000'));
const workers = Number(arg('workers', '0'));
const twitterNegatives = Number(arg('twitter-negatives', '50'));
const peakRssGb = () => (process.resourceUsage().maxRSS * 1024) / 2 ** 30;
const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

console.log(`embedded-ic bench: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, d = ${dimension}`);

if (!flag('twitter-only')) {
  // 1. Training throughput on Memetracker.
  const data = await loadMicroscopicDataset({ path: resolve(dataDir, 'micro/memetracker'), format: 'ndm' });
  const train = data.train.map((c) => cascadeUsers(c.events));
  const trained = await trainEmbeddedIc(data.users.size, train, [], {
    dimension,
    learningRate: 0.5,
    maxEpochs: epochs,
    patience: 0,
    negativeSamples: 200,
    rng: Rng.fromSeed(1),
  });
  const secondsPerEpoch = trained.fit.history.map((h) => h.seconds);
  const last = secondsPerEpoch[secondsPerEpoch.length - 1];
  console.log('\n| Memetracker training | value |\n|---|---:|');
  console.log(`| cascades per epoch | ${fmt(train.filter((u) => u.length >= 2).length)} |`);
  console.log(`| pairs scored with gradient per epoch | ${fmt(trained.pairsPerEpoch)} |`);
  console.log(`| seconds per epoch (each of ${epochs}) | ${secondsPerEpoch.map((s) => s.toFixed(1)).join(', ')} |`);
  console.log(`| pairs per second (last epoch) | ${fmt(trained.pairsPerEpoch / last)} |`);
  console.log(`| cascades per second (last epoch) | ${fmt(train.length / last)} |`);

  // 2. The 1000-simulation evaluation of that model.
  const model = new EmbeddedIcModel(trained.parameters, { minEdgeProbability: 1e-4, workers });
  const g0 = performance.now();
  const graph = model.summaryMetrics();
  const graphSeconds = (performance.now() - g0) / 1000;
  const r = await evaluateMicroscopic(model, data.test, { rng: Rng.fromSeed(2), simulations });
  model.dispose();
  console.log(`\n| Memetracker evaluation (${data.test.length} test cascades x ${simulations} simulations, ${workers || 'no'} worker threads) | value |\n|---|---:|`);
  console.log(`| simulation graph: edges, build seconds | ${fmt(graph.simulationEdges)}, ${graphSeconds.toFixed(2)} |`);
  console.log(`| evaluation seconds (simulations + F1) | ${r.seconds.toFixed(1)} |`);
  console.log(`| Macro-F1 / Micro-F1 (after ${epochs} epochs, no early stopping) | ${r.macroF1.toFixed(4)} / ${r.microF1.toFixed(4)} |`);
  console.log(`| peak RSS so far | ${peakRssGb().toFixed(2)} GB |`);
}

// 3. The Twitter-sized fit.
if (flag('twitter') || flag('twitter-only')) {
  const t0 = performance.now();
  // Near-critical IC on an Erdős–Rényi digraph: mean offspring 12 x 0.081 = 0.972 gives a mean
  // size near 1 / (1 - 0.966) ~ 30-40 (cascades under 2 users are redrawn) and a long tail.
  const synthetic = generateIcCascades({ numUsers: 12600, averageOutDegree: 12, probabilityRange: [0, 0.162], numCascades: 3000, rng: Rng.fromSeed(16) });
  const split = splitDataset({ all: synthetic.cascades }, { seed: 1, testFraction: 0, validationFraction: 0.1 });
  const lengths = synthetic.cascades.map((c) => c.events.length).sort((a, b) => a - b);
  const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  const generateSeconds = (performance.now() - t0) / 1000;
  const twitterTrain = split.train.map((c) => cascadeUsers(c.events));
  const twitterValidation = split.validation.map((c) => cascadeUsers(c.events));
  const pairs = twitterTrain.reduce((a, u) => a + (u.length * (u.length - 1)) / 2, 0);
  const f0 = performance.now();
  const fitted = await trainEmbeddedIc(synthetic.numNodes, twitterTrain, twitterValidation, {
    dimension,
    learningRate: 0.5,
    maxEpochs: Number(arg('twitter-epochs', '100')),
    patience: 5,
    // Sampled never-infected users per cascade: their term stays unbiased at any count (re-weighted);
    // 50 of ~12,560 keeps it at about a fifth of the epoch's pairs instead of half with 200.
    negativeSamples: twitterNegatives,
    rng: Rng.fromSeed(1),
    // One line per epoch (the loop's), with the peak RSS so far: a long run shows where it is.
    logger: { debug: () => undefined, info: (m) => console.log(`  ${m} [peak RSS ${peakRssGb().toFixed(2)} GB, ${((performance.now() - f0) / 60000).toFixed(1)} min]`), warn: console.warn, error: console.error },
  });
  const fitSeconds = (performance.now() - f0) / 1000;
  console.log(`\n| Twitter-sized fit (d = ${dimension}, ${twitterNegatives} sampled never-infected users per cascade) | value |\n|---|---:|`);
  console.log(`| load average after the fit | ${loadavg().map((l) => l.toFixed(1)).join(' ')} |`);
  console.log(`| users / cascades (train + validation) | ${fmt(synthetic.numNodes - 2)} / ${fmt(twitterTrain.length)} + ${fmt(twitterValidation.length)} |`);
  console.log(`| cascade length: mean, median, 99th percentile, max | ${mean.toFixed(1)}, ${lengths[lengths.length >> 1]}, ${lengths[Math.floor(0.99 * lengths.length)]}, ${lengths[lengths.length - 1]} |`);
  console.log(`| infected-user pairs per epoch / with negatives | ${fmt(pairs)} / ${fmt(fitted.pairsPerEpoch)} |`);
  console.log(`| generation seconds | ${generateSeconds.toFixed(1)} |`);
  console.log(`| epochs (kept) | ${fitted.fit.epochs} (${fitted.fit.bestEpoch}) |`);
  console.log(`| seconds per epoch (median) | ${[...fitted.fit.history.map((h) => h.seconds)].sort((a, b) => a - b)[fitted.fit.history.length >> 1].toFixed(1)} |`);
  console.log(`| fit seconds (with the validation monitor) | ${fitSeconds.toFixed(0)} (${(fitSeconds / 60).toFixed(1)} min) |`);
  console.log(`| peak RSS of the process | ${peakRssGb().toFixed(2)} GB |`);
}
