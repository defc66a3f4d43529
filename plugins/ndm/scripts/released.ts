/**
 * The NDM authors' released checkpoints through this project's protocol (issue 15): imports
 * `<reference>/ndm-released/<dataset>.{json,bin}` into an `NdmModel`, evaluates it on the shipped
 * test split (`evaluateMicroscopic`, NDM §5.3) with each simulation count, next-user ranking, the
 * sharpness diagnostics of `diagnostics.ts`, and the cost of one simulated-F1 monitor pass on the
 * validation split; optionally saves it as a model of this plugin (`--save DIR`, loadable with
 * `ndmPlugin.load`). One JSON line per simulation count.
 *
 *   node --import tsx plugins/ndm/scripts/released.ts --dataset memetracker --simulations 100,1000 \
 *     [--seed 1] [--out runs/ndm-released.jsonl] [--save outputs/ndm-released-memetracker]
 *
 * Another model of this plugin (a saved folder) can be diagnosed the same way with `--model DIR`.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { evaluateMicroscopic, evaluateNextUserRanking, simulatedF1Monitor } from '@cascade-lab/evaluation';
import { initBackend, type BackendPreference } from '@cascade-lab/tensor-ops';
import { diagnoseNdm } from '../src/diagnostics.js';
import { loadNdmModel, type NdmModel } from '../src/plugin.js';
import { importReleasedNdm } from '../src/released.js';
import { NdmSimulator } from '../src/simulator.js';
import { validate } from '../src/trainer.js';
import { NdmNetwork } from '../src/model.js';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'memetracker' },
    simulations: { type: 'string', default: '100,1000' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'tensorflow' },
    model: { type: 'string' },
    out: { type: 'string' },
    save: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});

const root = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
const dataDir = values['data-dir'] ?? process.env.CASCADE_DATA_DIR ?? resolve(root, '../shared/data');
const backend = await initBackend(values.backend as BackendPreference);
const seed = Number(values.seed);
const data = await loadMicroscopicDataset({ path: resolve(dataDir, 'micro', values.dataset!), format: 'ndm' }, { seed });
const model: NdmModel = values.model ? await loadNdmModel(resolve(values.model)) : importReleasedNdm(resolve(dataDir, '../reference/ndm-released', values.dataset!), data.users);
if (values.save) {
  mkdirSync(resolve(values.save), { recursive: true });
  await model.save(resolve(values.save));
}
const out = values.out ? resolve(values.out) : undefined;
if (out) mkdirSync(dirname(out), { recursive: true });

const ranking = await evaluateNextUserRanking(model, data.test, { ks: [1, 10, 50, 100] });
const diagnostics = await diagnoseNdm(model, data.test);
// One pass of the model-selection monitor on the validation split (100 simulations), and the
// validation loss pass beside it: what selection by simulated F1 costs per epoch.
const monitor = simulatedF1Monitor({ cascades: data.validation.filter((c) => c.events.length >= 2), simulations: 100, seed: Rng.fromSeed(seed).derive('selection'), select: 'meanMacroF1', simulator: () => new NdmSimulator(model.architecture, model.weights) });
const pass = await monitor.evaluate({});
const t0 = performance.now();
const network = new NdmNetwork(model.architecture, model.weights);
const lossPass = validate(network, data.validation.filter((c) => c.events.length >= 2), model.hyperparameters.learnEnd);
const lossSeconds = (performance.now() - t0) / 1000;
network.dispose();

for (const simulations of values.simulations!.split(',').map(Number)) {
  const ev = await evaluateMicroscopic(model, data.test, { rng: Rng.fromSeed(seed).derive('evaluation'), simulations });
  const row = {
    dataset: values.dataset,
    model: values.model ?? 'released',
    seed,
    backend: backend.name,
    simulations,
    macroF1: ev.macroF1,
    microF1: ev.microF1,
    earlyMacroF1: ev.earlyMacroF1,
    earlyMicroF1: ev.earlyMicroF1,
    evaluationSeconds: ev.seconds,
    ranking: ranking.metrics,
    diagnostics,
    validation: { monitorSeconds: monitor.seconds[0], meanMacroF1: pass.value, ...pass.also, loss: lossPass.loss, lossPassSeconds: lossSeconds, cascades: data.validation.length },
  };
  console.log(JSON.stringify(row));
  if (out) appendFileSync(out, JSON.stringify(row) + '\n');
}
model.dispose();
