/**
 * The job queue end to end (issue 20): a real redis-server on a loopback port, the `cascade` CLI
 * (from the sources, through tsx) as the sweep and as 2 worker processes, the local run store.
 * - a queued sweep gives the same metrics as the local sweep; a password in the Redis URL appears
 *   nowhere (stdout, stderr, run folders, outputs); a model error fails once, without retries;
 * - a worker SIGKILLed mid-trial: the job runs again on the other worker after its lock expires,
 *   the trial ends with one FINISHED run and the lost attempt's run is FAILED;
 * - Redis restarted mid-sweep: everyone reconnects and every trial finishes;
 * - Ctrl-C on the sweep leaves its jobs queued, or cancels them with --cancel-on-exit.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, type LocalRunMeta } from '@cascade-lab/tracking';
import { SWEEP_TAGS } from '../report/runs.js';
import { cli, everyFile, exitOf, stopAll, until, type Cli } from './cli-process.test-util.js';
import { startRedis, type TestRedis } from './redis.test-util.js';

function popularityBase(dir: string, runs: string, simulations: number): string {
  const file = join(dir, `base-${simulations}-${runs.split('/').pop()}.yaml`);
  writeFileSync(
    file,
    ['name: pop', 'seed: 1', 'backend: cpu', 'dataset: { name: irvine }', 'model: { name: popularity }', `evaluation: { simulations: ${simulations} }`, `tracking: { experiment: queue-test, runsDir: ${runs}, outputsDir: ${join(dir, 'outputs')} }`, ''].join('\n'),
  );
  return file;
}

function sweepFile(dir: string, name: string, base: string, values: number[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nbase: ${base}\nsweep:\n  grid: { model.hyperparameters.smoothing: [${values.join(', ')}] }\n`);
  return file;
}

function trialRuns(store: LocalStore, sweep: string): (LocalRunMeta & { tags: Record<string, string> })[] {
  return store
    .listRuns()
    .map((m) => ({ ...m, tags: store.readTags(m.runId) }))
    .filter((m) => m.tags[SWEEP_TAGS.role] === 'trial' && m.tags[SWEEP_TAGS.sweep] === sweep);
}

describe('cascade sweep --queue with cascade worker processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cascade-queue-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the local sweep\'s metrics, shows no password anywhere, and fails a model error once without retries', async () => {
    const password = 'Sekr3t-pass-9f2c';
    const redis = await startRedis({ password });
    const workers: Cli[] = [];
    try {
      const queued = join(dir, 'runs-queued');
      const local = join(dir, 'runs-local');
      const values = [0, 1, 2];
      const qSweep = sweepFile(dir, 'pop-queued', popularityBase(dir, queued, 20), values);
      const lSweep = sweepFile(dir, 'pop-local', popularityBase(dir, local, 20), values);
      // A hyperparameter combination the schema accepts but Hawkes' train rejects (plugin.ts).
      writeFileSync(join(dir, 'hawkes.yaml'), ['name: bad', 'seed: 1', 'backend: cpu', `dataset: { name: tideh-rt, split: { testFraction: 0.3, validationFraction: 0.1 }, window: { observationWindowSeconds: 21600, binWidthSeconds: 300, horizonsHours: [12] } }`, 'model: { name: hawkes }', `tracking: { experiment: queue-test, runsDir: ${queued} }`, ''].join('\n'));
      writeFileSync(join(dir, 'bad.yaml'), 'name: bad-hp\nbase: hawkes.yaml\nsweep:\n  list:\n    - { model.hyperparameters.thetaMinPerWindow: 2, model.hyperparameters.thetaMaxPerWindow: 1 }\n');

      for (let i = 0; i < 2; i++) workers.push(cli(['worker', '--queue', redis.url, '--lock-seconds', '3'], dir));
      const sweep = cli(['sweep', qSweep, '--queue', redis.url, '--progress', 'lines'], dir);
      expect(await exitOf(sweep, 90_000, ...workers)).toBe(0);
      const bad = cli(['sweep', join(dir, 'bad.yaml'), '--queue', redis.url, '--progress', 'lines'], dir);
      expect(await exitOf(bad, 60_000, ...workers)).toBe(8);
      const status = cli(['queue', 'status', '--queue', redis.url, '--json'], dir);
      expect(await exitOf(status, 30_000)).toBe(0);
      await stopAll(workers);
      const localSweep = cli(['sweep', lSweep, '--workers', '2', '--progress', 'lines'], dir);
      expect(await exitOf(localSweep, 90_000)).toBe(0);
      await stopAll(workers);

      // Same trials, same seeds, same code path: the same numbers, to the last digit.
      const metricsOf = (runs: string, sweepName: string) => {
        const store = new LocalStore(runs);
        const t = trialRuns(store, sweepName);
        expect(t.map((r) => r.status)).toEqual(values.map(() => 'FINISHED'));
        return Object.fromEntries(t.map((r) => [r.tags[SWEEP_TAGS.trialLabel], store.latestMetrics(r.runId)['test.macroF1'].value]));
      };
      const fromQueue = metricsOf(queued, 'pop-queued');
      expect(Object.keys(fromQueue).sort()).toEqual(values.map((v) => `smoothing=${v}`));
      expect(fromQueue).toEqual(metricsOf(local, 'pop-local'));
      // Both workers took part (3 trials, 2 workers that each run one at a time).
      const store = new LocalStore(queued);
      expect(new Set(trialRuns(store, 'pop-queued').map((r) => r.tags[SWEEP_TAGS.queueWorker])).size).toBe(2);

      // The model error: one attempt, its message in the sweep's summary and in the job.
      expect(bad.output()).toMatch(/thetaMaxPerWindow \(1\) must exceed thetaMinPerWindow \(2\)/);
      const badRuns = trialRuns(store, 'bad-hp');
      expect(badRuns.map((r) => [r.status, r.tags[SWEEP_TAGS.queueAttempt]])).toEqual([['FAILED', '1']]);
      const counts = JSON.parse(status.output()) as { sweep: string; failed: number; failures: { reason: string }[] }[];
      const badCounts = counts.find((c) => c.sweep === 'bad-hp')!;
      expect(badCounts.failed).toBe(1);
      expect(badCounts.failures[0].reason).toMatch(/must exceed thetaMinPerWindow/);
      const workerLogs = workers.map((w) => w.output()).join('\n');
      expect(workerLogs.match(/bad-hp #0 .*: attempt \d starts/g)).toHaveLength(1);

      // No credential anywhere: CLI output, tracked runs (params, tags, artifacts), outputs.
      const texts = [sweep, localSweep, bad, status, ...workers].map((c) => c.output());
      for (const f of everyFile(dir)) texts.push(readFileSync(f).toString('latin1'));
      expect(texts.filter((t) => t.includes(password))).toEqual([]);
      expect(sweep.output()).toContain(`redis://127.0.0.1:${redis.port}`);

      // A wrong password is refused, and not echoed either.
      const wrong = cli(['queue', 'status', '--queue', `redis://:Wr0ng-${password}@127.0.0.1:${redis.port}`], dir);
      expect(await exitOf(wrong, 30_000)).toBe(2);
      expect(wrong.output()).not.toContain(password);
      expect(wrong.output()).toMatch(/cannot use the queue redis:\/\/127\.0\.0\.1:\d+: WRONGPASS/);
    } finally {
      await stopAll(workers);
      await redis.stop();
    }
  }, 180_000);

  describe('faults', () => {
    let redis: TestRedis;
    const workers: Cli[] = [];
    const runs = join(dir, 'runs-faults');
    const store = new LocalStore(runs);
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await stopAll(workers);
      await redis.stop();
    });

    it('a worker SIGKILLed mid-trial: the job runs again on another worker; one FINISHED run, the lost one FAILED', async () => {
      for (let i = 0; i < 2; i++) workers.push(cli(['worker', '--queue', redis.url, '--lock-seconds', '2'], dir));
      // Enough simulations that the trial's run stays open for a few seconds.
      const sweep = cli(['sweep', sweepFile(dir, 'pop-kill', popularityBase(dir, runs, 1000), [1]), '--queue', redis.url, '--progress', 'lines'], dir);
      const victim = await until(
        'a running trial',
        () => trialRuns(store, 'pop-kill').find((r) => r.status === 'RUNNING'),
        90_000,
        () => sweep.output() + workers.map((w) => w.output()).join('\n'),
      );
      const pid = Number(victim.tags[SWEEP_TAGS.queueWorker].split(':').pop());
      const killed = workers.find((w) => w.child.pid === pid)!;
      expect(killed).toBeDefined();
      killed.child.kill('SIGKILL');
      expect(await exitOf(sweep, 60_000, ...workers)).toBe(0);
      const t = trialRuns(store, 'pop-kill');
      expect(t.map((r) => r.status).sort()).toEqual(['FAILED', 'FINISHED']);
      const lost = t.find((r) => r.status === 'FAILED')!;
      expect(lost.runId).toBe(victim.runId);
      expect(lost.tags['cascade.error']).toMatch(/lost: attempt 1 on worker .* stopped before finishing/);
      const finished = t.find((r) => r.status === 'FINISHED')!;
      expect(finished.tags[SWEEP_TAGS.queueAttempt]).toBe('2');
      expect(finished.tags[SWEEP_TAGS.queueWorker]).not.toBe(victim.tags[SWEEP_TAGS.queueWorker]);
      workers.splice(workers.indexOf(killed), 1);
    }, 120_000);

    it('Redis restarted mid-sweep: the sweep and the workers reconnect and every trial finishes once', async () => {
      workers.push(cli(['worker', '--queue', redis.url, '--lock-seconds', '10'], dir));
      const sweep = cli(['sweep', sweepFile(dir, 'pop-restart', popularityBase(dir, runs, 300), [0, 1, 2]), '--queue', redis.url, '--progress', 'lines'], dir);
      await until('a running trial', () => trialRuns(store, 'pop-restart').find((r) => r.status === 'RUNNING'), 90_000, sweep.output);
      await redis.restart(1500);
      expect(await exitOf(sweep, 90_000, ...workers)).toBe(0);
      const t = trialRuns(store, 'pop-restart');
      expect(t.map((r) => r.status)).toEqual(['FINISHED', 'FINISHED', 'FINISHED']);
      expect(new Set(t.map((r) => r.tags[SWEEP_TAGS.trialHash])).size).toBe(3);
      expect(sweep.output()).toMatch(/3 finished now/);
    }, 120_000);

    it('Ctrl-C leaves the jobs queued, or cancels them with --cancel-on-exit', async () => {
      await stopAll(workers);
      const file = sweepFile(dir, 'pop-ctrlc', popularityBase(dir, runs, 20), [5, 6]);
      const status = async () => {
        const s = cli(['queue', 'status', '--queue', redis.url, '--sweep', 'pop-ctrlc', '--json'], dir);
        expect(await s.exit).toBe(0);
        return (JSON.parse(s.output()) as { queued: number }[])[0]?.queued ?? 0;
      };
      const first = cli(['sweep', file, '--queue', redis.url, '--progress', 'lines'], dir);
      await until('the jobs queued', () => (/queued 2 trial job/.test(first.output()) ? true : undefined), 60_000, first.output);
      first.child.kill('SIGINT');
      expect(await first.exit).toBe(130);
      expect(first.output()).toMatch(/STAY QUEUED/);
      expect(first.output()).toMatch(/2 trial job\(s\) stay in the queue/);
      expect(await status()).toBe(2);

      const second = cli(['sweep', file, '--queue', redis.url, '--cancel-on-exit', '--progress', 'lines'], dir);
      await until('the jobs followed', () => (/following 2 job/.test(second.output()) ? true : undefined), 60_000, second.output);
      second.child.kill('SIGINT');
      expect(await second.exit).toBe(130);
      expect(second.output()).toMatch(/2 waiting job\(s\) removed from the queue/);
      expect(await status()).toBe(0);
    }, 120_000);
  });
});
