/**
 * Evaluation sharding end to end (issue 20): a real redis-server (with a password) on a loopback
 * port, 2 `cascade worker` processes, and `cascade run` / `cascade evaluate` with `--queue` and
 * `--shards`, against the same commands without a queue. The popularity baseline on Irvine keeps
 * it short. Checked:
 * - the sharded evaluation's metrics.json (less the wall times) and predictions.jsonl are those of
 *   the local evaluation, byte for byte; both workers took shards; the config hash is the same;
 * - `cascade evaluate --queue` of the local run's saved model gives the local metrics too;
 * - nothing is left in Redis (model, jobs), and the password appears nowhere;
 * - a worker SIGKILLed during a shard: the shard runs again on the other worker after its lock
 *   expires, and the merged metrics are still the local ones.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, everyFile, exitOf, stopAll, until, type Cli } from './cli-process.test-util.js';
import { startRedis } from './redis.test-util.js';

function config(dir: string, simulations: number): string {
  const file = join(dir, `pop-${simulations}.yaml`);
  writeFileSync(
    file,
    ['name: pop', 'seed: 3', 'backend: cpu', 'dataset: { name: irvine }', 'model: { name: popularity }', `evaluation: { simulations: ${simulations} }`, `tracking: { experiment: shard-test, runsDir: ${join(dir, 'runs')}, outputsDir: ${join(dir, 'outputs')} }`, ''].join('\n'),
  );
  return file;
}

/** The outputs folder a finished `cascade run` / `cascade evaluate` printed. */
function outputsOf(c: Cli): string {
  const m = /^outputs: (.+)$/m.exec(c.output());
  if (!m) throw new Error(`no outputs line in:\n${c.output()}`);
  return m[1].trim();
}

/** metrics.json less the wall-clock times (the only numbers that may differ). */
function metricsOf(outputDir: string): Record<string, unknown> {
  const all = JSON.parse(readFileSync(join(outputDir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(all).filter(([k]) => !k.endsWith('.seconds')));
}

const hashOf = (outputDir: string) => (JSON.parse(readFileSync(join(outputDir, 'run.json'), 'utf8')) as { hash: string }).hash;

function redisKeys(port: number, password: string, pattern: string): string[] {
  const r = spawnSync('redis-cli', ['-p', String(port), '-a', password, '--no-auth-warning', '--scan', '--pattern', pattern], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim());
}

describe('sharded evaluation on cascade worker processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cascade-shards-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('cascade run and cascade evaluate with --queue --shards give the local metrics to the last digit; a worker killed mid-shard changes nothing', async () => {
    const password = 'Sh4rd-pass-71ab';
    const redis = await startRedis({ password });
    const workers: Cli[] = [];
    try {
      for (let i = 0; i < 2; i++) workers.push(cli(['worker', '--queue', redis.url, '--lock-seconds', '2'], dir));
      const file = config(dir, 200);

      const queued = cli(['run', file, '--queue', redis.url, '--shards', '3', '--progress', 'lines'], dir);
      expect(await exitOf(queued, 120_000, ...workers)).toBe(0);
      const local = cli(['run', file, '--progress', 'lines'], dir);
      expect(await exitOf(local, 60_000)).toBe(0);
      const [q, l] = [outputsOf(queued), outputsOf(local)];
      expect(metricsOf(q)['test.cascades']).toBeGreaterThan(40);
      // Every metric, parsed as doubles: equal, not close.
      expect(metricsOf(q)).toEqual(metricsOf(l));
      expect(readFileSync(join(q, 'predictions.jsonl'), 'utf8')).toBe(readFileSync(join(l, 'predictions.jsonl'), 'utf8'));
      // evaluation.shards is how to compute, not what: the same config hash.
      expect(hashOf(q)).toBe(hashOf(l));
      expect(queued.output()).toMatch(/3 shard job\(s\) of \d+ test cascades queued on redis:\/\/127\.0\.0\.1:\d+/);
      // Both workers took shards of it.
      for (const w of workers) expect(w.output()).toMatch(/evaluation pop-\w+ shard \d\/3: FINISHED/);

      // The local run's saved model, evaluated on the queue.
      const evaluated = cli(['evaluate', l, '--queue', redis.url, '--shards', '2', '--progress', 'lines'], dir);
      expect(await exitOf(evaluated, 120_000, ...workers)).toBe(0);
      expect(metricsOf(outputsOf(evaluated))).toEqual(metricsOf(l));

      // Merged: the model and the shard jobs are gone from Redis.
      expect(redisKeys(redis.port, password, 'cascade:model:*')).toEqual([]);
      const status = cli(['queue', 'status', '--queue', redis.url, '--json'], dir);
      expect(await exitOf(status, 30_000)).toBe(0);
      expect(JSON.parse(status.output())).toEqual([]);

      // A worker SIGKILLed while it holds a shard: the shard is retried elsewhere; same numbers.
      const slow = config(dir, 1500);
      const seen = new Map(workers.map((w) => [w, w.output().length]));
      const since = (w: Cli) => w.output().slice(seen.get(w));
      const victimRun = cli(['run', slow, '--queue', redis.url, '--shards', '2', '--progress', 'lines'], dir);
      const victim = await until('a shard started on a worker', () => workers.find((w) => /shard \d\/2: attempt 1 starts on/.test(since(w))), 90_000, () => victimRun.output() + workers.map((w) => w.output()).join('\n'));
      victim.child.kill('SIGKILL');
      expect(await exitOf(victimRun, 120_000, ...workers)).toBe(0);
      const survivor = workers.find((w) => w !== victim)!;
      expect(since(survivor)).toMatch(/shard \d\/2: attempt 2 starts on/);
      const slowLocal = cli(['run', slow, '--progress', 'lines'], dir);
      expect(await exitOf(slowLocal, 90_000)).toBe(0);
      expect(metricsOf(outputsOf(victimRun))).toEqual(metricsOf(outputsOf(slowLocal)));

      // No credential anywhere: CLI output and every file the runs left.
      const texts = [queued, local, evaluated, status, victimRun, ...workers].map((c) => c.output());
      for (const f of everyFile(dir)) texts.push(readFileSync(f).toString('latin1'));
      expect(texts.filter((t) => t.includes(password))).toEqual([]);
    } finally {
      await stopAll(workers);
      await redis.stop();
    }
  }, 420_000);
});
