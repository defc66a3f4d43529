// `npm run bench -- embedded-ic [--dimension 50] [--epochs 3] [--simulations 1000] [--workers 0] [--listings random,probability] [--negative-weight 1] [--twitter | --twitter-only] [--twitter-epochs 100] [--twitter-negatives 50] [--twitter-listed 10000000] [--twitter-auc-users 3000]`
//
// Embedded IC (host Float64 code, no tensors):
// - training throughput on Memetracker: --epochs epochs at the default knobs (200 sampled
//   never-infected users per cascade), pairs (u, v) scored with gradient per second, cascades per
//   second, seconds per epoch;
// - the shared 1000-simulation evaluation (`evaluateMicroscopic`, every test cascade, full and early
//   stage) of that model: graph build and simulation wall time;
// - with --twitter: the Twitter-sized fit of issue 16 (the NDM paper's Embedded IC did not finish on
//   its Twitter set in 72 hours) on the simulation package's shared preset `twitterSizedCascades`
//   (seed 1: 12,600 users, 3,000 continuous-time cascades, mean length 37.5, longest 2,466, over a
//   known power-law out-degree network; Embedded IC uses the users' order only), 10% held out for
//   validation, trained to early stopping (at most --twitter-epochs); fit time, the process's peak
//   RSS, and the recovery of the true network by @cascade-lab/metrics' `edgeRecovery`
//   (precision@|E| from the --twitter-listed likeliest pairs; the AUC over every pair of
//   --twitter-auc-users sampled users). Goal: < 30 min, < 4 GB, on 2 cores.
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { evaluateMicroscopic } from '@cascade-lab/evaluation';
import type { WithinStepOrder } from '@cascade-lab/simulation';
import { edgeRecovery } from '@cascade-lab/metrics';
import { cascadeLengthStats, edgesShownInOrder, twitterSizedCascades, twitterSizedDataset } from '@cascade-lab/simulation';
import { cascadeUsers, EmbeddedIcModel, trainEmbeddedIc, transmissionScore, type EmbeddedIcParameters } from '../src/index.js';

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
const negativeWeight = Number(arg('negative-weight', '1'));
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
    negativeWeight,
    rng: Rng.fromSeed(1),
  });
  const secondsPerEpoch = trained.fit.history.map((h) => h.seconds);
  const last = secondsPerEpoch[secondsPerEpoch.length - 1];
  console.log(`\n| Memetracker training (negativeWeight ${negativeWeight}) | value |\n|---|---:|`);
  console.log(`| cascades per epoch | ${fmt(train.filter((u) => u.length >= 2).length)} |`);
  console.log(`| pairs scored with gradient per epoch | ${fmt(trained.pairsPerEpoch)} |`);
  console.log(`| seconds per epoch (each of ${epochs}) | ${secondsPerEpoch.map((s) => s.toFixed(1)).join(', ')} |`);
  console.log(`| pairs per second (last epoch) | ${fmt(trained.pairsPerEpoch / last)} |`);
  console.log(`| cascades per second (last epoch) | ${fmt(train.length / last)} |`);

  // 2. The 1000-simulation evaluation of that model, once per within-step listing (--listings),
  // the list run twice in alternation so that a change of machine load hits every listing.
  const listings = arg('listings', 'random,probability').split(',') as WithinStepOrder[];
  const times = new Map<WithinStepOrder, number[]>();
  let graphLine = '';
  const scores = new Map<WithinStepOrder, string>();
  for (let round = 0; round < 2; round++) {
    for (const listing of listings) {
      const model = new EmbeddedIcModel(trained.parameters, { minEdgeProbability: 1e-4, workers, withinStepOrder: listing });
      const g0 = performance.now();
      const graph = model.summaryMetrics();
      graphLine = `| simulation graph: edges, build seconds | ${fmt(graph.simulationEdges)}, ${((performance.now() - g0) / 1000).toFixed(2)} |`;
      const r = await evaluateMicroscopic(model, data.test, { rng: Rng.fromSeed(2), simulations });
      model.dispose();
      times.set(listing, [...(times.get(listing) ?? []), r.seconds]);
      scores.set(listing, `${r.macroF1.toFixed(4)} / ${r.microF1.toFixed(4)}`);
    }
  }
  console.log(`\n| Memetracker evaluation (${data.test.length} test cascades x ${simulations} simulations, ${workers || 'no'} worker threads) | value |\n|---|---:|`);
  console.log(graphLine);
  for (const listing of listings) {
    console.log(`| evaluation seconds (simulations + F1), listing ${listing}, two runs | ${times.get(listing)!.map((t) => t.toFixed(1)).join(', ')} |`);
    console.log(`| Macro-F1 / Micro-F1 (after ${epochs} epochs, no early stopping), listing ${listing} | ${scores.get(listing)} |`);
  }
  console.log(`| peak RSS so far | ${peakRssGb().toFixed(2)} GB |`);
}

