/**
 * Reproduces the NDM paper's Table 2/3 numbers for this plugin: for each seed, load the dataset
 * (split with the seed), train, evaluate with the shared protocol (`evaluateMicroscopic`, 1000
 * simulations) and append one JSON line per seed to the output file.
 *
 *   node --import tsx plugins/ndm/scripts/reproduce.ts --dataset memetracker --seeds 1,2,3 \
 *     --backend tensorflow --out runs/ndm-memetracker.jsonl [--set learnEnd=false ...] [--save DIR]
 *   (christianity, the dataset with a social graph: --dataset christianity --format infvae)
 *
 * The experiment runner (`cascade run configs/experiments/ndm-*.yaml`) does the same with tracking;
 * this script exists so the plugin's README numbers can be re-measured without a tracker.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConsoleLogger, executionSettings, Rng, type TrainContext } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { evaluateMicroscopic } from '@cascade-lab/evaluation';
import { initBackend, type BackendPreference } from '@cascade-lab/tensor-ops';
import { ndmHyperparameters, ndmPlugin } from '../src/index.js';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'memetracker' },
    format: { type: 'string', default: 'ndm' },
    seeds: { type: 'string', default: '1,2,3' },
    backend: { type: 'string', default: 'auto' },
    simulations: { type: 'string', default: '1000' },
    out: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    'data-dir': { type: 'string' },
    save: { type: 'string' },
  },
});

const root = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
const dataDir = values['data-dir'] ?? process.env.CASCADE_DATA_DIR ?? resolve(root, '../shared/data');
const overrides: Record<string, unknown> = {};
for (const kv of values.set ?? []) {
  const [k, v] = kv.split('=');
  overrides[k] = v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v);
}
const hp = ndmHyperparameters.parse(overrides);
const logger = new ConsoleLogger('info');
const backend = await initBackend(values.backend as BackendPreference);
logger.info(`backend ${backend.name} (${backend.device}); hyperparameters ${JSON.stringify(overrides)}`);
const out = values.out ? resolve(values.out) : undefined;
if (out) mkdirSync(dirname(out), { recursive: true });

for (const seed of values.seeds!.split(',').map(Number)) {
  const data = await loadMicroscopicDataset({ path: resolve(dataDir, 'micro', values.dataset!), format: values.format as 'ndm' }, { seed });
  const rng = Rng.fromSeed(seed);
  const epochs: Record<string, number>[] = [];
  const context: TrainContext = {
    rng: rng.derive('train'),
    backend,
    execution: executionSettings(),
    logger,
    progress: { start: () => ({ tick() {}, status() {}, done() {} }) },
    metrics: {
      logMetric(key, value, step) {
        if (step === undefined) return;
        (epochs[step - 1] ??= { epoch: step })[key] = value;
      },
    },
    signal: new AbortController().signal,
    workDir: '/tmp',
  };
  const t0 = performance.now();
  const model = await ndmPlugin.train(data, hp, context);
  const trainSeconds = (performance.now() - t0) / 1000;
  const evaluation = await evaluateMicroscopic(model, data.test, { rng: rng.derive('evaluation'), simulations: Number(values.simulations) });
  const row = {
    dataset: values.dataset,
    seed,
    backend: backend.name,
    overrides,
    macroF1: evaluation.macroF1,
    microF1: evaluation.microF1,
    earlyMacroF1: evaluation.earlyMacroF1,
    earlyMicroF1: evaluation.earlyMicroF1,
    stoppedEarlyMean: evaluation.cascades.reduce((s, c) => s + c.stoppedEarly, 0) / Math.max(1, evaluation.cascades.length),
    trainSeconds,
    evaluationSeconds: evaluation.seconds,
    summary: model.summaryMetrics?.(),
    epochs,
  };
  logger.info(
    `${values.dataset} seed ${seed}: macro-F1 ${row.macroF1.toFixed(4)} micro-F1 ${row.microF1.toFixed(4)} early ${row.earlyMacroF1.toFixed(4)} / ${row.earlyMicroF1.toFixed(4)}; train ${trainSeconds.toFixed(0)} s, evaluation ${evaluation.seconds.toFixed(0)} s`,
  );
  if (out) appendFileSync(out, JSON.stringify(row) + '\n');
  // --save DIR: keep each seed's model (DIR/seed-<n>) for diagnostics (scripts/released.ts --model).
  if (values.save) {
    mkdirSync(resolve(values.save, `seed-${seed}`), { recursive: true });
    await model.save(resolve(values.save, `seed-${seed}`));
  }
  model.dispose();
}
