/**
 * DeepCas speed on its authors' test-net (CASCADE_DATA_DIR, default ../shared/data): walk sampling
 * (cascades per second, on the calling thread and on 2 worker threads) and training throughput (cascades per second through
 * the training step and both Adam updates) at the paper's shapes: 200 walks of 10 nodes, embeddings
 * 50, GRU 32 per direction, batch 32, vocabulary of the 387 training graphs.
 *
 *   npm run bench -- deepcas [--backends tensorflow,wasm] [--steps 10]
 *
 * Training: the median over `--steps` timed steps after warm-up steps (10 on tensorflow, where a
 * compiled graph needs about ten runs to reach its speed; 1 elsewhere).
 */
import { Rng } from '@cascade-lab/core';
import { loadMacroscopicDataset } from '@cascade-lab/data';
import { currentBackend, initBackend, tf, type BackendPreference } from '@cascade-lab/tensor-ops';
import { Adam } from '@cascade-lab/training';
import { SimulationPool } from '@cascade-lab/simulation';
import { cascadeWalks, deepcasHyperparameters, DeepCasNetwork, NodeVocabulary, prepareCascade, preparedFromWalks, trainingStep, type DeepCasArchitecture } from '../src/index.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const backends = arg('backends', 'tensorflow,wasm').split(',') as BackendPreference[];
const timedSteps = Number(arg('steps', '10'));

const data = await loadMacroscopicDataset({ name: 'deepcas-test-net', window: { horizonsHours: [24, 48] } });
const hp = deepcasHyperparameters.parse({});
const all = [...data.train, ...data.validation, ...data.test];
const vocabulary = NodeVocabulary.fromGraphs(data.train.map((c) => c.cascadeGraph!));

// Walk sampling and mapping to vocabulary indices: every cascade of the three files, on this thread
// and on a pool of 2 worker threads (as execution.workers 2 does); the first pass (the pool's
// start-up included) and the median of the next three.
const rows = data.train.map((c) => prepareCascade(c, vocabulary, hp, Rng.fromSeed(1)));
const nodes = all.reduce((a, c) => a + c.cascadeGraph!.numNodes, 0);
console.log(`walk sampling: ${all.length} cascades (${nodes} nodes), ${hp.walksPerGraph} walks of ${hp.walkLength}`);
console.log('\n| where | first pass | median of 3 more | cascades/s (median) |');
console.log('|---|---|---|---|');
for (const workers of [0, 2]) {
  const pool = workers > 0 ? new SimulationPool({ workers }) : undefined;
  const times: number[] = [];
  for (let pass = 0; pass < 4; pass++) {
    const t0 = performance.now();
    const local = await cascadeWalks(all, hp, Rng.fromSeed(pass), pool);
    const prepared = all.map((c, i) => preparedFromWalks(c, local[i], vocabulary, hp));
    times.push(performance.now() - t0);
    if (prepared.length === 0) throw new Error('no cascades');
  }
  await pool?.close();
  const median = times.slice(1).sort((a, b) => a - b)[1];
  console.log(`| ${workers > 0 ? `${workers} worker threads` : 'this thread'} | ${times[0].toFixed(0)} ms | ${median.toFixed(0)} ms | ${(all.length / (median / 1000)).toFixed(0)} |`);
}

const arch: DeepCasArchitecture = {
  vocabularySize: vocabulary.size,
  embeddingDim: hp.embeddingDim,
  gruUnits: hp.gruUnits,
  dense1: hp.dense1,
  dense2: hp.dense2,
  walksPerGraph: hp.walksPerGraph,
  walkLength: hp.walkLength,
  blockSize: hp.blockSize,
  sizeBuckets: hp.sizeBuckets,
};
const B = hp.batchSize;
const kt = hp.walksPerGraph * hp.walkLength;
console.log('\n| backend | device | step (median) | training cascades/s |');
console.log('|---|---|---|---|');
for (const preference of backends) {
  try {
    await initBackend(preference);
  } catch (e) {
    console.log(`| ${preference} | unavailable: ${(e as Error).message.split('\n')[0]} | | |`);
    continue;
  }
  const backend = currentBackend()!;
  const net = new DeepCasNetwork(arch, Rng.fromSeed(2));
  const step = trainingStep(net, hp);
  const variables = net.allTrainableWeights();
  const embedding = variables.filter((v) => v === net.embedding);
  const others = variables.filter((v) => v !== net.embedding);
  const adam = new Adam({ learningRate: hp.learningRate });
  const embeddingAdam = new Adam({ learningRate: hp.embeddingLearningRate });
  const rng = Rng.fromSeed(3);
  const run = () => {
    const walks = new Int32Array(B * kt);
    const buckets = new Int32Array(B);
    const y = new Float32Array(B);
    for (let i = 0; i < B; i++) {
      const r = rows[rng.int(rows.length)];
      walks.set(r.walks, i * kt);
      buckets[i] = r.bucket;
      y[i] = 3 * rng.next();
    }
    const inputs = [tf.tensor3d(walks, [B, hp.walksPerGraph, hp.walkLength], 'int32'), tf.tensor1d(buckets, 'int32'), tf.tensor1d(y), tf.ones([B])];
    const t0 = performance.now();
    const [cost, ...grads] = step.call(inputs);
    const byName = Object.fromEntries(variables.map((v, i) => [v.name, grads[i]]));
    adam.applyGradients(others, byName);
    embeddingAdam.applyGradients(embedding, byName);
    cost.dataSync();
    const ms = performance.now() - t0;
    tf.dispose([cost, ...grads, ...inputs]);
    return ms;
  };
  const warm = backend.name === 'tensorflow' ? 10 : 1;
  for (let i = 0; i < warm; i++) run();
  const times = Array.from({ length: timedSteps }, run).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`| ${backend.name} | ${backend.device} | ${median.toFixed(0)} ms | ${((B * 1000) / median).toFixed(1)} |`);
  step.dispose();
  adam.dispose();
  embeddingAdam.dispose();
  net.dispose();
}
