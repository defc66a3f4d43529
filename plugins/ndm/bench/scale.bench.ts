// `npm run bench -- scale [--backend tensorflow] [--epochs 1] [--simulations 10] [--seed 1] [--eval-processes 1]`
//
// NDM at the size of the NDM paper's Twitter row (issue 22), on the simulation package's
// Twitter-sized synthetic set (`twitterSizedCascades` with its defaults: 12,600 users, 3,000
// cascades of mean length about 38 with a long tail, split as the NDM Twitter set by
// `twitterSizedDataset`), so that the benchmark needs no download. In a child process of its own
// (so that the peak RSS is NDM's alone), with the setting of configs/experiments/ndm-memetracker.yaml
// (d 64, h 8, win 3, batch 32, random batches, </s> weighted out):
// - one training epoch through the shared training loop (the first pays graph compilation: a run's
//   first epoch), and later ones with --epochs;
// - the shared simulation protocol (`evaluateMicroscopic`) with --simulations (default 10) per test
//   cascade; with --eval-processes N (N > 1) the model is saved and N child processes claim
//   work-balanced pieces of the test cascades one at a time (`workBalancedRanges` into
//   PIECES_PER_PROCESS x N pieces, `pieceOrder`, `claimPiece`: as `cascade run` splits its
//   evaluation over `execution.workers`), and the rows are merged in test order (the same F1s as
//   one process: cascade i draws from its own stream whatever the piece);
// - peak RSS (process.resourceUsage().maxRSS) after the data, after training, after the evaluation;
// and, from these, the projected time of a full run: 30 epochs at the last epoch's speed plus 1000
// simulations per test cascade at the measured rate (the simulations of a cascade are independent).
// Targets (issue 22): the full run under 1 hour on this 2-core machine, peak RSS under 3 GB.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, type TrainContext } from '@cascade-lab/core';
import { claimPiece, evaluateMicroscopic, pieceOrder, PIECES_PER_PROCESS, simulateMicroscopicRows, summarizeMicroscopic, workBalancedRanges } from '@cascade-lab/evaluation';
import type { DiffusionCounts } from '@cascade-lab/metrics';
import { cascadeLengthStats, twitterSizedCascades, twitterSizedDataset } from '@cascade-lab/simulation';
import { initBackend, type BackendName } from '@cascade-lab/tensor-ops';
import { fit } from '@cascade-lab/training';
// The plugin's own sources (the benchmark drives one epoch at a time).
import { architectureOf, defaultHyperparameters, initialWeights, installWasmBatchMatMul, NdmModel, NdmNetwork } from '../src/index.js';
import { loadNdmModel } from '../src/plugin.js';
import { NdmTrainer, trainableCascades } from '../src/trainer.js';
import { markdownTable } from './markdown-table.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

interface ScaleResult {
  backend: string;
  users: number;
  train: number;
  validation: number;
  test: number;
  meanLength: number;
  maxLength: number;
  generateSeconds: number;
  dataPeakRssMb: number;
  epochSeconds: number[];
  targetsPerEpoch: number;
  trainPeakRssMb: number;
  simulations: number;
  evaluationProcesses: number;
  /** Wall seconds of each evaluation process (one entry: the evaluation in the bench's process). */
  shardSeconds: number[];
  evaluationSeconds: number;
  macroF1: number;
  peakRssMb: number;
}

