// `npm run bench -- queue`: the job queue (issue 20) against local sweeps, with the built CLI and a
// real redis-server on a loopback port. A 12-trial popularity sweep on irvine (BENCH_TRIALS,
// BENCH_SIMULATIONS) run locally with 1, 2 and 4 trial processes and through the queue with 1, 2
// and 4 `cascade worker` processes; then, from the queue's own job timestamps, the per-job overhead:
// enqueue to start (waiting for a worker included) and the trial's time on the worker against a
// local trial. Then evaluation sharding: a saved popularity model evaluated with the 1000-simulation
// protocol (BENCH_SHARD_SIMULATIONS; dataset BENCH_SHARD_DATASET, irvine) locally and by `cascade evaluate --queue --shards N` (N = 1, 2, 4)
// on 2 worker processes: wall time, the evaluation's time, the longest shard's protocol time, and
// whether the metrics are identical. BENCH_QUEUE_PARTS=sweep|shards runs one part. Prints tables.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue, type ConnectionOptions } from 'bullmq';
import { startRedis } from '../src/queue/redis.test-util.js';
import { QUEUE_PREFIX, TRIALS_QUEUE } from '../src/queue/jobs.js';

const root = resolve(import.meta.dirname, '../../..');
const cliJs = join(root, 'apps/experiment-runner/bin/cascade.js');
const trials = Number(process.env.BENCH_TRIALS ?? 12);
const simulations = Number(process.env.BENCH_SIMULATIONS ?? 50);
const shardSimulations = Number(process.env.BENCH_SHARD_SIMULATIONS ?? 1000);
const shardDataset = process.env.BENCH_SHARD_DATASET ?? 'irvine';
const parts = new Set((process.env.BENCH_QUEUE_PARTS ?? 'sweep,shards').split(','));
const env = { ...process.env, CASCADE_DATA_DIR: process.env.CASCADE_DATA_DIR ?? resolve(root, '../shared/data') };

function run(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [cliJs, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('exit', (code) => res({ code, output }));
  });
}

function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  console.log(`\n${title}`);
  for (const r of cells) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
}

