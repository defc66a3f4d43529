import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowClient } from '../mlflow/client.js';
import { syncLocalRuns } from '../sync.js';
import { LocalStore } from './store.js';

/**
 * Damaged stores (issue 21, item 4): a kill or a full disk can cut the last line of an
 * append-only metric file, and a hand edit can break a meta.json. Readers skip a torn last line
 * with a warning, report a broken run without hiding the others, and name the right line.
 */
let root: string;
let warnings: string[];
let store: LocalStore;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cascade-store-'));
  warnings = [];
  store = new LocalStore(root, { onWarning: (m) => warnings.push(m) });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function newRun(name: string, startTime: number): string {
  const runId = store.newRunId(name, startTime);
  store.createRun({ runId, name, experiment: 'e', status: 'FINISHED', startTime, endTime: startTime + 1000 });
  store.appendMetrics(runId, [1, 2, 3].map((step) => ({ key: 'train.loss', value: 1 / step, step, timestamp: startTime + step })));
  return runId;
}
const lossFile = (runId: string) => join(root, runId, 'metrics', 'train.loss.jsonl');

describe('a torn last line of a metric file', () => {
  it('is skipped with one warning naming file and line; the complete points are read', () => {
    const id = newRun('torn', 1_000_000);
    appendFileSync(lossFile(id), '{"step":4,"timestamp":1000004,"val');
    expect(store.readMetricHistory(id, 'train.loss').map((p) => p.step)).toEqual([1, 2, 3]);
    expect(store.latestMetrics(id)['train.loss']).toMatchObject({ step: 3, value: 1 / 3 });
    expect(store.summaries().map((s) => s.meta.runId)).toEqual([id]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${lossFile(id)}:4: skipping its last line`);
  });

  it('a later append starts on a line of its own, so only the torn line is lost', () => {
    const id = newRun('torn-append', 1_000_000);
    appendFileSync(lossFile(id), '{"step":4,"timest');
    store.appendMetrics(id, [{ key: 'train.loss', value: 0.2, step: 5, timestamp: 1_000_005 }]);
    expect(() => store.readMetricHistory(id, 'train.loss')).toThrow(`${lossFile(id)}:4: not a JSON line`);
    expect(readFileSync(lossFile(id), 'utf8').split('\n')[4]).toBe('{"step":5,"timestamp":1000005,"value":0.2}');
  });

  it('a bad line that is not the torn last one is an error with its real line number (not :0)', () => {
    const id = newRun('bad-last', 1_000_000);
    appendFileSync(lossFile(id), 'garbage\n');
    expect(() => store.latestMetrics(id)).toThrow(`${lossFile(id)}:4: not a JSON line`);
    expect(() => store.readMetricHistory(id, 'train.loss')).toThrow(`${lossFile(id)}:4: not a JSON line`);
  });
});

describe('a broken run', () => {
  it('a bad meta.json leaves the run out with file:line:col, and every other run is still listed', () => {
    const good1 = newRun('good-1', 1_000_000);
    const bad = newRun('bad-meta', 2_000_000);
    const good2 = newRun('good-2', 3_000_000);
    const metaFile = join(root, bad, 'meta.json');
    writeFileSync(metaFile, '{\n  "formatVersion": 1,\n  "runId": "x",\n  "name": \n}\n');
    expect(store.listRuns().map((m) => m.runId)).toEqual([good1, good2]);
    expect(store.broken()).toEqual([{ runId: bad, dir: join(root, bad), message: expect.stringContaining(`${metaFile}:5:1: not valid JSON`) }]);
    expect(warnings).toEqual([expect.stringContaining(`skipping local run ${bad}: ${metaFile}:5:1`)]);
  });

  it('a meta.json without its fields says which are missing', () => {
    const bad = newRun('fields', 1_000_000);
    writeFileSync(join(root, bad, 'meta.json'), JSON.stringify({ formatVersion: 1, runId: bad }));
    expect(store.listRuns()).toEqual([]);
    expect(store.broken()[0].message).toContain('missing or invalid name, experiment, status, startTime');
  });

  it('a run whose metric file is broken mid-file is reported by sync with file:line, the others go on', async () => {
    const good = newRun('good', 1_000_000);
    const bad = newRun('bad-metrics', 2_000_000);
    const lines = readFileSync(lossFile(bad), 'utf8').split('\n');
    lines[1] = '{"step": oops}';
    writeFileSync(lossFile(bad), lines.join('\n'));
    // A listing reads only each file's end: both runs are listed.
    expect(store.summaries().map((s) => s.meta.runId)).toEqual([good, bad]);
    // dry-run contacts no server: the client is never used.
    const client = new MlflowClient({ trackingUri: 'http://127.0.0.1:9' });
    const reports = await syncLocalRuns(new LocalStore(root), client, { dryRun: true });
    client.close();
    expect(reports.map((r) => [r.localRunId, r.action])).toEqual([
      [good, 'would-upload'],
      [bad, 'failed'],
    ]);
    expect(reports[1].reason).toBe(`${lossFile(bad)}:2: not a JSON line`);
  });
});
