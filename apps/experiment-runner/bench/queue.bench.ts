// `npm run bench -- queue`: the job queue (issue 20) against local sweeps, with the built CLI and a
// real redis-server on a loopback port. A 12-trial popularity sweep on irvine (BENCH_TRIALS,
// BENCH_SIMULATIONS) run locally with 1, 2 and 4 trial processes and through the queue with 1, 2
// and 4 `cascade worker` processes; then, from the queue's own job timestamps, the per-job overhead:
// enqueue to start (waiting for a worker included) and the trial's time on the worker against a
// local trial. Prints tables.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue, type ConnectionOptions } from 'bullmq';
import { startRedis } from '../src/queue/redis.test-util.js';
import { QUEUE_PREFIX, TRIALS_QUEUE } from '../src/queue/jobs.js';

const root = resolve(import.meta.dirname, '../../..');
const cliJs = join(root, 'apps/experiment-runner/bin/cascade.js');
const trials = Number(process.env.BENCH_TRIALS ?? 12);
const simulations = Number(process.env.BENCH_SIMULATIONS ?? 50);
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
    if (r.code !== 0) throw new Error(r.output);
    const s = (performance.now() - t0) / 1000;
    await Promise.all(workers);
    rows.push([`queue, ${n} worker(s)`, s.toFixed(1), (s / trials).toFixed(2)]);
    const jobs = (await queue.getJobs(['completed'], 0, -1)).filter((j) => j.name === name);
    const waits = jobs.map((j) => (j.processedOn! - j.timestamp) / 1000).sort((a, b) => a - b);
    const onWorker = jobs.map((j) => (j.finishedOn! - j.processedOn!) / 1000);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    overhead.push([n, waits[0].toFixed(3), mean(onWorker).toFixed(2), (mean(onWorker) - perTrial.local).toFixed(2)]);
  }
  await queue.close();
  table(`${trials}-trial popularity sweep on irvine, ${simulations} simulations per test cascade (wall seconds)`, ['mode', 'total s', 's per trial'], rows);
  table(
    'per job (queue timestamps): first job enqueue -> start; mean time on the worker; minus a local trial (local 1-process sweep s per trial)',
    ['workers', 'enqueue->start s', 'on worker s', 'vs local trial s'],
    overhead,
  );
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
