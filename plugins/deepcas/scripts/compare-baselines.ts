/**
 * DeepCas against the two plain baselines on the test cascades of finished `cascade run`s:
 *   - observed size: the cascade stops growing (increment 0);
 *   - mean log growth: S(h) = S_obs exp(g_h), g_h the mean of ln(S(h) / S_obs) over the training
 *     cascades whose size at h is known.
 * For each: DeepCas' own error, the mean squared error of log2(increment + 1) (its training
 * objective, §5.1), and the protocol's MAPE, Kendall's tau-b and Spearman's rho
 * (`sizePredictionMetrics` of @cascade-lab/metrics). Several runs (seeds): means and standard
 * deviations. Where every run has the same test cascades (a fixed split, as test-net's files), it
 * also tests DeepCas' per-cascade squared log2 error, averaged over the runs, against each
 * baseline's: a paired sign-flip permutation test of the difference of the means (10^4 resamples).
 *
 *   node --import tsx plugins/deepcas/scripts/compare-baselines.ts <config.yaml> <outputs dir> [<outputs dir> ...]
 *
 * Each outputs dir is one run's (`outputs/<name>-<hash>`: its predictions.jsonl and config.yaml);
 * the training split is loaded again from the config (same seed, so the same split).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadMacroscopicDataset } from '@cascade-lab/data';
import { Rng } from '@cascade-lab/core';
import { pairedPermutationTest, sizePredictionMetrics } from '@cascade-lab/metrics';
import YAML from 'yaml';

interface Prediction {
  id: string;
  observedSize: number;
  horizonsHours: number[];
  actual: (number | null)[];
  predicted: number[];
}

const [configArg, ...dirs] = process.argv.slice(2);
if (!configArg || dirs.length === 0) {
  console.error('usage: compare-baselines.ts <config.yaml> <outputs dir> [...]');
  process.exit(2);
}

/** One cascade's squared error of log2(increment + 1) (a prediction below the observed size counts as no increment). */
const squaredLog2Error = (actual: number, predicted: number, observed: number) => (Math.log2(Math.max(0, predicted - observed) + 1) - Math.log2(actual - observed + 1)) ** 2;
const log2Error = (actual: number[], predicted: number[], observed: number[]) => {
  let s = 0;
  actual.forEach((a, i) => (s += squaredLog2Error(a, predicted[i], observed[i])));
  return s / actual.length;
};

type Row = Record<string, Record<string, number[]>>; // method -> metric -> values over runs, per horizon key
const table = new Map<number, Row>();
// Per horizon and method: cascade id -> squared log2 errors over the runs (for the paired test).
const perCascade = new Map<number, Record<string, Map<string, number[]>>>();
const testIds: string[] = [];
const push = (h: number, method: string, metric: string, v: number) => {
  const row = table.get(h) ?? {};
  table.set(h, row);
  row[method] ??= {};
  (row[method][metric] ??= []).push(v);
};

for (const dir of dirs) {
  const runConfig = YAML.parse(readFileSync(join(dir, 'config.yaml'), 'utf8'));
  const seed = runConfig.seed ?? YAML.parse(readFileSync(resolve(configArg), 'utf8')).seed;
  const data = await loadMacroscopicDataset(runConfig.dataset, { seed });
  const predictions: Prediction[] = readFileSync(join(dir, 'predictions.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l));
  testIds.push(predictions.map((p) => p.id).sort().join(' '));
  data.horizonsHours.forEach((h, hi) => {
    let g = 0;
    let n = 0;
    for (const c of data.train) {
      if (Number.isFinite(c.targets[hi])) {
        g += Math.log(c.targets[hi] / c.observedSize);
        n++;
      }
    }
    g /= Math.max(1, n);
    const known = predictions.filter((p) => p.actual[hi] !== null && Number.isFinite(p.actual[hi]));
    const actual = known.map((p) => p.actual[hi] as number);
    const observed = known.map((p) => p.observedSize);
    const methods: Record<string, number[]> = {
      deepcas: known.map((p) => p.predicted[hi]),
      'observed size': observed.slice(),
      'mean log growth': observed.map((s) => s * Math.exp(g)),
    };
    const byMethod = perCascade.get(h) ?? {};
    perCascade.set(h, byMethod);
    for (const [method, predicted] of Object.entries(methods)) {
      const errors = (byMethod[method] ??= new Map());
      known.forEach((p, i) => {
        errors.set(p.id, [...(errors.get(p.id) ?? []), squaredLog2Error(actual[i], predicted[i], observed[i])]);
      });
      const m = sizePredictionMetrics(Float64Array.from(actual), Float64Array.from(predicted));
      push(h, method, 'log2Error', log2Error(actual, predicted, observed));
      push(h, method, 'mape', m.mape);
      push(h, method, 'kendallTau', m.kendallTau);
      push(h, method, 'spearmanRho', m.spearmanRho);
    }
  });
}

const fmt = (vs: number[]) => {
  const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
  if (vs.length === 1 || Number.isNaN(mean)) return mean.toFixed(3);
  const sd = Math.sqrt(vs.reduce((a, b) => a + (b - mean) ** 2, 0) / (vs.length - 1));
  return `${mean.toFixed(3)} ± ${sd.toFixed(3)}`;
};
console.log(`${dirs.length} run(s) of ${configArg}\n`);
console.log('| horizon | method | squared log2(increment + 1) error | MAPE | tau | rho |');
console.log('|---|---|---|---|---|---|');
for (const [h, row] of [...table.entries()].sort((a, b) => a[0] - b[0])) {
  for (const [method, m] of Object.entries(row)) console.log(`| ${h} h | ${method} | ${fmt(m.log2Error)} | ${fmt(m.mape)} | ${fmt(m.kendallTau)} | ${fmt(m.spearmanRho)} |`);
}

if (dirs.length > 0 && testIds.every((ids) => ids === testIds[0])) {
  console.log(`\nPaired sign-flip tests on the test cascades (DeepCas' squared log2 error per cascade, the mean over the ${dirs.length} run(s), against each baseline's; difference of the means, two-sided p, 10^4 resamples):\n`);
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [h, byMethod] of [...perCascade.entries()].sort((a, b) => a[0] - b[0])) {
    const ids = [...byMethod.deepcas.keys()].filter((id) => byMethod.deepcas.get(id)!.length === dirs.length);
    const deep = ids.map((id) => mean(byMethod.deepcas.get(id)!));
    for (const method of Object.keys(byMethod).filter((m) => m !== 'deepcas')) {
      const base = ids.map((id) => mean(byMethod[method].get(id)!));
      const t = pairedPermutationTest(deep, base, (a, b) => mean(a) - mean(b), { rng: Rng.fromSeed(`compare-baselines-${h}-${method}`) });
      console.log(`- ${h} h, deepcas against ${method} (${ids.length} cascades): ${mean(deep).toFixed(3)} against ${mean(base).toFixed(3)}, difference ${t.observed.toFixed(3)}, ${t.pValue < 0.001 ? 'p < 0.001' : `p = ${t.pValue.toFixed(3)}`}`);
    }
  }
} else {
  console.log('\n(no paired test: the runs have different test cascades)');
}
