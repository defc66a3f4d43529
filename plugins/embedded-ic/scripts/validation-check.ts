/**
 * Trains Embedded IC on a dataset's training split and scores it on the VALIDATION split with the
 * shared protocol (never the test split): the check used to choose the defaults.
 *
 *   npx tsc -b tsconfig.build.json
 *   CASCADE_DATA_DIR=../shared/data node --import tsx plugins/embedded-ic/scripts/validation-check.ts memetracker '{"dimension":50}' [simulations]
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MemoryLogger, quietProgress, Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { evaluateMicroscopic } from '@cascade-lab/evaluation';
import { embeddedIcHyperparameters, embeddedIcPlugin } from '@cascade-lab/plugin-embedded-ic';

const [name = 'memetracker', hpJson = '{}', sims = '100'] = process.argv.slice(2);
// The NDM-format folders (Memetracker, Irvine) by path; the others (christianity) by registry name.
const folder = path.join(process.env.CASCADE_DATA_DIR ?? '../shared/data', 'micro', name);
const dataset = existsSync(path.join(folder, 'cascade.txt')) ? await loadMicroscopicDataset({ path: folder, format: 'ndm' }) : await loadMicroscopicDataset({ name });
const hp = embeddedIcHyperparameters.parse(JSON.parse(hpJson));
const t0 = performance.now();
const model = await embeddedIcPlugin.train(dataset, hp, {
  rng: Rng.fromSeed(1),
  backend: { name: 'cpu', package: 'none', device: 'cpu' },
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics: { logMetric: (k, v, s) => { if (s === undefined || k.startsWith("validation.")) console.log(`${k}${s === undefined ? '' : `@${s}`} ${v.toFixed(4)}`); } },
  signal: new AbortController().signal,
  workDir: '/tmp',
});
const trainSeconds = (performance.now() - t0) / 1000;
const r = await evaluateMicroscopic(model, dataset.validation, { rng: Rng.fromSeed(7), simulations: Number(sims) });
const f = (x: number) => x.toFixed(6);
// Mean users a simulation adds (capped at |G_c|) against the mean |G_c|: how far the simulated cascades die out.
const n = r.cascades.length;
const added = r.cascades.reduce((a, c) => a + c.full.predictedMass, 0) / n;
const truth = r.cascades.reduce((a, c) => a + c.truthSize, 0) / n;
console.log(`${name} ${hpJson}: validation Macro ${f(r.macroF1)} Micro ${f(r.microF1)} early ${f(r.earlyMacroF1)} / ${f(r.earlyMicroF1)}; micro precision ${f(r.micro.precision)} recall ${f(r.micro.recall)}; users added per simulation ${added.toFixed(2)} of ${truth.toFixed(2)}; train ${trainSeconds.toFixed(0)} s`, model.summaryMetrics?.());
model.dispose();
