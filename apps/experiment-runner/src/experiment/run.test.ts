import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer, MemoryLogger, PluginRegistry, quietProgress } from '@cascade-lab/core';
import { LocalStore, LocalTracker } from '@cascade-lab/tracking';
import { pluginModules } from '../plugin-modules.js';
import { loadExperiment } from './config.js';
import { runExperiment } from './run.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
process.env.CASCADE_DATA_DIR ??= resolve(repoRoot, '../shared/data');

describe('runExperiment (popularity baseline on Irvine, local store)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cascade-run-'));
  const config = join(dir, 'exp.yaml');
  writeFileSync(
    config,
    [
      'name: popularity-irvine-test',
      'seed: 3',
      'backend: cpu',
      'dataset: { name: irvine }',
      'model: { name: popularity }',
      'evaluation: { simulations: 50, maxTestCascades: 20 }',
      `tracking: { experiment: tests, outputsDir: ${join(dir, 'outputs')} }`,
      '',
    ].join('\n'),
  );
  const registry = createContainer(pluginModules).get(PluginRegistry);

  async function runOnce(storeDir: string) {
    const tracker = new LocalTracker({ root: storeDir });
    const exp = loadExperiment(config, registry);
    return runExperiment(exp, { logger: new MemoryLogger(), progress: quietProgress, tracker, signal: new AbortController().signal });
  }

  it('trains, evaluates with the shared protocol, logs and writes artifacts; a seed reproduces the numbers', async () => {
    const store = join(dir, 'runs');
    const first = await runOnce(store);
    expect(first.metrics['test.cascades']).toBe(20);
    expect(first.metrics['test.macroF1']).toBeGreaterThan(0);
    expect(first.metrics['test.macroF1']).toBeLessThan(1);
    expect(first.metrics['test.hits_at_10']).toBeGreaterThan(0);
    for (const f of ['config.yaml', 'metrics.json', 'predictions.jsonl', 'model/model.json', 'run.json']) expect(existsSync(join(first.outputDir, f))).toBe(true);
    expect(readFileSync(join(first.outputDir, 'predictions.jsonl'), 'utf8').trim().split('\n')).toHaveLength(20);

    const local = new LocalStore(store);
    const meta = local.readMeta(first.runId);
    expect(meta.status).toBe('FINISHED');
    expect(local.readParams(first.runId)['model.name']).toBe('popularity');
    expect(local.readTags(first.runId)['cascade.model']).toBe('popularity');
    expect(readdirSync(join(store, first.runId, 'artifacts'))).toEqual(expect.arrayContaining(['metrics.json', 'predictions.jsonl', 'model']));

    const second = await runOnce(store);
    expect(second.metrics['test.macroF1']).toBe(first.metrics['test.macroF1']);
    expect(second.metrics['test.microF1']).toBe(first.metrics['test.microF1']);
  });
});

describe('evaluateSaved', () => {
  it('re-evaluates a saved run with overrides and logs a new run that points at it', async () => {
    const { evaluateSaved } = await import('./saved.js');
    const dir = mkdtempSync(join(tmpdir(), 'cascade-eval-'));
    const config = join(dir, 'exp.yaml');
    writeFileSync(config, `name: pop\nseed: 1\nbackend: cpu\ndataset: { name: irvine }\nmodel: { name: popularity }\nevaluation: { simulations: 20, maxTestCascades: 5 }\ntracking: { outputsDir: ${join(dir, 'outputs')} }\n`);
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const tracker = new LocalTracker({ root: join(dir, 'runs') });
    const trained = await runExperiment(loadExperiment(config, registry), { logger: new MemoryLogger(), progress: quietProgress, tracker, signal: new AbortController().signal });
    const again = await evaluateSaved(trained.outputDir, { registry, logger: new MemoryLogger(), progress: quietProgress, tracker, overrides: ['evaluation.maxTestCascades=8'], signal: new AbortController().signal });
    expect(again.metrics['test.cascades']).toBe(8);
    const store = new LocalStore(join(dir, 'runs'));
    expect(store.readTags(again.runId)['cascade.evaluationOf']).toBe(trained.runId);
    // The local run folder works as well as the outputs folder.
    const fromStore = await evaluateSaved(join(dir, 'runs', trained.runId), { registry, logger: new MemoryLogger(), progress: quietProgress, tracker, signal: new AbortController().signal });
    expect(fromStore.metrics['test.cascades']).toBe(5);
    await expect(evaluateSaved(dir, { registry, logger: new MemoryLogger(), progress: quietProgress, tracker })).rejects.toThrow(/holds no saved run/);
  });
});
