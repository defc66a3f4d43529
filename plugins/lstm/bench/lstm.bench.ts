// `npm run bench -- lstm [--backends tensorflow,wasm] [--batches 60] [--passes 3] [--rounds 1] [--simulations 1000] [--python PATH] [--threads <cores>] [--length-bucketing]`
// (backend variants: `tensorflow:no-row-groups` runs the chunks as one group of rows x length, as before
// row groups; `tensorflow:one-thread` sets TF_NUM_INTRAOP_THREADS=1 and TF_NUM_INTEROP_THREADS=1, which
// TensorFlow reads at load: by default it uses a pool of one thread per core for each; both together:
// `tensorflow:no-row-groups:one-thread`; `tensorflow:loss-rows-<k>` pads the trained positions to a grid of k sizes per
// doubling instead of the default)
//
// The LSTM baseline on Memetracker (the lstm-memetracker.yaml sizes: embedding 64, hidden 64, batch
// 32), per backend, each in its own process:
// - training throughput: targets per second over a fixed set of batches (the first --batches
//   batches of seed 1's first epoch; with --length-bucketing, the batches of the lengthBucketing
//   knob), two untimed warm-up passes (the first traces and compiles
//   a graph per batch shape, the second is each graph's first run, which TensorFlow spends
//   optimising the graph), then --passes timed passes (training goes on through them), reported by
//   their median;
// - the shared evaluation (`evaluateMicroscopic`: every test cascade, 1000 simulations, full and
//   early stage) of the model after those passes, wall time (tensorflow only unless --eval-all);
// and in the same run a PyTorch peer (tools/bench/peers/lstm_torch.py: nn.LSTM of the same sizes,
// the same masking and targets, Adam) on the very same batches, timed the same way, in two forms:
// the softmax over every padded position (the straightforward port), and over the trained
// positions only (the computation the lstm plugin does). The peer uses --threads threads (default:
// one per core, PyTorch's own default; the plugin's TensorFlow uses every core as well; on a busy
// machine its spinning OpenMP threads wait for each other, there pass --threads 1).
// --rounds R repeats the whole comparison R times, each backend's process then the peer's, so that
// both sides sample the machine's drift alike (on these shared machines a single 0.7 s pass moves by
// 10-20% from run to run): each round prints its ratio, then the median over the rounds (the
// evaluation runs in the first round only).
// Target (issue 16): the tensorflow backend at least matches the PyTorch peer.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { loadMicroscopicDataset, planBatches } from '@cascade-lab/data';
import { evaluateMicroscopic } from '@cascade-lab/evaluation';
import { graphFunctionsEnabled, initBackend, type BackendName } from '@cascade-lab/tensor-ops';
import { lstmHyperparameters, LstmModel, LstmNetwork } from '../src/index.js';
import { LstmTrainer, userLists } from '../src/trainer.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const dataDir = process.env.CASCADE_DATA_DIR ?? resolve(root, '../shared/data');
const hp = lstmHyperparameters.parse({ embeddingSize: 64, hiddenSize: 64, batchSize: 32, lengthBucketing: process.argv.includes('--length-bucketing') });

async function setup() {
  const data = await loadMicroscopicDataset({ path: resolve(dataDir, 'micro/memetracker'), format: 'ndm' }, { seed: 1 });
  const lists = userLists(data.train.filter((c) => c.events.length >= 2));
  const plan = planBatches(Int32Array.from(lists, (c) => c.length), { batchSize: hp.batchSize, bucketing: hp.lengthBucketing ? 'sorted' : 'none', rng: Rng.fromSeed(1).derive('batches') });
  const batches = plan.slice(0, Number(arg('batches', '60'))).map((rows) => rows.map((i) => lists[i]));
  return { data, batches };
}

/** Timed passes per process (`--passes`). */
const PASSES = Math.max(1, Number(arg('passes', '3')));

interface Pass {
  targets: number;
  seconds: number;
  cpuSeconds: number;
}

