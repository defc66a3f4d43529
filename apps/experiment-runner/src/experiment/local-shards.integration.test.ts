/**
 * A microscopic evaluation in local child processes (issue 22), end to end: a small LSTM (an
 * `inProcessSimulation` plugin) on Irvine.
 * - `cascade run` with `execution.workers: 1` (one process, the in-memory model), then `cascade
 *   evaluate` of its saved model with `execution.workers: 2`: the same metrics (wall times aside)
 *   and byte-equal predictions.jsonl, so the merge of the 2 processes is the single-process
 *   evaluation; the config hash does not see execution.workers.
 * - a child that fails (a model folder it cannot load) is reported with its own message;
 * - an abort while the children simulate ends the evaluation CANCELLED, the children gone.
 */
import 'reflect-metadata';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CancelledError, CascadeError, createContainer, PluginRegistry, Rng, type Logger, type MicroscopicModel, type ProgressReporter } from '@cascade-lab/core';
import type { LoadedMicroscopicDataset } from '@cascade-lab/data';
import { cli, exitOf } from '../queue/cli-process.test-util.js';
import { pluginModules } from '../plugin-modules.js';
import { loadExperiment } from './config.js';
import { evaluateInProcesses } from './local-shards.js';
import { loadDataFor } from './run.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
process.env.CASCADE_DATA_DIR ??= resolve(repoRoot, '../shared/data');

function config(dir: string): string {
  const file = join(dir, 'lstm-small.yaml');
  writeFileSync(
    file,
    [
      'name: lstm-small',
      'seed: 5',
      'backend: cpu',
      'dataset: { name: irvine }',
      'model: { name: lstm, hyperparameters: { embeddingSize: 8, hiddenSize: 8, maxEpochs: 1, earlyStoppingMetric: none } }',
      'evaluation: { simulations: 30, maxTestCascades: 40 }',
      `tracking: { experiment: local-shards-test, runsDir: ${join(dir, 'runs')}, outputsDir: ${join(dir, 'outputs')} }`,
      '',
    ].join('\n'),
  );
  return file;
}

function outputsOf(text: string): string {
  const m = /^outputs: (.+)$/m.exec(text);
  if (!m) throw new Error(`no outputs line in:\n${text}`);
  return m[1].trim();
}

/** metrics.json less the wall-clock times (the only numbers that may differ). */
function metricsOf(outputDir: string): Record<string, unknown> {
  const all = JSON.parse(readFileSync(join(outputDir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(all).filter(([k]) => !k.endsWith('.seconds')));
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

describe('evaluation in local processes (execution.workers)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cascade-local-shards-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = config(dir);

  it('2 processes give the metrics and the predictions of the single-process evaluation, byte for byte', async () => {
    const single = cli(['run', file, '--set', 'execution.workers=1', '--progress', 'lines'], dir);
    expect(await exitOf(single, 120_000)).toBe(0);
    const run = outputsOf(single.output());
    const two = cli(['evaluate', run, '--set', 'execution.workers=2', '--progress', 'lines'], dir);
    expect(await exitOf(two, 120_000)).toBe(0);
    expect(two.output()).toContain('merged from 2 local processes');
    expect(single.output()).not.toContain('local processes');
    const evaluated = outputsOf(two.output());
    expect(metricsOf(run)['test.cascades']).toBeGreaterThan(20);
    expect(metricsOf(evaluated)).toEqual(metricsOf(run));
    expect(readFileSync(join(evaluated, 'predictions.jsonl'), 'utf8')).toBe(readFileSync(join(run, 'predictions.jsonl'), 'utf8'));
  }, 300_000);

  describe('errors and cancellation', () => {
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const exp = loadExperiment(file, registry, ['evaluation.simulations=2000']);
    // The children's model is never this one: it only has to exist in this process (no edge scores).
    const here: MicroscopicModel = {
      simulate: () => Promise.reject(new Error('not simulated in the parent')),
      save: () => Promise.resolve(),
      dispose() {},
    };
    let data: LoadedMicroscopicDataset;
    beforeAll(async () => {
      data = (await loadDataFor(exp, silent, dir)) as LoadedMicroscopicDataset;
    });
    const base = () => ({ workers: 2, exp, data, model: here, rng: Rng.fromSeed(5).derive('evaluation'), baseDir: dir, logger: silent });

    it("a child's error is reported with its message", async () => {
      const empty = join(dir, 'no-model');
      mkdirSync(empty, { recursive: true });
      const quiet: ProgressReporter = { start: () => ({ tick() {}, status() {}, done() {} }) };
      const err = await evaluateInProcesses({ ...base(), modelDir: empty, progress: quiet, signal: new AbortController().signal }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CascadeError);
      // The LSTM's load names the file it could not read; the shard says which child failed.
      expect((err as Error).message).toMatch(/^evaluation shard [12] of 2 \(a child process\) failed: .*no-model/);
    }, 120_000);

    it('an abort stops the children and ends the evaluation cancelled', async () => {
      // A model to simulate: trained by the run of the first test (or trained here when run alone).
      const outputs = join(dir, 'outputs');
      let modelDir: string | undefined;
      try {
        const runs = readdirSync(outputs).filter((d) => d.startsWith('lstm-small-') && !d.includes('evaluation'));
        if (runs.length) modelDir = join(outputs, runs[0], 'model');
      } catch {
        // no run yet
      }
      if (!modelDir) {
        const single = cli(['run', file, '--set', 'execution.workers=1'], dir);
        expect(await exitOf(single, 120_000)).toBe(0);
        modelDir = join(outputsOf(single.output()), 'model');
      }
      const controller = new AbortController();
      // Ctrl-C once the children have loaded the data (each says so): before any shard can have
      // simulated its 20 cascades x 2000.
      let loaded = 0;
      const logger: Logger = { ...silent, debug: (m) => void (/dataset /.test(m) && ++loaded >= 2 && controller.abort('interrupted by SIGINT')) };
      let simulated = 0;
      const progress: ProgressReporter = { start: () => ({ tick: (n = 1) => void (simulated += n), status() {}, done() {} }) };
      const err = await evaluateInProcesses({ ...base(), logger, modelDir, progress, signal: controller.signal, graceMs: 20_000 }).catch((e: unknown) => e);
      expect(loaded).toBeGreaterThanOrEqual(2);
      expect(err).toBeInstanceOf(CancelledError);
      // The children stopped before any shard had simulated its cascades.
      expect(simulated).toBe(0);
    }, 180_000);
  });
});
