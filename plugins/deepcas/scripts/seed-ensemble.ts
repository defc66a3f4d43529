/**
 * What an ensemble of DeepCas networks trained from different seeds would do on deepcas-test-net,
 * from finished runs' saved models (no training): each model and every subset of them (the mean of
 * their predicted log2(increment + 1), per label) scored on the validation split and, separately,
 * on the test split, with the squared error of log2(increment + 1).
 *
 *   node --import tsx plugins/deepcas/scripts/seed-ensemble.ts <run artifacts dir> [...]
 *
 * Every model reads the same walks (one fresh predict stream), so the singles' test errors differ a
 * little from their runs' (which drew walks from the run's stream). The validation errors are
 * in-sample: each run chose its epochs on this split (equally so for a single model and an
 * ensemble of such models). Cost of an ensemble of k: k trainings (a test-net training of both labels
 * took 713-795 s on the loaded 2-core machine).
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { quietProgress, Rng, executionSettings } from '@cascade-lab/core';
import { loadMacroscopicDataset } from '@cascade-lab/data';
import { initBackend } from '@cascade-lab/tensor-ops';
import YAML from 'yaml';
import { DeepCasModel, logIncrement } from '../src/plugin.js';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: seed-ensemble.ts <run artifacts dir> [...]');
  process.exit(2);
}
await initBackend('tensorflow');
const runConfig = YAML.parse(readFileSync(join(dirs[0], 'config.yaml'), 'utf8'));
const data = await loadMacroscopicDataset(runConfig.dataset, { seed: runConfig.seed });
const context = () => ({ rng: Rng.fromSeed('deepcas-seed-ensemble'), signal: new AbortController().signal, progress: quietProgress, execution: executionSettings({ workers: 1 }) });
const splits = { validation: data.validation, test: data.test } as const;
// predictions[model][split]: [cascade][label]
const predictions: Record<string, Float64Array[]>[] = [];
for (const dir of dirs) {
  const model = await DeepCasModel.load(join(dir, 'model'));
  const bySplit: Record<string, Float64Array[]> = {};
  for (const [name, cascades] of Object.entries(splits)) bySplit[name] = await model.predictLogIncrements(cascades, context());
  predictions.push(bySplit);
  model.dispose();
}
const subsets: number[][] = [];
for (let mask = 1; mask < 1 << dirs.length; mask++) subsets.push(dirs.map((_, i) => i).filter((i) => mask & (1 << i)));
for (const [split, cascades] of Object.entries(splits)) {
  for (let label = 0; label < data.horizonsHours.length; label++) {
    const line = subsets.map((members) => {
      let s = 0;
      let n = 0;
      cascades.forEach((c, j) => {
        const y = logIncrement(c, label);
        if (!Number.isFinite(y)) return;
        const p = members.reduce((a, m) => a + predictions[m][split][j][label], 0) / members.length;
        s += (p - y) ** 2;
        n++;
      });
      return `{${members.map((m) => m + 1).join(',')}} ${(s / n).toFixed(4)}`;
    });
    console.log(`${split} label ${label + 1} (${cascades.length} cascades): ${line.join('  ')}`);
  }
}