const dir = mkdtempSync(join(tmpdir(), 'cascade-bench-queue-'));
const redis = await startRedis();
try {
  if (parts.has('sweep')) await sweeps();
  if (parts.has('shards')) await shards();
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

async function sweeps(): Promise<void> {
  const values = Array.from({ length: trials }, (_, i) => i / 4);
  const sweepFor = (name: string) => {
    writeFileSync(join(dir, `${name}-base.yaml`), ['name: pop', 'seed: 1', 'backend: cpu', 'dataset: { name: irvine }', 'model: { name: popularity }', `evaluation: { simulations: ${simulations} }`, `tracking: { experiment: bench, runsDir: ${join(dir, 'runs', name)} }`, ''].join('\n'));
    writeFileSync(join(dir, `${name}.yaml`), `name: ${name}\nbase: ${name}-base.yaml\nsweep:\n  grid: { model.hyperparameters.smoothing: [${values.join(', ')}] }\n`);
    return join(dir, `${name}.yaml`);
  };
  const rows: (string | number)[][] = [];
  const perTrial: Record<string, number> = {};
  for (const n of [1, 2, 4]) {
    const file = sweepFor(`local-${n}`);
    const t0 = performance.now();
    const r = await run(['sweep', file, '--workers', String(n), '--progress', 'quiet'], dir);
    if (r.code !== 0) throw new Error(r.output);
    const s = (performance.now() - t0) / 1000;
    rows.push([`local, ${n} process(es)`, s.toFixed(1), (s / trials).toFixed(2)]);
    if (n === 1) perTrial.local = s / trials;
  }
  const queue = new Queue(TRIALS_QUEUE, { connection: { host: '127.0.0.1', port: redis.port } as ConnectionOptions, prefix: QUEUE_PREFIX });
  const overhead: (string | number)[][] = [];
  for (const n of [1, 2, 4]) {
    const name = `queue-${n}`;
    const file = sweepFor(name);
    const workers = Array.from({ length: n }, () => run(['worker', '--queue', redis.url, '--exit-when-idle', '3', '--quiet'], dir));
    const t0 = performance.now();
    const r = await run(['sweep', file, '--queue', redis.url, '--progress', 'quiet'], dir);
    const ended = Date.now();
    if (r.code !== 0) throw new Error(r.output);
    const s = (performance.now() - t0) / 1000;
    await Promise.all(workers);
    rows.push([`queue, ${n} worker(s)`, s.toFixed(1), (s / trials).toFixed(2)]);
    const jobs = (await queue.getJobs(['completed'], 0, -1)).filter((j) => j.name === name);
    const waits = jobs.map((j) => (j.processedOn! - j.timestamp) / 1000).sort((a, b) => a - b);
    const onWorker = jobs.map((j) => (j.finishedOn! - j.processedOn!) / 1000);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Result to merged metrics: the last job's result in Redis -> the sweep done (its polling, the
    // last trial-table upload, the parent run closed, the process exited).
    const lastResult = Math.max(...jobs.map((j) => j.finishedOn!));
    overhead.push([n, waits[0].toFixed(3), mean(onWorker).toFixed(2), (mean(onWorker) - perTrial.local).toFixed(2), ((ended - lastResult) / 1000).toFixed(2)]);
  }
  await queue.close();
  table(`${trials}-trial popularity sweep on irvine, ${simulations} simulations per test cascade (wall seconds)`, ['mode', 'total s', 's per trial'], rows);
  table(
    'per job (queue timestamps): first job enqueue -> start; mean time on the worker; minus a local trial (local 1-process sweep s per trial); last job result -> sweep done (merged table, parent run closed)',
    ['workers', 'enqueue->start s', 'on worker s', 'vs local trial s', 'last result->done s'],
    overhead,
  );
}

async function shards(): Promise<void> {
  const file = join(dir, 'shards.yaml');
  writeFileSync(file, ['name: pop-shards', 'seed: 1', 'backend: cpu', `dataset: { name: ${shardDataset} }`, 'model: { name: popularity }', `evaluation: { simulations: ${shardSimulations} }`, `tracking: { experiment: bench, runsDir: ${join(dir, 'runs', 'shards')}, outputsDir: ${join(dir, 'outputs')} }`, ''].join('\n'));
  const outputsOf = (output: string) => /^outputs: (.+)$/m.exec(output)![1].trim();
  const metricsOf = (out: string) => JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Record<string, number>;
  const sameNumbers = (a: Record<string, number>, b: Record<string, number>) => {
    const keys = (m: Record<string, number>) => Object.keys(m).filter((k) => !k.endsWith('.seconds')).sort();
    return JSON.stringify(keys(a)) === JSON.stringify(keys(b)) && keys(a).every((k) => Object.is(a[k], b[k]));
  };
  // The longest shard's protocol time, from the summary line ("..., 3.2 s in the longest of 2 shards)").
  const longestShard = (output: string) => Number(/simulations, ([\d.]+) s(?: in the longest of \d+ shards)?\)/.exec(output)?.[1] ?? NaN);
  // Trained with a 1-simulation evaluation (quick); the benchmark's evaluations set their own count.
  const trained = await run(['run', file, '--set', 'evaluation.simulations=1', '--progress', 'quiet'], dir);
  if (trained.code !== 0) throw new Error(trained.output);
  const saved = outputsOf(trained.output);
  const rows: (string | number)[][] = [];
  let t0 = performance.now();
  const sims = `evaluation.simulations=${shardSimulations}`;
  const local = await run(['evaluate', saved, '--set', sims, '--progress', 'quiet'], dir);
  if (local.code !== 0) throw new Error(local.output);
  const localMetrics = metricsOf(outputsOf(local.output));
  rows.push(['local', ((performance.now() - t0) / 1000).toFixed(1), localMetrics['evaluation.seconds'].toFixed(1), longestShard(local.output).toFixed(1), 'reference']);
  for (const n of [1, 2, 4]) {
    const workers = Array.from({ length: 2 }, () => run(['worker', '--queue', redis.url, '--exit-when-idle', '3', '--quiet'], dir));
    t0 = performance.now();
    const r = await run(['evaluate', saved, '--set', sims, '--queue', redis.url, '--shards', String(n), '--progress', 'quiet'], dir);
    if (r.code !== 0) throw new Error(r.output);
    const wall = (performance.now() - t0) / 1000;
    await Promise.all(workers);
    const m = metricsOf(outputsOf(r.output));
    rows.push([`queue, ${n} shard(s), 2 workers`, wall.toFixed(1), m['evaluation.seconds'].toFixed(1), longestShard(r.output).toFixed(1), sameNumbers(m, localMetrics) ? 'identical' : 'DIFFERENT']);
  }
  table(
    `cascade evaluate of a saved popularity model on ${shardDataset}, ${shardSimulations} simulations per test cascade (seconds; evaluation = the evaluation.seconds metric; its excess over the longest shard's protocol time is the queue's overhead: model upload, worker process start, data and model load, result transfer, merge)`,
    ['mode', 'wall s', 'evaluation s', 'longest shard s', 'metrics vs local'],
    rows,
  );
}
