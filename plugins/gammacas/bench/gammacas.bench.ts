/**
 * GammaCas speed: training throughput (cascades per second) at the paper's batch size and shapes,
 * and inference latency per cascade at batch 1, on every tfjs backend that loads here.
 *
 *   npm run bench -- gammacas [--backends wasm,tensorflow,cpu] [--batches 6] [--latency-runs 50]
 *
 * Shapes (GammaCas §4.2 and issue 7): batch 256, 72 bins of 5 min, root texts of 30 tokens, 8 news
 * items of 36 tokens, vocabulary 20,000, embeddings 256, state 16, RK4 (default steps), 9 horizons.
 * News items are drawn independently per cascade (no item shared inside a batch, so the news
 * de-duplication does not help: the worst case); a second row shares a stream of 64 items, as real
 * cascades around the same time do. Throughput is the median over `--batches` timed batches after one
 * warm-up batch; latency is the median of `--latency-runs` single-cascade predictions; batch
 * prediction the median of 5 calls after 3 warm-up calls.
 */
import { executionSettings, Rng, silentLogger, type MacroscopicDataset, type TrainContext, type WindowedCascade } from '@cascade-lab/core';
import { currentBackend, initBackend, tf, type BackendPreference } from '@cascade-lab/tensor-ops';
import { gammaCasHyperparameters, gammaCasPlugin, type GammaCasHyperparameters } from '../src/index.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const backends = arg('backends', 'wasm,tensorflow').split(',') as BackendPreference[];
const timedBatches = Number(arg('batches', '6'));
const latencyRuns = Number(arg('latency-runs', '50'));

const BATCH = 256;
const BINS = 72;
const VOCAB = 20000;
const HORIZONS = [12, 18, 24, 36, 48, 72, 120, 240, 360];

function cascades(n: number, sharedNews: number, seed: number): WindowedCascade[] {
  const rng = Rng.fromSeed(seed);
  const tokens = (len: number) => Int32Array.from({ length: len }, () => 2 + rng.int(VOCAB - 2));
  const stream = Array.from({ length: sharedNews }, () => tokens(36));
  return Array.from({ length: n }, (_, i) => {
    const counts = Float32Array.from({ length: BINS }, () => rng.int(4));
    return {
      id: `b${i}`,
      counts,
      followerSums: counts.map((c) => c * (10 + rng.int(1000))),
      rootFollowers: rng.int(100000),
      observedSize: 1 + counts.reduce((a, b) => a + b, 0),
      targets: Float64Array.from(HORIZONS, (h) => 50 + h),
      textTokens: tokens(30),
      newsTokens: Array.from({ length: 8 }, () => (sharedNews > 0 ? stream[rng.int(sharedNews)] : tokens(36))),
      windowEvents: [],
    };
  });
}

