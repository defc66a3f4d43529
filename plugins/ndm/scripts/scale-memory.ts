/**
 * Peak RSS of NDM training steps on the longest cascades of the Twitter-sized synthetic set of
 * `npm run bench -- scale` (issue 22): one epoch over the `--rows` longest training cascades
 * (batch 32, so one step of length-sorted sub-batches, each cut by `memoryChunks`), the bench's
 * setting (manual gradients, compiled on tensorflow, dropout 0.1), and the epoch's loss, so that a
 * change to the step's memory can be checked for the same numbers. The first epoch traces a graph
 * per chunk shape (runs each chunk eagerly); with `--epochs 2` the second runs the compiled graphs,
 * and the peak RSS is printed after each (the peak is cumulative: a second number above the first
 * is the compiled graphs' peak).
 *
 * `--dropout 0` (default: the bench's 0.1) leaves out the dropout draws, to see their share.
 *
 *   node --import tsx plugins/ndm/scripts/scale-memory.ts [--rows 3] [--epochs 1] [--dropout 0.1]
 */
import { parseArgs } from 'node:util';
import { Rng, type TrainContext } from '@cascade-lab/core';
import { twitterSizedCascades, twitterSizedDataset } from '@cascade-lab/simulation';
import { initBackend } from '@cascade-lab/tensor-ops';
import { fit } from '@cascade-lab/training';
import { architectureOf, defaultHyperparameters, initialWeights, NdmNetwork } from '../src/index.js';
import { NdmTrainer, trainableCascades } from '../src/trainer.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '3' }, epochs: { type: 'string', default: '1' }, dropout: { type: 'string', default: '0.1' } } });
await initBackend('tensorflow');
const data = twitterSizedDataset(twitterSizedCascades({ seed: 1 }));
const train = trainableCascades(data.train)
  .slice()
  .sort((a, b) => b.events.length - a.events.length)
  .slice(0, Number(values.rows));
const rssMb = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);
console.log(`training cascades of ${train.map((c) => c.events.length).join(', ')} users; peak RSS after the data ${rssMb()} MB`);
const hp = defaultHyperparameters({ learnEnd: false, earlyStoppingMetric: 'none', dropout: Number(values.dropout) });
const arch = architectureOf(hp, data.users.size);
const network = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(1).derive('init')));
const trainer = new NdmTrainer(network, hp, 'manual');
const context: Pick<TrainContext, 'signal' | 'progress'> = { signal: new AbortController().signal, progress: { start: () => ({ tick() {}, status() {}, done() {} }) } };
// Every epoch draws from the stream of epoch 1: the same batches and dropout masks, so a later epoch
// runs the chunk shapes of the first through their compiled graphs.
for (let e = 1; e <= Number(values.epochs); e++) {
  const r = await fit({ name: 'ndm', epochs: 1, rng: Rng.fromSeed(1), epochStream: () => 'epoch:1', plan: (info) => trainer.plan(train, info.rng), context });
  const graphs = trainer.manual?.graphStats;
  console.log(`epoch ${e}: ${r.seconds.toFixed(1)} s, loss ${r.history[0].loss}, peak RSS ${rssMb()} MB (graph calls ${graphs?.graphCalls ?? 0}, compiled ${graphs?.compiled ?? 0})`);
}
trainer.dispose();
network.dispose();
