// `npm run bench -- lstm-profile [--batches 10] [--repeats 3] [--backend tensorflow|wasm] [--no-row-groups] [--only <text in a piece's label>] [--loss-row-steps 2]`
//
// Where the lstm training step's time goes on the tensorflow backend (compiled graphs; or eager on
// --backend wasm), on the
// bench's Memetracker batches: each piece of the step as its own compiled graph, timed per batch
// after a compiling call, summed over the batches.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset, planBatches } from '@cascade-lab/data';
import { GraphFunction, initBackend, tf } from '@cascade-lab/tensor-ops';
import { lstmHyperparameters } from '../src/index.js';
import { chunkTensors, griddedChunk, LstmNetwork, MASKED_LOGIT, type RowGroup, type TrainingChunk } from '../src/network.js';
import { groupsKey, LstmTrainer, lengthChunks, userLists } from '../src/trainer.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const dataDir = process.env.CASCADE_DATA_DIR ?? resolve(root, '../shared/data');
const hp = lstmHyperparameters.parse({ embeddingSize: 64, hiddenSize: 64, batchSize: 32 });

await initBackend((arg('backend', 'tensorflow')) as 'tensorflow' | 'wasm' | 'cpu');
const data = await loadMicroscopicDataset({ path: resolve(dataDir, 'micro/memetracker'), format: 'ndm' }, { seed: 1 });
const lists = userLists(data.train.filter((c) => c.events.length >= 2));
const plan = planBatches(Int32Array.from(lists, (c) => c.length), { batchSize: hp.batchSize, bucketing: 'none', rng: Rng.fromSeed(1).derive('batches') });
const batches = plan.slice(0, Number(arg('batches', '10'))).map((rows) => rows.map((i) => lists[i]));
const U = data.users.size;
const network = new LstmNetwork({ numUsers: U, embeddingSize: hp.embeddingSize, hiddenSize: hp.hiddenSize }, Rng.fromSeed(1));
const lossRowSteps = process.argv.includes('--loss-row-steps') ? Number(arg('loss-row-steps', '')) : undefined;
const trainer = new LstmTrainer(network, hp, { rowGroups: !process.argv.includes('--no-row-groups'), lossRowSteps });
const variables = network.trainableVariables();
const rowGroups = !process.argv.includes('--no-row-groups');
const chunks: TrainingChunk[] = batches.flatMap((b) => lengthChunks(b, U).map((g) => griddedChunk(g, hp.learnEnd, { rowGroups, lossRowSteps })));
const realLengths = batches.map((b) => Math.max(...b.map((c) => c.length)));
console.log(`users ${U}; ${batches.length} batches -> ${chunks.length} chunks; real max lengths ${realLengths.join(' ')}`);
console.log(`chunk shapes (row groups) ${chunks.map((c) => groupsKey(c.groups)).join(' ')}; LSTM row positions ${chunks.reduce((s, c) => s + c.groups.reduce((t, g) => t + g.rows * g.length, 0), 0)}; padded logit cells ${chunks.reduce((s, c) => s + c.rows * c.length * U, 0) / 1e6}M, loss rows ${chunks.reduce((s, c) => s + c.positions.length, 0)}, real positions ${batches.flat().reduce((s, c) => s + c.length, 0)}, padded ${chunks.reduce((s, c) => s + c.rows * c.length, 0)}`);

