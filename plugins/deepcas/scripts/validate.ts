/**
 * One DeepCas training on deepcas-test-net with chosen knobs, for choosing knobs on the validation
 * split: prints, per label, the validation error of the kept epochs (what a choice may look at)
 * and, separately, the test error (to report, never to choose by).
 *
 *   node --import tsx plugins/deepcas/scripts/validate.ts '<hyperparameters JSON>' [seed] [labels, e.g. 1 or 1,2] [half: a or b]
 *
 * The labels are scored as nominal horizons 24 and 48 h (configs/experiments/deepcas-test-net.yaml);
 * `1` trains the first label's network alone (half the time). With a half, the validation split is
 * cut in two (a seeded shuffle, 21 + 21 cascades on test-net): training selects its epochs on that
 * half alone, and the script scores the other half, which played no part in the choice: an
 * out-of-sample estimate that still never looks at the test split (the in-sample validation loss of
 * the selected epochs favours a jumpy curve, whose lowest point is partly luck). The held-out half
 * is given to training among the test cascades (unlabelled graphs, as the real test split is given).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLogger, executionSettings, quietProgress, Rng, type TrainContext } from '@cascade-lab/core';
import { loadMacroscopicDataset } from '@cascade-lab/data';
import { initBackend } from '@cascade-lab/tensor-ops';
import { deepcasHyperparameters, deepcasPlugin, logIncrement, type DeepCasModel } from '../src/plugin.js';

const [json = '{}', seedArg = '1', labelsArg = '1,2', half] = process.argv.slice(2);
if (half !== undefined && half !== 'a' && half !== 'b') throw new Error(`half: expected a or b, got ${half}`);
const seed = Number(seedArg);
const labels = labelsArg.split(',').map((l) => Number(l) - 1);
const backend = await initBackend('tensorflow');
const full = await loadMacroscopicDataset({ name: 'deepcas-test-net', window: { horizonsHours: [24, 48] } }, { seed });
const pick = <T extends { targets: Float64Array }>(c: T): T => ({ ...c, targets: Float64Array.from(labels, (l) => c.targets[l]) });
const horizonsHours = labels.map((l) => full.horizonsHours[l]);
const validation = full.validation.map(pick);
// The halves do not depend on the seed: every variant and seed selects on the same cascades.
const order = Rng.fromSeed('deepcas-validation-halves').shuffle(validation.map((_, i) => i));
const cut = Math.floor(order.length / 2);
const [selecting, heldOut] = half === undefined ? [validation, []] : half === 'a' ? [order.slice(0, cut), order.slice(cut)].map((ix) => ix.map((i) => validation[i])) : [order.slice(cut), order.slice(0, cut)].map((ix) => ix.map((i) => validation[i]));
const data = { ...full, horizonsHours, train: full.train.map(pick), validation: selecting, test: full.test.map(pick) };
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
// The held-out half goes to train as test cascades (their graphs only; DeepCas reads no test label):
// with `vocabulary: all` its nodes get their rows as the test split's do, so it stands for the test
// split as it would be used; with the default vocabulary train ignores the test split.
const model = (await deepcasPlugin.train({ ...data, test: [...data.test, ...heldOut] }, hp, ctx)) as DeepCasModel;
const summary = model.summaryMetrics?.() ?? {};
const predictContext = { rng: Rng.fromSeed(seed).derive('predict'), signal: ctx.signal, progress: quietProgress, execution: ctx.execution };
const y = await model.predictLogIncrements(data.test, predictContext);
const yHeld = heldOut.length > 0 ? await model.predictLogIncrements(heldOut, predictContext) : [];
horizonsHours.forEach((h, i) => {
  const key = `h${h}`;
  let s = 0;
  data.test.forEach((c, j) => (s += (y[j][i] - logIncrement(c, i)) ** 2));
  const curve = (logged[`validation.${key}.loss`] ?? []).map((v) => v.toFixed(3)).join(' ');
  if (heldOut.length > 0) {
    let e = 0;
    heldOut.forEach((c, j) => (e += (yHeld[j][i] - logIncrement(c, i)) ** 2));
    console.log(`HELDOUT ${json} seed ${seed} label ${labels[i] + 1} selected on half ${half} (${selecting.length}): held-out validation half (${heldOut.length}) ${(e / heldOut.length).toFixed(4)}`);
  }
  console.log(`RESULT ${json} seed ${seed} label ${labels[i] + 1}: validation ${summary[`${key}.ensembleValidationLoss`]?.toFixed(4)} (best epoch ${summary[`${key}.bestEpoch`]} alone ${summary[`${key}.bestValidationLoss`]?.toFixed(4)}); test ${(s / data.test.length).toFixed(4)}`);
  console.log(`CURVE ${key}: ${curve}`);
});
console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
model.dispose();