/** The pass of median wall time (the lower middle one of an even count). */
function medianPass<T extends { seconds: number }>(passes: readonly T[]): T {
  const sorted = passes.slice().sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function median(values: readonly number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function worker(spec: string): Promise<Record<string, unknown>> {
  const [backendName, ...variants] = spec.split(':') as [BackendName, ...string[]];
  const backend = await initBackend(backendName);
  const { data, batches } = await setup();
  const network = new LstmNetwork({ numUsers: data.users.size, embeddingSize: hp.embeddingSize, hiddenSize: hp.hiddenSize }, Rng.fromSeed(1));
  const lossRows = variants.find((v) => v.startsWith('loss-rows-'));
  const trainer = new LstmTrainer(network, hp, { rowGroups: !variants.includes('no-row-groups'), lossRowSteps: lossRows ? Number(lossRows.slice('loss-rows-'.length)) : undefined });
  const pass = (): Pass => {
    let targets = 0;
    const start = performance.now();
    const cpu = process.cpuUsage();
    for (const b of batches) targets += trainer.step(b).targets;
    const used = process.cpuUsage(cpu);
    return { targets, seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  };
  // Two untimed passes: the first traces each new batch shape (eager) and compiles its graph, the
  // second runs each graph for the first time (TensorFlow optimises a graph and builds its
  // executor at its first run: about as long as the trace for these graphs of thousands of ops).
  const trace = pass();
  const warm = pass();
  const timedPasses = Array.from({ length: PASSES }, () => pass());
  const timed = medianPass(timedPasses);
  const stats = trainer.lossAndGradients.graph.stats;
  trainer.dispose();
  let evaluationSeconds = Number.NaN;
  let macroF1 = Number.NaN;
  const simulations = Number(arg('simulations', '1000'));
  if (!process.argv.includes('--no-eval') && (backend.name === 'tensorflow' || process.argv.includes('--eval-all'))) {
    const model = new LstmModel(network.architecture, hp, network.readWeights());
    const evaluation = await evaluateMicroscopic(model, data.test, { rng: Rng.fromSeed(1).derive('evaluation'), simulations });
    evaluationSeconds = evaluation.seconds;
    macroF1 = evaluation.macroF1;
    model.dispose();
  }
  network.dispose();
  return {
    backend: backend.name + variants.map((v) => ` (${v})`).join(''),
    cpuSeconds: timed.cpuSeconds,
    compiled: graphFunctionsEnabled(),
    traceSeconds: trace.seconds,
    warmSeconds: warm.seconds,
    compileSeconds: stats.compileSeconds,
    seconds: timed.seconds,
    targets: timed.targets,
    targetsPerSecond: timed.targets / timed.seconds,
    passSeconds: timedPasses.map((p) => p.seconds),
    graphs: stats.compiled,
    evaluationSeconds,
    evaluatedCascades: data.test.length,
    simulations,
    macroF1,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

async function main(): Promise<void> {
  const w = process.argv.indexOf('--worker');
  if (w >= 0) {
    const r = await worker(process.argv[w + 1]);
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
    return;
  }
  console.log(`lstm benchmark: Memetracker, embedding ${hp.embeddingSize}, hidden ${hp.hiddenSize}, batch ${hp.batchSize}${hp.lengthBucketing ? ', length bucketing' : ''}; ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`);
  const passThrough = process.argv.slice(2);
  const rounds = Math.max(1, Number(arg('rounds', '1')));
  const { data, batches } = await setup();
  const dir = mkdtempSync(join(tmpdir(), 'lstm-bench-'));
  const spec = join(dir, 'batches.json');
  const threads = Number(arg('threads', String(cpus().length)));
  writeFileSync(spec, JSON.stringify({ numUsers: data.users.size, embeddingSize: hp.embeddingSize, hiddenSize: hp.hiddenSize, learnEnd: hp.learnEnd, threads, passes: PASSES, batches }));
  const python = arg('python', process.env.CASCADE_TORCH_PYTHON ?? 'python3');
  type Peer = { torch: string; threads: number; variants: { rows: string; passes: Pass[] }[] };
  const allRows: Record<string, unknown>[][] = [];
  const peersByRound: (Peer | null)[] = [];
  for (let round = 0; round < rounds; round++) {
    const rows: Record<string, unknown>[] = [];
    for (const b of arg('backends', 'tensorflow,wasm').split(',')) {
      const env = b.split(':').includes('one-thread') ? { ...process.env, TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' } : process.env;
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', b, ...passThrough, ...(round > 0 ? ['--no-eval'] : [])], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (r.status !== 0 || !line) console.log(`${b}: not measured (exit ${r.status})`);
      else rows.push(JSON.parse(line.slice(7)));
    }
    // The PyTorch peer on the same batches.
    const p = spawnSync(python, [resolve(root, 'tools/bench/peers/lstm_torch.py'), spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const pl = p.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
    allRows.push(rows);
    peersByRound.push(pl ? (JSON.parse(pl.slice(7)) as Peer) : null);
    if (rounds > 1) console.log(`round ${round + 1} of ${rounds} done, load ${loadavg()[0].toFixed(2)}`);
  }
  const rows = allRows[0];
  const torch = peersByRound[0];
  console.log(`\n${batches.length} batches, ${rows[0]?.targets ?? '?'} targets a pass (two warm-up passes, then ${PASSES} timed; the median pass is shown${rounds > 1 ? ', of round 1' : ''})\n`);
  console.log('| implementation | targets/s | timed pass (s) | its CPU time (s) | timed passes (s) | warm-up: tracing pass / first-run pass (s) | compiled graphs | evaluation (s) | peak RSS (MB) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  const list = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  for (const r of rows) {
    const n = (k: string, d = 1) => (typeof r[k] === 'number' && Number.isFinite(r[k] as number) ? (r[k] as number).toFixed(d) : '-');
    console.log(`| ${r.backend}${r.compiled ? ' (compiled)' : ''} | ${n('targetsPerSecond', 0)} | ${n('seconds', 2)} | ${n('cpuSeconds', 2)} | ${list(r.passSeconds as number[])} | ${n('traceSeconds')} / ${n('warmSeconds')} | ${r.graphs} | ${n('evaluationSeconds')} (${r.evaluatedCascades} x ${r.simulations}) | ${n('peakRssMb', 0)} |`);
  }
  for (const v of torch?.variants ?? []) {
    const m = medianPass(v.passes);
    console.log(`| PyTorch ${torch!.torch} nn.LSTM (${torch!.threads} thread${torch!.threads === 1 ? '' : 's'}), softmax over ${v.rows} positions | ${(m.targets / m.seconds).toFixed(0)} | ${m.seconds.toFixed(2)} | ${m.cpuSeconds.toFixed(2)} | ${list(v.passes.map((x) => x.seconds))} | - | - | - | - |`);
  }
  if (!torch) console.log(`| PyTorch | not measured (${python} could not run the peer: install torch, or pass --python) | | | | | | | |`);
  // Ratios per round (median passes), then their median over the rounds.
  const ratios = new Map<string, { wall: number[]; cpu: number[] }>();
  allRows.forEach((roundRows, round) => {
    const peer = peersByRound[round];
    for (const r of roundRows.filter((x) => String(x.backend).startsWith('tensorflow'))) {
      for (const v of peer?.variants ?? []) {
        const m = medianPass(v.passes);
        const key = `${r.backend} / PyTorch (${v.rows} positions)`;
        const entry = ratios.get(key) ?? { wall: [], cpu: [] };
        entry.wall.push((r.targetsPerSecond as number) / (m.targets / m.seconds));
        entry.cpu.push(m.cpuSeconds / (r.cpuSeconds as number));
        ratios.set(key, entry);
      }
    }
  });
  for (const [key, { wall, cpu }] of ratios) {
    const perRound = rounds > 1 ? ` (rounds: ${list(wall)}; by CPU time ${list(cpu)})` : '';
    console.log(`${key} throughput: ${median(wall).toFixed(2)} (target >= 1); by CPU time ${median(cpu).toFixed(2)}${perRound}`);
  }
  console.log(`load after: ${loadavg()[0].toFixed(2)}`);
}

await main();