// 3. The Twitter-sized fit.
if (flag('twitter') || flag('twitter-only')) {
  const t0 = performance.now();
  const synthetic = twitterSizedCascades({ seed: 1 });
  const split = twitterSizedDataset(synthetic, { testFraction: 0, validationFraction: 0.1 });
  const shape = cascadeLengthStats(synthetic.cascades);
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
  const fitPeak = peakRssGb();
  const r0 = performance.now();
  // Precision@|E| from the likeliest pairs (every pair above the cut is listed, and the list is far
  // longer than |E|, so the top |E| are exact). The AUC needs every pair ranked, which users^2 = 159 M
  // pairs do not allow in edgeRecovery's buffers: it is computed exactly over all ordered pairs of a
  // uniform sample of --twitter-auc-users users (an unbiased estimate of the all-pairs AUC).
  const listed = likeliestPairs(fitted.parameters, Number(arg('twitter-listed', '10000000')), Rng.fromSeed(3));
  const top = edgeRecovery({ numNodes: synthetic.numNodes, sources: listed.sources, targets: listed.targets, scores: listed.scores, unlistedScore: -Infinity }, synthetic.graph);
  const sampleUsers = sampleOfUsers(synthetic.numNodes, Number(arg('twitter-auc-users', '3000')), Rng.fromSeed(4));
  const all = allPairsAmong(fitted.parameters, sampleUsers);
  const sampled = edgeRecovery({ numNodes: synthetic.numNodes, ...all }, synthetic.graph, { users: sampleUsers });
  // Against the true edges the data can show (source before target in some cascade).
  const shown = edgesShownInOrder(synthetic);
  const shownTop = edgeRecovery({ numNodes: synthetic.numNodes, sources: listed.sources, targets: listed.targets, scores: listed.scores, unlistedScore: -Infinity }, shown);
  const shownSampled = edgeRecovery({ numNodes: synthetic.numNodes, ...all }, shown, { users: sampleUsers });
  const recoverySeconds = (performance.now() - r0) / 1000;
  console.log(`\n| Twitter-sized fit (d = ${dimension}, ${twitterNegatives} sampled never-infected users per cascade) | value |\n|---|---:|`);
  console.log(`| load average after the fit | ${loadavg().map((l) => l.toFixed(1)).join(' ')} |`);
  console.log(`| users / cascades (train + validation) | ${fmt(synthetic.numNodes - 2)} / ${fmt(twitterTrain.length)} + ${fmt(twitterValidation.length)} |`);
  console.log(`| cascade length: mean, median, 99th percentile, max | ${shape.mean.toFixed(1)}, ${shape.median}, ${shape.p99}, ${fmt(shape.max)} |`);
  console.log(`| infected-user pairs per epoch / with negatives | ${fmt(pairs)} / ${fmt(fitted.pairsPerEpoch)} |`);
  console.log(`| generation seconds | ${generateSeconds.toFixed(1)} |`);
  console.log(`| epochs (kept) | ${fitted.fit.epochs} (${fitted.fit.bestEpoch}) |`);
  console.log(`| seconds per epoch (median) | ${[...fitted.fit.history.map((h) => h.seconds)].sort((a, b) => a - b)[fitted.fit.history.length >> 1].toFixed(1)} |`);
  console.log(`| fit seconds (with the validation monitor) | ${fitSeconds.toFixed(0)} (${(fitSeconds / 60).toFixed(1)} min) |`);
  console.log(`| peak RSS of the process after the fit | ${fitPeak.toFixed(2)} GB |`);
  console.log(`| **precision@${fmt(top.trueEdges)}** (top pairs of ${fmt(listed.sources.length)} listed, p >= ${listed.threshold.toExponential(2)}) | ${top.precisionAtTrueEdges.toFixed(3)} |`);
  console.log(`| **AUC** over all ordered pairs of ${fmt(sampleUsers.length)} sampled users (${fmt(sampled.pairs)} pairs, ${fmt(sampled.trueEdges)} true edges) | ${sampled.auc.toFixed(4)} |`);
  console.log(`| against the ${fmt(shownTop.trueEdges)} true edges shown in order by some cascade: precision@${fmt(shownTop.trueEdges)}, sampled AUC | ${shownTop.precisionAtTrueEdges.toFixed(3)}, ${shownSampled.auc.toFixed(4)} |`);
  console.log(`| recovery seconds (every pair scored twice, the sample's pairs once more, edgeRecovery x 4) | ${recoverySeconds.toFixed(0)} |`);
  console.log(`| peak RSS of the process after the recovery | ${peakRssGb().toFixed(2)} GB |`);
}

