/**
 * The GammaCas evidence runs: trains GammaCas variants on the datasets of the experiment configs,
 * several seeds each, predicts the test cascades and scores them with @cascade-lab/metrics
 * (`sizePredictionMetrics`: MAPE as a fraction, Kendall tau-b, Spearman rho per horizon).
 *
 *   node --import tsx plugins/gammacas/scripts/evidence.ts <config.yaml> [--variants full,no-news,counts-only]
 *        [--seeds 1,2,3] [--set key=value ...] [--backend auto|tensorflow|wasm|cpu] [--out results.jsonl] [--log debug]
 *
 * The dataset section and hyperparameters come from the config file (as `cascade run` reads them);
 * `--set` overrides a hyperparameter. Seed s seeds both the split and the training, as
 * `cascade run --set seed=s` does. Each finished run appends one JSON line to --out; at the end a
 * markdown table of means and standard deviations over the seeds is printed.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConsoleLogger, executionSettings, Rng, type TrainContext } from '@cascade-lab/core';
import { loadMacroscopicDataset } from '@cascade-lab/data';
import { pearsonR, sizePredictionMetrics } from '@cascade-lab/metrics';
import { expectedSize, type ContentCascadeTruth } from '@cascade-lab/simulation';
import { initBackend, type BackendPreference } from '@cascade-lab/tensor-ops';
import YAML from 'yaml';
import { gammaCasHyperparameters, gammaCasPlugin } from '../src/index.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function options(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === `--${name}` && process.argv[i + 1] !== undefined) out.push(process.argv[i + 1]);
  });
  return out;
}

const configFile = resolve(process.argv[2] ?? '');
const config = YAML.parse(readFileSync(configFile, 'utf8'));
const seeds = (option('seeds') ?? '1,2,3').split(',').map(Number);
// `--variants none`: only the reference rows.
const variants = (option('variants') ?? String(config.model.hyperparameters?.variant ?? 'full')).split(',').filter((v) => v !== 'none');
const overrides: Record<string, unknown> = {};
for (const s of options('set')) {
  const [k, v] = s.split('=');
  overrides[k] = YAML.parse(v);
}
const out = option('out');
const logger = new ConsoleLogger((option('log') ?? 'info') as 'info');
const backend = await initBackend((option('backend') ?? config.backend ?? 'auto') as BackendPreference, { logger });
logger.info(`backend ${backend.name} (${backend.device})`);

interface Row {
  config: string;
  variant: string;
  seed: number;
  trainSeconds: number;
  train: number;
  test: number;
  horizons: { hours: number; evaluated: number; mape: number; kendallTau: number; spearmanRho: number }[];
  /**
   * Generated data only: Pearson correlations over the test cascades of log mu (the content factor)
   * with the generator's story score, text score and novelty, and of the fitted log A with the true
   * log A. Whether the content path learned the content, not just whether it lowered the error.
   */
  correlations?: Record<string, number>;
}

function scoreHorizons(dataset: { horizonsHours: number[]; test: { targets: Float64Array }[] }, sizes: ArrayLike<number>[]): Row['horizons'] {
  return dataset.horizonsHours.map((hours, h) => {
    const m = sizePredictionMetrics(
      dataset.test.map((c) => c.targets[h]),
      sizes.map((s) => s[h]),
    );
    return { hours, evaluated: m.evaluated, mape: m.mape, kendallTau: m.kendallTau, spearmanRho: m.spearmanRho };
  });
}