/** The row groups of the chunk being run (read by the pieces while a graph is traced; the call's key). */
let groups: readonly RowGroup[] = [];
type Inputs = (c: TrainingChunk) => tf.Tensor[];
const chunkInputs: Inputs = (c) => chunkTensors(c, c.count);
const loss = ([u, p, t, w, m, d]: tf.Tensor[]) => network.loss(u as tf.Tensor2D, p as tf.Tensor1D, t as tf.Tensor1D, w as tf.Tensor1D, m as tf.Tensor2D, d as tf.Scalar, groups);
const pieces: [string, (x: tf.Tensor[]) => tf.Tensor[]][] = [
  ['loss + gradients (the step graph)', (x) => {
    const { value, grads } = tf.variableGrads(() => loss(x), variables);
    return [value, ...variables.map((v) => grads[v.name])];
  }],
  ['loss forward only', (x) => [loss(x)]],
  ['LSTM hidden states forward', ([u]) => [tf.sum(network.hiddenStates(u as tf.Tensor2D, groups))]],
  ['LSTM hidden states forward + backward', ([u]) => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(network.hiddenStates(u as tf.Tensor2D, groups))), variables.filter((v) => !v.name.includes('output')));
    return [value, ...Object.values(grads)];
  }],
  ['LSTM hidden states forward + backward, BlockLSTMGradV2 backward (before)', ([u]) => {
    const { value, grads } = tf.variableGrads(() => {
      const users = u as tf.Tensor2D;
      network.lstmImplementation = 'fusedBlockGrad';
      try {
        return tf.sum(tf.square(network.hiddenStates(users, groups)));
      } finally {
        network.lstmImplementation = 'fused';
      }
    }, variables.filter((v) => !v.name.includes('output')));
    return [value, ...Object.values(grads)];
  }],
  ['the step without the LSTM (hidden states an input): loss + gradients', ([, p, t, w, m, d]) => {
    const h = tf.fill([groups.reduce((s, g) => s + g.rows * g.length, 0), hp.hiddenSize], 0.1);
    const f = (hh: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) => {
      const logits = tf.add(tf.matMul(tf.gather(hh, p) as tf.Tensor2D, kernel as tf.Tensor2D), bias);
      const mask = tf.scatterND(m, tf.fill([m.shape[0]], MASKED_LOGIT), [p.shape[0], U]);
      const logp = tf.logSoftmax(tf.add(logits, mask));
      const picked = tf.sum(tf.mul(logp, tf.oneHot(t as tf.Tensor1D, U, 1, 0, 'float32')), 1);
      return tf.div(tf.neg(tf.sum(tf.mul(picked, w))), d) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(f)([h, network.outputKernel, network.outputBias]);
    return [value, ...grads];
  }],
  ['infected mask only ([N, U] scatter)', ([, p, , , m]) => [tf.sum(tf.scatterND(m, tf.fill([m.shape[0]], MASKED_LOGIT), [p.shape[0], U]))]],
  ['dense infected mask, the old one ([rows*len, U] one-hot running count)', ([u]) => {
    const users = u as tf.Tensor2D;
    const [B, L] = users.shape;
    const infected = tf.minimum(tf.cumsum(tf.oneHot(users, U, 1, 0, 'float32'), 1), 1);
    return [tf.sum(tf.reshape(infected, [B * L, U]))];
  }],
  ['output layer + logSoftmax forward, no mask', ([, p, t, w]) => {
    const h = tf.zeros([p.shape[0], hp.hiddenSize]).add(0.1) as tf.Tensor2D;
    const logp = tf.logSoftmax(network.logits(h));
    return [tf.sum(tf.mul(tf.sum(tf.mul(logp, tf.oneHot(t as tf.Tensor1D, U, 1, 0, 'float32')), 1), w))];
  }],
  ['output layer + logSoftmax forward + backward, no mask', ([, p, t, w]) => {
    const h = tf.zeros([p.shape[0], hp.hiddenSize]).add(0.1) as tf.Tensor2D;
    const { value, grads } = tf.variableGrads(() => {
      const logp = tf.logSoftmax(network.logits(h));
      return tf.sum(tf.mul(tf.sum(tf.mul(logp, tf.oneHot(t as tf.Tensor1D, U, 1, 0, 'float32')), 1), w)) as tf.Scalar;
    }, [network.outputKernel, network.outputBias]);
    return [value, ...Object.values(grads)];
  }],
];

const repeats = Number(arg('repeats', '3'));
const only = arg('only', '');
for (const [label, fn] of pieces) {
  if (!label.includes(only)) continue;
  const g = new GraphFunction(fn, { name: label, captureExternal: true });
  const firstCalls = [0, 0];
  for (const k of [0, 1]) {
    const start = performance.now();
    for (const c of chunks) {
      const x = chunkInputs(c);
      groups = c.groups;
      const out = g.call(x, groupsKey(c.groups));
      for (const o of out) o.dataSync();
      tf.dispose(out);
      tf.dispose(x);
    }
    firstCalls[k] = (performance.now() - start) / 1000;
  }
  let best = Infinity;
  let bestCpu = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    for (const c of chunks) {
      const x = chunkInputs(c);
      groups = c.groups;
      const out = g.call(x, groupsKey(c.groups));
      for (const o of out) o.dataSync();
      tf.dispose(out);
      tf.dispose(x);
    }
    const used = process.cpuUsage(cpu);
    bestCpu = Math.min(bestCpu, (used.user + used.system) / 1000);
    best = Math.min(best, performance.now() - start);
  }
  console.log(`${label}: ${(best / 1000).toFixed(3)} s a pass (best of ${repeats}; CPU ${(bestCpu / 1000).toFixed(3)} s), graph ops ${g.stats.lastGraphOps}, graphs ${g.stats.compiled}; tracing pass ${firstCalls[0].toFixed(2)} s, first graph pass ${firstCalls[1].toFixed(2)} s`);
  g.dispose();
}
{
  // The Adam update alone, with gradients of the right sizes.
  const grads = Object.fromEntries(variables.map((v) => [v.name, tf.onesLike(v).mul(1e-3)]));
  for (let i = 0; i < 3; i++) trainer.optimizer.applyGradients(variables, grads);
  const start = performance.now();
  for (let i = 0; i < chunks.length; i++) trainer.optimizer.applyGradients(variables, grads);
  variables[0].dataSync();
  console.log(`Adam update: ${((performance.now() - start) / 1000).toFixed(3)} s for ${chunks.length} updates`);
  tf.dispose(Object.values(grads));
}
{
  for (const b of batches) trainer.step(b);
  let best = Infinity;
  let bestCpu = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    for (const b of batches) trainer.step(b);
    const used = process.cpuUsage(cpu);
    bestCpu = Math.min(bestCpu, (used.user + used.system) / 1000);
    best = Math.min(best, performance.now() - start);
  }
  let bestCompute = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    for (const c of chunks) tf.dispose(Object.values(trainer.lossAndGradients.compute(c, c.count).grads));
    bestCompute = Math.min(bestCompute, performance.now() - start);
  }
  console.log(`lossAndGradients.compute: ${(bestCompute / 1000).toFixed(3)} s a pass`);
  console.log(`trainer.step (whole): ${(best / 1000).toFixed(3)} s a pass (CPU ${(bestCpu / 1000).toFixed(3)} s), graphs ${trainer.lossAndGradients.graph.stats.compiled}, graph ops ${trainer.lossAndGradients.graph.stats.lastGraphOps}`);
}
trainer.dispose();
network.dispose();
