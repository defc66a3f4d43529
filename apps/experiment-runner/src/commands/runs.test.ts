import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, LocalTracker } from '@cascade-lab/tracking';
import { runCli as run } from '../cli.test-util.js';
import { formatDuration, formatMetric } from './runs.js';


let dir: string;
let ids: { parent: string; child: string; lone: string };
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cascade-runs-cli-'));
  const tracker = new LocalTracker({ root: dir, experiment: 'cli' });
  const parent = await tracker.startRun({ name: 'sweep', system: false, startTime: 1_700_000_000_000 });
  const child = await tracker.startRun({ name: 'trial-a', parent, system: false, startTime: 1_700_000_001_000 });
  child.logMetric('loss', 0.123456, 0, 1_700_000_002_000);
  child.logMetric('loss', 0.05, 1, 1_700_000_003_000);
  child.logMetric('f1', NaN, 1, 1_700_000_003_000);
  await child.end('FAILED');
  await parent.end('FINISHED');
  const lone = await tracker.startRun({ name: 'lone', system: false, startTime: 1_700_000_010_000 });
  await lone.end('KILLED');
  ids = { parent: parent.runId, child: child.runId, lone: lone.runId };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('cascade runs list', () => {
  test('shows each run with status, start, duration and last metrics, children under their parent', async () => {
    const r = await run('runs', 'list', '--dir', dir);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +STATUS +STARTED +DURATION +SYNC +RUN ID +METRICS$/);
    expect(lines[1]).toMatch(new RegExp(`^sweep +FINISHED +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\S+ +- +${ids.parent}$`));
    expect(lines[2]).toMatch(new RegExp(`^  └ trial-a +FAILED .* - +${ids.child} +f1=NaN loss=0\\.05$`));
    expect(lines[3]).toMatch(new RegExp(`^lone +KILLED .* ${ids.lone}$`));
    const only = await run('runs', 'list', '--dir', dir, '--metric', 'loss', '--status', 'FAILED');
    expect(only.stdout.trimEnd().split('\n').slice(1)).toEqual([expect.stringMatching(/^trial-a +FAILED .* loss=0\.05$/)]);
  });

  test('--json gives the runs with their metrics', async () => {
    const r = await run('runs', 'list', '--dir', dir, '--json');
    const runs = JSON.parse(r.stdout);
    expect(runs.map((x: { name: string }) => x.name)).toEqual(['sweep', 'trial-a', 'lone']);
    expect(runs[1]).toMatchObject({ status: 'FAILED', parentRunId: ids.parent, metrics: { loss: { value: 0.05, step: 1 }, f1: { value: 'NaN', step: 1 } } });
  });

  test('a torn metric line and a broken meta.json are warned about with file:line; every other run is listed (issue 21)', async () => {
    const lossFile = join(dir, ids.child, 'metrics', 'loss.jsonl');
    appendFileSync(lossFile, '{"step":2,"timestamp":17000000');
    writeFileSync(join(dir, ids.lone, 'meta.json'), '{"formatVersion": 1,');
    const r = await run('runs', 'list', '--dir', dir);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(1).map((l) => l.trim().split(/ +/)[0])).toEqual(['sweep', '└']);
    expect(lines[2]).toMatch(/loss=0\.05$/);
    expect(r.stderr).toContain(`${lossFile}:3: skipping its last line`);
    expect(r.stderr).toContain(`skipping local run ${ids.lone}: ${join(dir, ids.lone, 'meta.json')}:1:21: not valid JSON`);
  });

  test('an empty store says so', async () => {
    const r = await run('runs', 'list', '--dir', join(dir, 'none'));
    expect(r.stdout).toBe(`no runs in ${join(dir, 'none')}\n`);
  });

  test('formatting helpers', () => {
    expect([850, 12_345, 245_000, 7_380_000].map(formatDuration)).toEqual(['850ms', '12.3s', '4m05s', '2h03m']);
    expect([0.123456, 3, -Infinity, 1234.5678].map(formatMetric)).toEqual(['0.1235', '3', '-Infinity', '1235']);
  });
});

describe('cascade mlflow sync', () => {
  test('--dry-run lists what would be uploaded without contacting the server', async () => {
    // Port 9 (discard) on loopback: nothing listens, so any request would fail the command.
    const r = await run('mlflow', 'sync', '--dry-run', '--uri', 'http://127.0.0.1:9', '--dir', dir);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      `would-upload  sweep (${ids.parent})  0 params, 1 tags, 0 metric points, 0 artifacts`,
      `would-upload  trial-a (${ids.child})  0 params, 2 tags, 3 metric points, 0 artifacts`,
      `would-upload  lone (${ids.lone})  0 params, 1 tags, 0 metric points, 0 artifacts`,
    ]);
    expect(new LocalStore(dir).readSyncState(ids.parent)).toEqual({ targets: {} });
  });

  test('without a server URI it says how to give one (exit 6)', async () => {
    const saved = process.env.MLFLOW_TRACKING_URI;
    delete process.env.MLFLOW_TRACKING_URI;
    try {
      const r = await run('mlflow', 'sync', '--dir', dir);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/\[TRACKING\] no MLflow server to sync to/);
      expect(r.stderr).toMatch(/--uri/);
    } finally {
      if (saved !== undefined) process.env.MLFLOW_TRACKING_URI = saved;
    }
  });

  test('an unreachable server fails every run, reports it and exits 6; nothing is marked synced', async () => {
    process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES = '0';
    try {
      const r = await run('mlflow', 'sync', '--uri', 'http://ana:pw-secret@127.0.0.1:9', '--dir', dir, '--quiet');
      expect(r.code).toBe(6);
      expect(r.stdout).toMatch(new RegExp(`^failed +sweep \\(${ids.parent}\\) .*ECONNREFUSED`, 'm'));
      expect(r.stderr).toMatch(/3 of 3 runs could not be synced to http:\/\/127\.0\.0\.1:9/);
      expect(r.stdout + r.stderr).not.toContain('pw-secret');
      expect(new LocalStore(dir).readSyncState(ids.parent)).toEqual({ targets: {} });
    } finally {
      delete process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES;
    }
  });
});