async function worker(backendName: BackendName): Promise<ScaleResult> {
  const backend = await initBackend(backendName);
  if (backend.name === 'wasm') installWasmBatchMatMul();
  const epochs = Number(arg('epochs', '1'));
  const simulations = Number(arg('simulations', '10'));
  const t0 = performance.now();
  const generated = twitterSizedCascades({ seed: Number(arg('seed', '1')) });
  const data = twitterSizedDataset(generated);
  const generateSeconds = (performance.now() - t0) / 1000;
  const stats = cascadeLengthStats(generated.cascades);
  const dataPeakRssMb = peakRssMb();
  process.stderr.write(`[scale] ${data.users.size - 2} users; ${data.train.length} train / ${data.validation.length} validation / ${data.test.length} test; mean length ${stats.mean.toFixed(1)}, longest ${stats.max} (${generateSeconds.toFixed(1)} s)\n`);

  const hp = defaultHyperparameters({ learnEnd: false, earlyStoppingMetric: 'none' });
  const arch = architectureOf(hp, data.users.size);
  const network = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(1).derive('init')));
  const trainer = new NdmTrainer(network, hp, 'manual');
  const train = trainableCascades(data.train);
  const context: Pick<TrainContext, 'signal' | 'progress'> = { signal: new AbortController().signal, progress: { start: () => ({ tick() {}, status() {}, done() {} }) } };
  const epochSeconds: number[] = [];
  let targetsPerEpoch = 0;
  for (let e = 1; e <= epochs; e++) {
    const r = await fit({ name: 'ndm', epochs: 1, rng: Rng.fromSeed(1), epochStream: () => `epoch:${e}`, plan: (info) => trainer.plan(train, info.rng), context });
    epochSeconds.push(r.seconds);
    targetsPerEpoch = r.weight;
    process.stderr.write(`[scale] epoch ${e}: ${r.seconds.toFixed(1)} s, ${(r.weight / r.seconds).toFixed(0)} targets/s, loss ${r.history[0].loss.toFixed(3)}, peak RSS ${peakRssMb().toFixed(0)} MB\n`);
  }
  trainer.dispose();
  const trainPeakRssMb = peakRssMb();
  const weights = network.readWeights();
  network.dispose();
  const model = new NdmModel(arch, hp, weights, {});
  const processes = Number(arg('eval-processes', '1'));
  let evaluation: { macroF1: number; seconds: number; cascades: number };
  let shardSeconds: number[];
  if (processes > 1) {
    const dir = mkdtempSync(join(tmpdir(), 'ndm-scale-model-'));
    await model.save(dir);
    model.dispose();
    const claimDir = mkdtempSync(join(tmpdir(), 'ndm-scale-pieces-'));
    const started = performance.now();
    const shards = await Promise.all(Array.from({ length: processes }, (_, k) => evaluationChild(k, processes, dir, simulations, claimDir)));
    const seconds = (performance.now() - started) / 1000;
    rmSync(dir, { recursive: true, force: true });
    rmSync(claimDir, { recursive: true, force: true });
    // Each process's pieces, merged in test order (the rows of one process's evaluation).
    const rows = shards
      .flatMap((r) => r.pieces)
      .sort((a, b) => a.start - b.start)
      .flatMap((p) => p.rows);
    evaluation = { macroF1: summarizeMicroscopic(rows).macroF1, seconds, cascades: rows.length };
    shardSeconds = shards.map((r) => r.seconds);
  } else {
    const e = await evaluateMicroscopic(model, data.test, { rng: Rng.fromSeed(1).derive('evaluation'), simulations });
    model.dispose();
    evaluation = { macroF1: e.macroF1, seconds: e.seconds, cascades: e.cascades.length };
    shardSeconds = [e.seconds];
  }
  process.stderr.write(`[scale] ${evaluation.cascades} test cascades x ${simulations} simulations: ${evaluation.seconds.toFixed(1)} s in ${processes} process(es) (${shardSeconds.map((x) => x.toFixed(1)).join(', ')} s), Macro-F1 ${evaluation.macroF1}, peak RSS ${peakRssMb().toFixed(0)} MB\n`);
  return {
    backend: backend.name,
    users: data.users.size - 2,
    train: data.train.length,
    validation: data.validation.length,
    test: data.test.length,
    meanLength: stats.mean,
    maxLength: stats.max,
    generateSeconds,
    dataPeakRssMb,
    epochSeconds,
    targetsPerEpoch,
    trainPeakRssMb,
    simulations,
    evaluationProcesses: processes,
    shardSeconds,
    evaluationSeconds: evaluation.seconds,
    macroF1: evaluation.macroF1,
    peakRssMb: peakRssMb(),
  };
}


interface ShardRows {
  /** The pieces this process claimed, each with its rows' counts. */
  pieces: { start: number; rows: { full: DiffusionCounts; early: DiffusionCounts }[] }[];
  seconds: number;
}

/**
 * Evaluation process k of n in a child (`--eval-shard`): the pieces it claimed in `claimDir` (as
 * `cascade run`'s local processes do: PIECES_PER_PROCESS x n work-balanced pieces, claimed one at a
 * time, largest cascade first) with their rows' counts, and its wall seconds.
 */
