/**
 * Trains Embedded IC on a dataset's training split and scores it on the VALIDATION split with the
 * shared protocol (never the test split): the check used to choose the defaults.
 *
 *   npx tsc -b tsconfig.build.json
 *   CASCADE_DATA_DIR=../shared/data node --import tsx plugins/embedded-ic/scripts/validation-check.ts memetracker '{"dimension":50}' [simulations] [orders]
 *
 * `orders` (e.g. `random,probability,time`) scores the one trained model with each within-step
 * listing of the IC engine in turn (default: the hyperparameters' `withinStepOrder`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MemoryLogger, quietProgress, Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { evaluateMicroscopic, type CascadeEvaluation } from '@cascade-lab/evaluation';
import { microF1 } from '@cascade-lab/metrics';
import { EmbeddedIcModel, embeddedIcHyperparameters, embeddedIcPlugin } from '@cascade-lab/plugin-embedded-ic';
import type { WithinStepOrder } from '@cascade-lab/simulation';

const [name = 'memetracker', hpJson = '{}', sims = '100', ordersArg] = process.argv.slice(2);
// The NDM-format folders (Memetracker, Irvine) by path; the others (christianity) by registry name.
const folder = path.join(process.env.CASCADE_DATA_DIR ?? '../shared/data', 'micro', name);
const dataset = existsSync(path.join(folder, 'cascade.txt')) ? await loadMicroscopicDataset({ path: folder, format: 'ndm' }) : await loadMicroscopicDataset({ name });
const hp = embeddedIcHyperparameters.parse(JSON.parse(hpJson));
const t0 = performance.now();
const model = await embeddedIcPlugin.train(dataset, hp, {
  rng: Rng.fromSeed(Number(process.env.TRAIN_SEED ?? 1)),
  backend: { name: 'cpu', package: 'none', device: 'cpu' },
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics: { logMetric: (k, v, s) => { if (s === undefined || k.startsWith("validation.")) console.log(`${k}${s === undefined ? '' : `@${s}`} ${v.toFixed(4)}`); } },
  signal: new AbortController().signal,
  workDir: '/tmp',
});
const trainSeconds = (performance.now() - t0) / 1000;
const f = (x: number) => x.toFixed(6);
const orders = (ordersArg ?? hp.withinStepOrder).split(',') as WithinStepOrder[];
let first: CascadeEvaluation[] | undefined;
for (const order of orders) {
  const scored = new EmbeddedIcModel((model as EmbeddedIcModel).parameters, { minEdgeProbability: hp.minEdgeProbability, workers: 0, withinStepOrder: order });
  const r = await evaluateMicroscopic(scored, dataset.validation, { rng: Rng.fromSeed(7), simulations: Number(sims) });
  // Mean users a simulation adds (capped at |G_c|) against the mean |G_c|: how far the simulated cascades die out.
  const n = r.cascades.length;
  const added = r.cascades.reduce((a, c) => a + c.full.predictedMass, 0) / n;
  const truth = r.cascades.reduce((a, c) => a + c.truthSize, 0) / n;
  const stopped = r.cascades.reduce((a, c) => a + c.stoppedEarly, 0) / n;
  console.log(`${name} ${hpJson} order=${order}: validation Macro ${f(r.macroF1)} Micro ${f(r.microF1)} early ${f(r.earlyMacroF1)} / ${f(r.earlyMicroF1)}; micro precision ${f(r.micro.precision)} recall ${f(r.micro.recall)}; users added per simulation ${added.toFixed(2)} of ${truth.toFixed(2)}; simulations stopped before the budget ${stopped.toFixed(3)}; train ${trainSeconds.toFixed(0)} s`, scored.summaryMetrics());
  scored.dispose();
  if (!first) first = r.cascades;
  else console.log(`  against order=${orders[0]}: ${pairedDifference(first, r.cascades)}`);
}
if (process.env.SEED_RANKING) console.log(`  seed's top-|G_c| receivers by p(seed -> v), no simulation: ${await seedRanking(model as EmbeddedIcModel)}`);
model.dispose();

/**
 * How much of a difference between two listings of the same model is the noise of the validation
 * cascades: the Macro-F1 difference is a mean of per-cascade differences (mean +- its standard
 * error); the Micro-F1 difference gets a paired bootstrap over cascades (2000 resamples, seeded),
 * reported as its standard deviation and the share of resamples where it is not positive.
 */
function pairedDifference(a: CascadeEvaluation[], b: CascadeEvaluation[]): string {
  const n = a.length;
  const d = a.map((c, i) => b[i].full.f1 - c.full.f1);
  const mean = d.reduce((x, y) => x + y, 0) / n;
  const sd = Math.sqrt(d.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1));
  const rng = Rng.fromSeed(11);
  const diffs: number[] = [];
  for (let r = 0; r < 2000; r++) {
    const pick = Array.from({ length: n }, () => rng.int(n));
    diffs.push(microF1(pick.map((i) => b[i].full)) - microF1(pick.map((i) => a[i].full)));
  }
  const dm = diffs.reduce((x, y) => x + y, 0) / diffs.length;
  const dsd = Math.sqrt(diffs.reduce((x, y) => x + (y - dm) ** 2, 0) / (diffs.length - 1));
  const notPositive = diffs.filter((x) => x <= 0).length / diffs.length;
  const better = d.filter((x) => x > 0).length;
  const worse = d.filter((x) => x < 0).length;
  return `Macro-F1 difference ${mean.toFixed(4)} +- ${(sd / Math.sqrt(n)).toFixed(4)} (s.e., ${n} cascades; ${better} better, ${worse} worse); Micro-F1 difference ${(microF1(b.map((c) => c.full)) - microF1(a.map((c) => c.full))).toFixed(4)}, bootstrap sd ${dsd.toFixed(4)}, share <= 0 ${notPositive.toFixed(3)}`;
}

/**
 * A diagnostic, not a model: predict for each validation cascade the |G_c| users with the highest
 * p(u_0 -> v) (each with probability 1), i.e. the seed's likeliest receivers, no simulation. How
 * far a listing that keeps the likeliest receivers first is from a plain ranking.
 */
async function seedRanking(m: EmbeddedIcModel): Promise<string> {
  let hits = 0;
  let truthTotal = 0;
  let macro = 0;
  let n = 0;
  for (const c of dataset.validation) {
    const users = c.events.map((e) => e.user);
    const seed = users[0];
    const truth = new Set(users.slice(1).filter((u) => u !== seed));
    if (truth.size === 0) continue;
    const [row] = await m.nextUserScores([seed, seed]);
    const order = Array.from(row.keys()).filter((v) => row[v] > -Infinity).sort((a, b) => row[b] - row[a] || a - b);
    const h = order.slice(0, truth.size).filter((v) => truth.has(v)).length;
    hits += h;
    truthTotal += truth.size;
    macro += h / truth.size; // precision = recall = F1 when |prediction| = |G_c|
    n++;
  }
  return `Macro-F1 ${(macro / n).toFixed(6)} Micro-F1 ${(hits / truthTotal).toFixed(6)} (${n} cascades)`;
}