function dataset(train: WindowedCascade[]): MacroscopicDataset {
  return { name: 'bench', observationWindowSeconds: BINS * 300, binWidthSeconds: 300, horizonsHours: HORIZONS, vocabularySize: VOCAB, train, validation: [], test: [] };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median milliseconds per training batch (after the first). */
async function trainingBatchMs(data: MacroscopicDataset, hp: GammaCasHyperparameters): Promise<number> {
  const times: number[] = [];
  let last = 0;
  const ctx: TrainContext = {
    rng: Rng.fromSeed(1),
    backend: currentBackend()!,
    execution: executionSettings(),
    progress: {
      start: () => {
        last = performance.now();
        return {
          tick() {
            const now = performance.now();
            times.push(now - last);
            last = now;
          },
          status() {},
          done() {},
        };
      },
    },
    logger: silentLogger,
    metrics: { logMetric() {} },
    signal: new AbortController().signal,
    workDir: '.',
  };
  const model = await gammaCasPlugin.train(data, hp, ctx);
  model.dispose();
  return median(times.slice(1));
}

const rows: string[][] = [];
for (const preference of backends) {
  let name: string;
  try {
    const sel = await initBackend(preference);
    name = `${sel.name} (${sel.device})`;
  } catch (e) {
    rows.push([preference, 'unavailable', (e as Error).message.split('\n')[0], '']);
    continue;
  }
  const epochsFor = (n: number) => Math.ceil((timedBatches + 1) / (n / BATCH));
  const train = (variant: GammaCasHyperparameters['variant'], shared: number, integrator: GammaCasHyperparameters['integrator'], rk4Steps?: number) => {
    const data = dataset(cascades(BATCH * 2, shared, 7));
    const hp = gammaCasHyperparameters.parse({ variant, integrator, batchSize: BATCH, epochs: epochsFor(data.train.length), maxNewsItems: 8, ...(rk4Steps ? { rk4Steps } : {}) });
    return trainingBatchMs(data, hp);
  };
  const cases: [string, GammaCasHyperparameters['variant'], number, GammaCasHyperparameters['integrator'], number?][] = [
    ['full, news per cascade', 'full', 0, 'rk4'],
    ['full, RK4 with 50 steps', 'full', 0, 'rk4', 50],
    ['full, shared news stream', 'full', 64, 'rk4'],
    ['full, closed form', 'full', 0, 'closed-form'],
    ['no-news', 'no-news', 0, 'rk4'],
    ['counts-only', 'counts-only', 0, 'rk4'],
  ];
  for (const [label, variant, shared, integrator, rk4Steps] of cases) {
    const ms = await train(variant, shared, integrator, rk4Steps);
    rows.push([name, `train ${label}`, `${((BATCH / ms) * 1000).toFixed(0)} cascades/s`, `${ms.toFixed(0)} ms / batch of ${BATCH}`]);
  }
  // Inference latency: one cascade at a time, 9 horizons, full model.
  const data = dataset(cascades(BATCH, 0, 8));
  const model = await gammaCasPlugin.train(data, gammaCasHyperparameters.parse({ epochs: 1 }), {
    rng: Rng.fromSeed(2),
    backend: currentBackend()!,
    execution: executionSettings(),
    progress: { start: () => ({ tick() {}, status() {}, done() {} }) },
    logger: silentLogger,
    metrics: { logMetric() {} },
    signal: new AbortController().signal,
    workDir: '.',
  });
  const one = data.train.slice(0, 1);
  await model.predict(one, HORIZONS);
  const latencies: number[] = [];
  for (let r = 0; r < latencyRuns; r++) {
    const t0 = performance.now();
    await model.predict([data.train[r % data.train.length]], HORIZONS);
    latencies.push(performance.now() - t0);
  }
  // Median of 5 calls after 3 warm-up calls (the first compiles the batch's graph on tensorflow,
  // and a TensorFlow session takes a few runs to reach its steady speed).
  const batchTimes: number[] = [];
  for (let r = 0; r < 8; r++) {
    const t0 = performance.now();
    await model.predict(data.train, HORIZONS);
    if (r >= 3) batchTimes.push(performance.now() - t0);
  }
  const batchMs = median(batchTimes);
  model.dispose();
  rows.push([name, 'inference, batch 1', `${median(latencies).toFixed(2)} ms / cascade`, `${latencyRuns} runs`]);
  rows.push([name, `inference, batch ${BATCH}`, `${((batchMs / BATCH) * 1000).toFixed(0)} µs / cascade`, `${((BATCH / batchMs) * 1000).toFixed(0)} cascades/s`]);
  if (tf.memory().numTensors > 200) rows.push([name, 'warning', `${tf.memory().numTensors} tensors alive after the runs`, '']);
}

console.log(`\nGammaCas, batch ${BATCH}, ${BINS} bins, text 30 tokens, 8 news items x 36 tokens, vocabulary ${VOCAB}, d 256, state 16, RK4 with the default ${gammaCasHyperparameters.parse({}).rk4Steps} steps, ${HORIZONS.length} horizons\n`);
console.log('| backend | what | speed | detail |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
