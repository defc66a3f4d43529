// `npm run bench -- lstm-losses [--implementation fused|fusedBlockGrad|ops] [--no-row-groups] [--loss-row-steps 2] [--epochs 3] [--backend tensorflow] [--out steps.json]`
//
// Not a speed benchmark: the numbers check for speed changes. A short seed-1 training on Memetracker
// (the default knobs, batches from a fixed seed stream) prints each epoch's mean training loss and
// validation loss, the first five per-target step losses, and with --out writes every step's loss,
// so that two implementations of the LSTM (tensor-ops `lstmSequence`) or the row groups on and off
// can be compared step by step. `--implementation fusedBlockGrad --no-row-groups` is the code before
// the per-position cell backward and the row groups.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { initBackend, type LSTMSequenceOptions } from '@cascade-lab/tensor-ops';
import { lstmHyperparameters } from '../src/index.js';
import { LstmNetwork } from '../src/network.js';
import { LstmTrainer, userLists, validationLoss } from '../src/trainer.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const dataDir = process.env.CASCADE_DATA_DIR ?? resolve(root, '../shared/data');
await initBackend(arg('backend', 'tensorflow') as 'tensorflow');
const implementation = arg('implementation', 'fused') as LSTMSequenceOptions['implementation'];
const rowGroups = !process.argv.includes('--no-row-groups');
const hp = lstmHyperparameters.parse({});
const data = await loadMicroscopicDataset({ path: resolve(dataDir, 'micro/memetracker'), format: 'ndm' }, { seed: 1 });
const lists = userLists(data.train.filter((c) => c.events.length >= 2));
const validation = userLists(data.validation);
const network = new LstmNetwork({ numUsers: data.users.size, embeddingSize: hp.embeddingSize, hiddenSize: hp.hiddenSize }, Rng.fromSeed(1));
network.lstmImplementation = implementation;
const lossRowSteps = process.argv.includes('--loss-row-steps') ? Number(arg('loss-row-steps', '')) : undefined;
const trainer = new LstmTrainer(network, hp, { rowGroups, lossRowSteps });
const rng = Rng.fromSeed(1);
const steps: number[] = [];
const label = `${implementation}${rowGroups ? '' : ', no row groups'}, loss rows on ${trainer.lossRowSteps} step(s) a doubling`;
for (let e = 0; e < Number(arg('epochs', '3')); e++) {
  const plan = trainer.plan(lists, rng.derive(`epoch-${e}`));
  let loss = 0;
  let weight = 0;
  for (const b of plan.batches) {
    const r = trainer.step(b.map((i) => lists[i]));
    loss += r.lossSum;
    weight += r.targets;
    steps.push(r.lossSum / r.targets);
  }
  console.log(`${label} epoch ${e + 1}: training loss ${(loss / weight).toFixed(7)}, validation loss ${validationLoss(trainer, validation).toFixed(7)} (${plan.batches.length} steps; ${trainer.lossAndGradients.graph.stats.compiled} training graphs so far)`);
}
console.log(`${label} first 5 steps: ${steps.slice(0, 5).map((x) => x.toFixed(6)).join(' ')}`);
const out = arg('out', '');
if (out) writeFileSync(out, JSON.stringify(steps));
trainer.dispose();
network.dispose();
