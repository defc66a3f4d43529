/**
 * One DeepCas training on deepcas-test-net with chosen knobs, for choosing knobs on the validation
 * split: prints, per label, the validation error of the kept epochs (what a choice may look at)
 * and, separately, the test error (to report, never to choose by).
 *
 *   node --import tsx plugins/deepcas/scripts/validate.ts '<hyperparameters JSON>' [seed] [labels, e.g. 1 or 1,2]
 *
 * The labels are scored as nominal horizons 24 and 48 h (configs/experiments/deepcas-test-net.yaml);
 * `1` trains the first label's network alone (half the time).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLogger, executionSettings, quietProgress, Rng, type TrainContext } from '@cascade-lab/core';
import { loadMacroscopicDataset } from '@cascade-lab/data';
import { initBackend } from '@cascade-lab/tensor-ops';
import { deepcasHyperparameters, deepcasPlugin, logIncrement, type DeepCasModel } from '../src/plugin.js';

const [json = '{}', seedArg = '1', labelsArg = '1,2'] = process.argv.slice(2);
const seed = Number(seedArg);
const labels = labelsArg.split(',').map((l) => Number(l) - 1);
const backend = await initBackend('tensorflow');
const full = await loadMacroscopicDataset({ name: 'deepcas-test-net', window: { horizonsHours: [24, 48] } }, { seed });
const pick = <T extends { targets: Float64Array }>(c: T): T => ({ ...c, targets: Float64Array.from(labels, (l) => c.targets[l]) });
const horizonsHours = labels.map((l) => full.horizonsHours[l]);
const data = { ...full, horizonsHours, train: full.train.map(pick), validation: full.validation.map(pick), test: full.test.map(pick) };
const hp = deepcasHyperparameters.parse(JSON.parse(json));
const logged: Record<string, number[]> = {};
const ctx: TrainContext = {
  rng: Rng.fromSeed(seed),
  backend,
  progress: quietProgress,
  logger: new ConsoleLogger(),
  metrics: { logMetric: (key, value) => void (logged[key] ??= []).push(value) },
  signal: new AbortController().signal,
  workDir: mkdtempSync(join(tmpdir(), 'deepcas-validate-')),
  execution: executionSettings({ workers: 1 }),
};
const started = Date.now();
const model = (await deepcasPlugin.train(data, hp, ctx)) as DeepCasModel;
const summary = model.summaryMetrics?.() ?? {};
const y = await model.predictLogIncrements(data.test, { rng: Rng.fromSeed(seed).derive('predict'), signal: ctx.signal, progress: quietProgress, execution: ctx.execution });
horizonsHours.forEach((h, i) => {
  const key = `h${h}`;
  let s = 0;
  data.test.forEach((c, j) => (s += (y[j][i] - logIncrement(c, i)) ** 2));
  const curve = (logged[`validation.${key}.loss`] ?? []).map((v) => v.toFixed(3)).join(' ');
  console.log(`RESULT ${json} seed ${seed} label ${labels[i] + 1}: validation ${summary[`${key}.ensembleValidationLoss`]?.toFixed(4)} (best epoch ${summary[`${key}.bestEpoch`]} alone ${summary[`${key}.bestValidationLoss`]?.toFixed(4)}); test ${(s / data.test.length).toFixed(4)}`);
  console.log(`CURVE ${key}: ${curve}`);
});
console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
model.dispose();