/**
 * The pairs (u, v), u != v, with the highest learned p(u -> v), about `target` of them, scored by
 * -s(u, v) (monotone in p = sigmoid(-s), and without the ties sigmoid's rounding to 0 or 1 would make).
 * All users^2 pairs do not fit edgeRecovery's buffers (159 M pairs -> several GB), so the cut-off
 * is the score quantile of 1 M random pairs, and every pair above it is listed (a second pass).
 */
function likeliestPairs(p: EmbeddedIcParameters, target: number, rng: Rng): { sources: Int32Array; targets: Int32Array; scores: Float64Array; threshold: number } {
  const n = p.numUsers;
  const m = n - 2;
  const sample = new Float64Array(1_000_000);
  for (let i = 0; i < sample.length; i++) {
    const u = 2 + rng.int(m);
    let v = 2 + rng.int(m - 1);
    if (v >= u) v++;
    sample[i] = transmissionScore(p, u, v);
  }
  sample.sort();
  const cut = sample[Math.min(sample.length - 1, Math.floor((target / (m * (m - 1))) * sample.length))];
  let sources = new Int32Array(target);
  let targets = new Int32Array(target);
  let scores = new Float64Array(target);
  let k = 0;
  for (let u = 2; u < n; u++) {
    for (let v = 2; v < n; v++) {
      if (u === v) continue;
      const s = transmissionScore(p, u, v);
      if (s > cut) continue;
      if (k === scores.length) {
        const grow = <T extends Int32Array | Float64Array>(a: T, make: (len: number) => T): T => {
          const b = make(a.length * 2);
          b.set(a);
          return b;
        };
        sources = grow(sources, (l) => new Int32Array(l));
        targets = grow(targets, (l) => new Int32Array(l));
        scores = grow(scores, (l) => new Float64Array(l));
      }
      sources[k] = u;
      targets[k] = v;
      scores[k++] = -s;
    }
  }
  return { sources: sources.subarray(0, k), targets: targets.subarray(0, k), scores: scores.subarray(0, k), threshold: 1 / (1 + Math.exp(cut)) };
}


/** `count` distinct real users, uniformly. */
function sampleOfUsers(numNodes: number, count: number, rng: Rng): Int32Array {
  const users = rng.shuffle(Array.from({ length: numNodes - 2 }, (_, i) => i + 2));
  return Int32Array.from(users.slice(0, Math.min(count, users.length))).sort();
}

/** Every ordered pair (u, v), u != v, of `users`, scored by -s(u, v). */
function allPairsAmong(p: EmbeddedIcParameters, users: Int32Array): { sources: Int32Array; targets: Int32Array; scores: Float64Array } {
  const m = users.length * (users.length - 1);
  const sources = new Int32Array(m);
  const targets = new Int32Array(m);
  const scores = new Float64Array(m);
  let k = 0;
  for (const u of users) {
    for (const v of users) {
      if (u === v) continue;
      sources[k] = u;
      targets[k] = v;
      scores[k++] = -transmissionScore(p, u, v);
    }
  }
  return { sources, targets, scores };
}