function evaluationChild(k: number, n: number, modelDir: string, simulations: number, claimDir: string): Promise<ShardRows> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--eval-shard', `${k}/${n}`, '--claim-dir', claimDir, '--model', modelDir, '--simulations', String(simulations), '--seed', arg('seed', '1')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', fail);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('SHARD '));
      if (code !== 0 || !line) fail(new Error(`evaluation shard ${k}/${n} failed (exit ${code})`));
      else done({ pieces: JSON.parse(line.slice(6)), seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** The body of an evaluation child: the same data and generator as the bench's own evaluation. */
async function evaluationShard(spec: string): Promise<void> {
  const [k, n] = spec.split('/').map(Number);
  await initBackend('tensorflow');
  const data = twitterSizedDataset(twitterSizedCascades({ seed: Number(arg('seed', '1')) }));
  const model = await loadNdmModel(arg('model', ''));
  const ranges = workBalancedRanges(data.test, Math.min(data.test.length, n * PIECES_PER_PROCESS));
  const claimDir = arg('claim-dir', '');
  const pieces: ShardRows['pieces'] = [];
  for (const p of pieceOrder(data.test, ranges)) {
    if (!claimPiece(claimDir, p)) continue;
    const { start, end } = ranges[p];
    const rows = await simulateMicroscopicRows(model, data.test, { rng: Rng.fromSeed(1).derive('evaluation'), simulations: Number(arg('simulations', '10')), start, end });
    pieces.push({ start, rows: rows.cascades.map((c) => ({ full: c.full, early: c.early })) });
  }
  model.dispose();
  process.stderr.write(`[scale] process ${k}/${n}: ${pieces.length} of ${ranges.length} pieces (test cascades from ${pieces.map((p) => p.start).join(', ')}), peak RSS ${peakRssMb().toFixed(0)} MB\n`);
  process.stdout.write(`SHARD ${JSON.stringify(pieces)}\n`);
}

const workerBackend = arg('worker', '');
const evalShard = arg('eval-shard', '');
if (evalShard) {
  await evaluationShard(evalShard);
} else if (workerBackend) {
  process.stdout.write(`RESULT ${JSON.stringify(await worker(workerBackend as BackendName))}\n`);
} else {
  const backend = arg('backend', 'tensorflow');
  const loadBefore = loadavg()[0];
  const passThrough = process.argv.slice(2).filter((_, i, all) => all[i] !== '--backend' && all[i - 1] !== '--backend');
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', backend, ...passThrough], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) {
    console.log(`${backend}: not measured (exit ${r.status}${r.signal ? `, ${r.signal}` : ''})`);
    process.exit(1);
  }
  const s = JSON.parse(line.slice(7)) as ScaleResult;
  const lastEpoch = s.epochSeconds[s.epochSeconds.length - 1];
  const perThousand = (s.evaluationSeconds * 1000) / s.simulations;
  const fullRun = 30 * lastEpoch + perThousand;
  const gb = (mb: number) => `${(mb / 1024).toFixed(2)} GB`;
  console.log(
    `\nNDM on the Twitter-sized synthetic set (${s.users} users; ${s.train} train / ${s.validation} validation / ${s.test} test cascades; mean length ${s.meanLength.toFixed(1)}, longest ${s.maxLength}), ` +
      `${s.backend} backend, d 64, h 8, win 3, batch 32, random batches, </s> weighted out; 1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (${cpus().length} cores)\n`,
  );
  console.log(
    markdownTable(
      ['measure', 'measured', 'issue 22: today (its session)', 'issue 22: target'],
      [
        [`training epoch${s.epochSeconds.length > 1 ? ` (${s.epochSeconds.map((x) => x.toFixed(1)).join(', ')})` : ' (the first: graphs compiled)'}`, `${lastEpoch.toFixed(1)} s (${(s.targetsPerEpoch / lastEpoch).toFixed(0)} targets/s)`, '97 s', ''],
        [
          `${s.simulations} simulations per test cascade${s.evaluationProcesses > 1 ? ` (${s.evaluationProcesses} processes: ${s.shardSeconds.map((x) => x.toFixed(1)).join(', ')} s)` : ''}`,
          `${s.evaluationSeconds.toFixed(1)} s`,
          '38 s (10 simulations)',
          '',
        ],
        [
          `measured: these ${s.epochSeconds.length} epoch(s) + this evaluation`,
          `${((s.epochSeconds.reduce((a, x) => a + x, 0) + s.evaluationSeconds) / 60).toFixed(1)} min (training ${(s.epochSeconds.reduce((a, x) => a + x, 0) / 60).toFixed(1)} min)`,
          '',
          s.epochSeconds.length >= 30 && s.simulations >= 1000 ? 'under 60 min' : '',
        ],
        ['projected full run (30 epochs + 1000 simulations)', `${(fullRun / 60).toFixed(0)} min (${(perThousand / 60).toFixed(0)} min of it evaluation)`, 'about 49 + 63 min', 'under 60 min'],
        ['peak RSS: data', gb(s.dataPeakRssMb), '', ''],
        ['peak RSS: after training', gb(s.trainPeakRssMb), '', ''],
        ['peak RSS: whole process', gb(s.peakRssMb), '6.8 GB', 'under 3 GB'],
        ['Macro-F1 of the evaluation (the same in one process or N)', s.macroF1.toFixed(4), '', ''],
      ],
    ),
  );
}
