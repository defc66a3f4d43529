/**
 * Training fingerprint on the real microscopic sets: two epochs of the ndm-memetracker setting
 * (manual gradients, compiled on tensorflow, dropout 0.1, </s> weighted out) on the training split
 * of Memetracker and of Irvine, printing the epoch losses to the last digit and a hash of the final
 * weights. Run it on two commits to show that a change leaves these numbers exactly as they were
 * (issue 22: the blocked attention of long rows must not touch Memetracker or Irvine).
 *
 *   CASCADE_DATA_DIR=/work/shared/data node --import tsx plugins/ndm/scripts/training-fingerprint.ts
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { Rng, type TrainContext } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { initBackend } from '@cascade-lab/tensor-ops';
import { fit } from '@cascade-lab/training';
import { architectureOf, defaultHyperparameters, initialWeights, NdmNetwork } from '../src/index.js';
import { NdmTrainer, trainableCascades } from '../src/trainer.js';
await initBackend('tensorflow');
for (const name of ['memetracker', 'irvine']) {
  const data = await loadMicroscopicDataset({ path: resolve(process.env.CASCADE_DATA_DIR ?? '../shared/data', 'micro', name), format: 'ndm' }, { seed: 1 });
  const train = trainableCascades(data.train);
  const hp = defaultHyperparameters({ learnEnd: false, earlyStoppingMetric: 'none' });
  const arch = architectureOf(hp, data.users.size);
  const network = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(1).derive('init')));
  const trainer = new NdmTrainer(network, hp, 'manual');
  const context: Pick<TrainContext, 'signal' | 'progress'> = { signal: new AbortController().signal, progress: { start: () => ({ tick() {}, status() {}, done() {} }) } };
  const losses: number[] = [];
  for (let e = 1; e <= 2; e++) {
    const r = await fit({ name: 'ndm', epochs: 1, rng: Rng.fromSeed(1), epochStream: () => `epoch:${e}`, plan: (info) => trainer.plan(train, info.rng), context });
    losses.push(r.history[0].loss);
  }
  const h = createHash('sha256');
  const w = network.readWeights();
  for (const k of Object.keys(w).sort()) {
    const a = (w as unknown as Record<string, Float32Array>)[k];
    h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  }
  console.log(name, 'max length', Math.max(...train.map((c) => c.events.length)), 'losses', losses.join(' '), 'weights', h.digest('hex').slice(0, 16), 'graphs', trainer.manual?.graphStats?.compiled);
  trainer.dispose();
  network.dispose();
}
