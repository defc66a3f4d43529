import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTracker } from './tracker.js';
import { LocalStore } from './store.js';
import { configHash } from '../hash.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cascade-local-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('LocalTracker', () => {
  it('writes params, tags, metric histories, artifacts and status in the documented layout', async () => {
    const tracker = new LocalTracker({ root, experiment: 'exp' });
    const parent = await tracker.startRun({ name: 'sweep', system: { seed: 7, backend: 'cpu' } });
    const child = await tracker.startRun({ name: 'trial 1', parent, system: false, tags: { fold: '0' } });
    await child.logConfig({ model: { heads: 8, dims: [64, 32] }, lr: 0.01 });
    child.logMetric('loss', 0.9, 0, 1000);
    child.logMetric('loss', NaN, 1, 2000);
    child.logMetric('loss', Infinity, 2, 3000);
    child.logMetrics({ 'val/f1': 0.5 }, 2, 3000);
    const src = join(root, 'weights.bin');
    writeFileSync(src, Buffer.from([1, 2, 3]));
    await child.logArtifact(src, 'model/weights.bin');
    await child.end('FINISHED');
    await parent.end();

    const dir = join(root, child.runId);
    expect(readdirSync(dir).sort()).toEqual(['artifacts', 'meta.json', 'metrics', 'params.json', 'tags.json']);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ formatVersion: 1, name: 'trial 1', experiment: 'exp', status: 'FINISHED', parentRunId: parent.runId });
    expect(meta.endTime).toBeGreaterThanOrEqual(meta.startTime);
    expect(JSON.parse(readFileSync(join(dir, 'params.json'), 'utf8'))).toEqual({ 'model.heads': '8', 'model.dims': '[64,32]', lr: '0.01' });
    const tags = JSON.parse(readFileSync(join(dir, 'tags.json'), 'utf8'));
    expect(tags).toMatchObject({ fold: '0', 'mlflow.runName': 'trial 1', 'mlflow.parentRunId': parent.runId, 'cascade.configHash': configHash({ model: { heads: 8, dims: [64, 32] }, lr: 0.01 }) });
    expect(tags['mlflow.note.content']).toContain('"heads": 8');
    expect(readFileSync(join(dir, 'metrics', 'loss.jsonl'), 'utf8')).toBe(
      '{"step":0,"timestamp":1000,"value":0.9}\n{"step":1,"timestamp":2000,"value":"NaN"}\n{"step":2,"timestamp":3000,"value":"Infinity"}\n',
    );
    expect(existsSync(join(dir, 'metrics', 'val%2Ff1.jsonl'))).toBe(true);
    expect([...readFileSync(join(dir, 'artifacts', 'model', 'weights.bin'))]).toEqual([1, 2, 3]);
    expect(JSON.parse(readFileSync(join(dir, 'artifacts', 'config.json'), 'utf8'))).toEqual({ model: { heads: 8, dims: [64, 32] }, lr: 0.01 });

    const parentTags = new LocalStore(root).readTags(parent.runId);
    expect(parentTags).toMatchObject({ 'cascade.seed': '7', 'cascade.backend': 'cpu', 'mlflow.source.type': 'LOCAL' });
    expect(parentTags['mlflow.user']).toBeTruthy();
  });

  it('reads back what it wrote through the store', async () => {
    const tracker = new LocalTracker({ root });
    const run = await tracker.startRun({ name: 'r', system: false });
    for (let i = 0; i < 2500; i++) run.logMetric('loss', 1 / (i + 1), i, 10 + i);
    await run.end('KILLED');
    const store = new LocalStore(root);
    const history = store.readMetricHistory(run.runId, 'loss');
    expect(history).toHaveLength(2500);
    expect(history[2499]).toEqual({ key: 'loss', value: 1 / 2500, step: 2499, timestamp: 2509 });
    expect(store.latestMetrics(run.runId).loss.step).toBe(2499);
    expect(store.summaries()[0].meta.status).toBe('KILLED');
  });

  it('stores long metric keys under a hashed file name with a header line', async () => {
    const tracker = new LocalTracker({ root });
    const run = await tracker.startRun({ name: 'r', system: false });
    const key = 'ä/'.repeat(100) + 'x';
    run.logMetric(key, 2, 3, 4);
    await run.end();
    const store = new LocalStore(root);
    expect(store.metricKeys(run.runId)).toEqual([key]);
    expect(store.readMetricHistory(run.runId, key)).toEqual([{ key, value: 2, step: 3, timestamp: 4 }]);
  });

  it('refuses what MLflow would refuse: changed params, bad keys, logging after the end, unknown parents', async () => {
    const tracker = new LocalTracker({ root });
    const run = await tracker.startRun({ name: 'r', system: false });
    await run.logParams({ lr: 0.1 });
    await run.logParams({ lr: 0.1 });
    await expect(run.logParams({ lr: 0.2 })).rejects.toThrow(/cannot change value: lr \("0.1" -> "0.2"\)/);
    expect(() => run.logMetric('bad key!', 1)).toThrow(/invalid metric key/);
    expect(() => run.logMetric('ok', 1, 0.5)).toThrow(/step must be an integer/);
    await run.end();
    expect(() => run.logMetric('loss', 1)).toThrow(/already ended/);
    await expect(tracker.startRun({ name: 'c', parent: 'nope' })).rejects.toThrow(/parent run "nope"/);
  });

  it('spillSync writes buffered metrics and the status synchronously', async () => {
    const tracker = new LocalTracker({ root, flushIntervalMs: 60_000 });
    const run = await tracker.startRun({ name: 'r', system: false });
    run.logMetric('loss', 1, 0, 5);
    expect(new LocalStore(root).readMetricHistory(run.runId, 'loss')).toEqual([]);
    run.spillSync('KILLED');
    const store = new LocalStore(root);
    expect(store.readMetricHistory(run.runId, 'loss')).toHaveLength(1);
    expect(store.readMeta(run.runId).status).toBe('KILLED');
  });

  it('lists only directories that are runs', async () => {
    mkdirSync(join(root, 'not-a-run'));
    const tracker = new LocalTracker({ root });
    const a = await tracker.startRun({ name: 'a', system: false, startTime: 2000 });
    const b = await tracker.startRun({ name: 'b', system: false, startTime: 1000 });
    expect(new LocalStore(root).listRuns().map((m) => m.runId)).toEqual([b.runId, a.runId]);
    expect(b.runId).toMatch(/^19700101-000001-b-[0-9a-f]{8}$/);
    await a.end();
    await b.end();
  });
});
