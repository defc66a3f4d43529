// Short seed-1 Memetracker training: per-epoch mean training loss and validation loss, for one lstmSequence implementation.
import { resolve } from 'node:path';
import { Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { initBackend } from '@cascade-lab/tensor-ops';
import { lstmHyperparameters } from '../src/index.js';
import { LstmNetwork } from '../src/network.js';
import { LstmTrainer, userLists, validationLoss } from '../src/trainer.js';
await initBackend((process.argv[3] ?? 'tensorflow') as 'tensorflow');
const impl = process.argv[2] as 'fused' | 'fusedBlockGrad' | 'ops';
const all: number[] = [];
const hp = lstmHyperparameters.parse({});
const data = await loadMicroscopicDataset({ path: resolve('/work/shared/data', 'micro/memetracker'), format: 'ndm' }, { seed: 1 });
const lists = userLists(data.train.filter((c) => c.events.length >= 2));
const validation = userLists(data.validation);
const network = new LstmNetwork({ numUsers: data.users.size, embeddingSize: hp.embeddingSize, hiddenSize: hp.hiddenSize }, Rng.fromSeed(1));
network.lstmImplementation = impl;
const trainer = new LstmTrainer(network, hp);
const rng = Rng.fromSeed(1);
const first: number[] = [];
const t0 = performance.now();
for (let e = 0; e < Number(process.argv[4] ?? 3); e++) {
  const plan = trainer.plan(lists, rng.derive(`epoch-${e}`));
  let loss = 0, weight = 0;
  for (const b of plan.batches) { const r = plan.step(b); loss += r.loss; weight += r.weight; if (first.length < 5) first.push(r.loss / r.weight); all.push(r.loss / r.weight); }
  console.log(`${impl} epoch ${e + 1}: train loss ${(loss / weight).toFixed(7)}, validation loss ${validationLoss(trainer, validation).toFixed(7)}, ${plan.batches.length} batches, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
(await import('node:fs')).writeFileSync(`/tmp/lstm3/steps-${impl}-${process.argv[5] ?? ''}.json`, JSON.stringify(all));
console.log(`${impl} first 5 steps: ${first.map((x) => x.toFixed(6)).join(' ')}`);
const w = network.readWeights();
console.log(`${impl} weights: ${Object.entries(w).map(([k, v]) => `${k} ${v.slice(0, 3).join(',')}`).join('; ')}`);