const rows: Row[] = [];
for (const seed of seeds) {
  const dataset = await loadMacroscopicDataset(config.dataset, { seed, baseDir: dirname(configFile), logger });
  // Reference row: no growth after the window (the size at 6 h predicted for every horizon).
  const observed = dataset.test.map((c) => dataset.horizonsHours.map(() => c.observedSize));
  rows.push({ config: config.name, variant: 'observed size (no model)', seed, trainSeconds: 0, train: dataset.train.length, test: dataset.test.length, horizons: scoreHorizons(dataset, observed) });
  // Reference row for generated data (make-synthetic.ts writes truth.json): the expected size under
  // each cascade's true A, gamma, lambda, i.e. the best any predictor can do on average.
  const truthFile = config.dataset.path ? join(resolve(dirname(configFile), config.dataset.path), 'truth.json') : undefined;
  let truth: Map<string, ContentCascadeTruth> | undefined;
  if (truthFile && existsSync(truthFile)) {
    truth = new Map((JSON.parse(readFileSync(truthFile, 'utf8')) as ContentCascadeTruth[]).map((t) => [t.id, t]));
    const known = truth;
    const expected = dataset.test.map((c) => dataset.horizonsHours.map((h) => expectedSize(known.get(c.id)!, h)));
    rows.push({ config: config.name, variant: 'true growth rate (generator)', seed, trainSeconds: 0, train: dataset.train.length, test: dataset.test.length, horizons: scoreHorizons(dataset, expected) });
  }
  for (const variant of variants) {
    const hp = gammaCasHyperparameters.parse({ ...config.model.hyperparameters, ...overrides, variant });
    const ctx: TrainContext = {
      rng: Rng.fromSeed(seed),
      backend,
      execution: executionSettings(),
      progress: { start: () => ({ tick() {}, status() {}, done() {} }) },
      logger,
      metrics: { logMetric() {} },
      signal: new AbortController().signal,
      workDir: mkdtempSync(join(tmpdir(), 'gammacas-evidence-')),
    };
    const t0 = performance.now();
    const model = await gammaCasPlugin.train(dataset, hp, ctx);
    const trainSeconds = (performance.now() - t0) / 1000;
    const predictions = await model.predict(dataset.test, dataset.horizonsHours);
    model.dispose();
    const horizons = scoreHorizons(dataset, predictions.sizes);
    const row: Row = { config: config.name, variant, seed, trainSeconds, train: dataset.train.length, test: dataset.test.length, horizons };
    if (truth && predictions.details) {
      const t = dataset.test.map((c) => truth.get(c.id)!);
      const d = predictions.details;
      const correlations: Record<string, number> = { fittedA_trueA: pearsonR(d.map((x) => Math.log(Number(x.A))), t.map((x) => Math.log(x.A))) };
      if (d.every((x) => typeof x.mu === 'number' && x.mu > 0)) {
        const logMu = d.map((x) => Math.log(Number(x.mu)));
        correlations.mu_story = pearsonR(logMu, t.map((x) => x.storyScore));
        correlations.mu_text = pearsonR(logMu, t.map((x) => x.textScore));
        correlations.mu_novelty = pearsonR(logMu, t.map((x) => x.novelty));
      }
      row.correlations = correlations;
      logger.info(`${variant} seed ${seed} correlations: ${Object.entries(correlations).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
    }
    rows.push(row);
    if (out) appendFileSync(out, JSON.stringify(row) + '\n');
    const h24 = horizons.find((h) => h.hours === 24) ?? horizons[0];
    logger.info(`${config.name} ${variant} seed ${seed}: ${h24.hours} h MAPE ${h24.mape.toFixed(4)} tau ${h24.kendallTau.toFixed(4)} (${trainSeconds.toFixed(0)} s)`);
  }
}

function meanSd(values: number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return 'n/a';
  const m = finite.reduce((a, b) => a + b, 0) / finite.length;
  const sd = Math.sqrt(finite.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, finite.length - 1));
  return `${m.toFixed(3)} ± ${sd.toFixed(3)}`;
}

const horizonsHours = rows[0].horizons.map((h) => h.hours);
console.log(`\n${config.name}: mean ± sd over seeds ${seeds.join(', ')} (train ${rows[0].train}, test ${rows[0].test} cascades)\n`);
for (const metric of ['mape', 'kendallTau', 'spearmanRho'] as const) {
  console.log(`| ${metric} | ${horizonsHours.map((h) => `${h} h`).join(' | ')} |`);
  console.log(`|---|${horizonsHours.map(() => '---').join('|')}|`);
  for (const variant of ['observed size (no model)', 'true growth rate (generator)', ...variants]) {
    if (!rows.some((r) => r.variant === variant)) continue;
    const mine = rows.filter((r) => r.variant === variant);
    console.log(`| ${variant} | ${horizonsHours.map((_, h) => meanSd(mine.map((r) => r.horizons[h][metric]))).join(' | ')} |`);
  }
  console.log('');
}
