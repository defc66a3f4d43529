/**
 * `runSweep` end to end with real trial processes (popularity baseline on Irvine, a few simulations)
 * and the local run store: nesting, tags, run names, the trial table, a failing trial that does not
 * stop the others, and a rerun that skips finished trials and retries the failed one.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer, MemoryLogger, PluginRegistry } from '@cascade-lab/core';
import { LocalStore } from '@cascade-lab/tracking';
import { pluginModules } from '../plugin-modules.js';
import { SWEEP_TAGS } from '../report/runs.js';
import { loadSweep } from './config.js';
import { createSweepDisplay } from './display.js';
import { runSweep, SweepCancelledError, SweepFailedError, type SweepOutcome } from './run-sweep.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
process.env.CASCADE_DATA_DIR ??= resolve(repoRoot, '../shared/data');

const registry = createContainer(pluginModules).get(PluginRegistry);

function memoryStream(): NodeJS.WriteStream & { text: string } {
  const s = { text: '', isTTY: false, write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('runSweep (trial processes, local store)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cascade-sweep-run-'));
  const runs = join(dir, 'runs');
  // A regular file where a trial's outputs folder should go: that trial fails inside its run.
  const blocker = join(dir, 'blocker');
  writeFileSync(blocker, 'not a folder\n');
  writeFileSync(
    join(dir, 'base.yaml'),
    ['name: pop', 'seed: 1', 'backend: cpu', 'dataset: { name: irvine }', 'model: { name: popularity }', 'evaluation: { simulations: 10, maxTestCascades: 5 }', `tracking: { experiment: sweep-test, runsDir: ${runs}, outputsDir: ${join(dir, 'outputs')} }`, ''].join('\n'),
  );
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    [
      'name: pop-study',
      'description: smoothing of the popularity baseline',
      'base: base.yaml',
      'sweep:',
      '  list:',
      '    - { label: base, set: {} }',
      '    - { model.hyperparameters.smoothing: 1 }',
      `    - { label: broken, set: { tracking.outputsDir: ${join(blocker, 'outputs')} } }`,
      '',
    ].join('\n'),
  );

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs trials in parallel under one parent, lists the failure, and a rerun retries only what did not finish', async () => {
    const sweep = loadSweep(file, registry);
    expect(sweep.trials.map((t) => t.label)).toEqual(['base', 'smoothing=1', 'broken']);
    const stream = memoryStream();
    const first = await runSweep(sweep, { logger: new MemoryLogger(), display: createSweepDisplay({ mode: 'lines', stream }), workers: 2 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(first).toBeInstanceOf(SweepFailedError);
    const outcome: SweepOutcome = (first as SweepFailedError).outcome;
    expect((first as SweepFailedError).code).toBe('TRIALS_FAILED');
    expect(outcome.rows.map((r) => r.state)).toEqual(['FINISHED', 'FINISHED', 'FAILED']);
    expect(outcome.failed.map((r) => r.label)).toEqual(['broken']);
    expect(outcome.failed[0].error).toMatch(/ENOTDIR|not a directory/);
    expect(stream.text).toMatch(/\[1\/3 trials\] /);
    expect(stream.text).toMatch(/broken seed=1: FAILED after/);

    const store = new LocalStore(runs);
    const parent = store.readMeta(outcome.parentRunId);
    expect(parent.status).toBe('FAILED');
    expect(store.readTags(outcome.parentRunId)).toMatchObject({ [SWEEP_TAGS.sweep]: 'pop-study', [SWEEP_TAGS.role]: 'parent', 'cascade.sweep.failed': '1' });
    expect(readFileSync(join(store.artifactsDir(outcome.parentRunId), 'sweep.yaml'), 'utf8')).toBe(readFileSync(file, 'utf8'));
    const table = JSON.parse(readFileSync(join(store.artifactsDir(outcome.parentRunId), 'trials.json'), 'utf8'));
    expect(table.map((r: { state: string }) => r.state)).toEqual(['FINISHED', 'FINISHED', 'FAILED']);
    expect(readFileSync(join(store.artifactsDir(outcome.parentRunId), 'trials.md'), 'utf8')).toMatch(/## Failures\n\n- #2 broken seed=1 \(FAILED\)/);

    // The broken trial's output folder is under a regular file: refused before its run was opened
    // (issue 21: no FAILED run left behind), so only the two good trials have runs.
    const children = store.listRuns().filter((m) => m.parentRunId === outcome.parentRunId);
    expect(children.map((c) => c.name).sort()).toEqual(['pop-study: base seed=1', 'pop-study: smoothing=1 seed=1']);
    expect(outcome.failed[0].error).toMatch(/tracking\.outputsDir .* cannot be used: .* is a file, not a directory/);
    const smooth = children.find((c) => c.name.includes('smoothing=1'))!;
    expect(store.readTags(smooth.runId)).toMatchObject({
      'mlflow.parentRunId': outcome.parentRunId,
      [SWEEP_TAGS.trialLabel]: 'smoothing=1',
      [SWEEP_TAGS.trialOverrides]: '{"model.hyperparameters.smoothing":1}',
      [SWEEP_TAGS.trialHash]: sweep.trials[1].hash,
    });
    expect(store.readParams(smooth.runId)['model.hyperparameters.smoothing']).toBe('1');

    // The cause goes away; the rerun skips the two finished trials and runs the failed one again.
    rmSync(blocker);
    mkdirSync(blocker);
    const second = await runSweep(loadSweep(file, registry), { logger: new MemoryLogger(), display: createSweepDisplay({ mode: 'quiet' }), workers: 2 });
    expect(second.skipped).toBe(2);
    expect(second.ran).toBe(1);
    expect(second.rows.map((r) => r.state)).toEqual(['skipped', 'skipped', 'FINISHED']);
    expect(second.rows[0].metrics?.['test.macroF1']).toBe(outcome.rows[0].metrics?.['test.macroF1']);
    expect(store.readMeta(second.parentRunId).status).toBe('FINISHED');
    const trialRuns = store.listRuns().filter((m) => store.readTags(m.runId)[SWEEP_TAGS.role] === 'trial');
    const finishedByHash = new Map<string, number>();
    for (const m of trialRuns.filter((r) => r.status === 'FINISHED')) {
      const h = store.readTags(m.runId)[SWEEP_TAGS.trialHash];
      finishedByHash.set(h, (finishedByHash.get(h) ?? 0) + 1);
    }
    expect([...finishedByHash.values()]).toEqual([1, 1, 1]);
    expect(trialRuns).toHaveLength(3); // the refused attempt opened no run

    // Only execution settings differ (how to compute, not what): same trial hashes, nothing re-runs.
    const base = readFileSync(join(dir, 'base.yaml'), 'utf8');
    writeFileSync(join(dir, 'base.yaml'), base + 'execution: { workers: 1, batchRows: 64, gradients: tape }\n');
    const third = await runSweep(loadSweep(file, registry), { logger: new MemoryLogger(), display: createSweepDisplay({ mode: 'quiet' }), workers: 2 });
    writeFileSync(join(dir, 'base.yaml'), base);
    expect([third.skipped, third.ran]).toEqual([3, 0]);
    expect(store.listRuns().filter((m) => store.readTags(m.runId)[SWEEP_TAGS.role] === 'trial')).toHaveLength(3);
  });

  it('cancelled: trial processes that do not stop in time are killed and the sweep closes their runs KILLED', async () => {
    const store = new LocalStore(join(dir, 'runs-cancel'));
    writeFileSync(
      join(dir, 'slow.yaml'),
      ['name: pop', 'seed: 1', 'backend: cpu', 'dataset: { name: irvine }', 'model: { name: popularity }', 'evaluation: { simulations: 5000 }', `tracking: { experiment: sweep-cancel, runsDir: ${store.root}, outputsDir: ${join(dir, 'outputs')} }`, ''].join('\n'),
    );
    const file = join(dir, 'slow-sweep.yaml');
    writeFileSync(file, 'name: pop-slow\nbase: slow.yaml\nsweep:\n  seeds: [1, 2, 3]\n');
    const controller = new AbortController();
    const running = runSweep(loadSweep(file, registry), { logger: new MemoryLogger(), display: createSweepDisplay({ mode: 'quiet' }), workers: 1, signal: controller.signal, graceMs: 0 });
    const trialRuns = () => store.listRuns().filter((m) => store.readTags(m.runId)[SWEEP_TAGS.role] === 'trial');
    const end = Date.now() + 60_000;
    while (!trialRuns().some((m) => m.status === 'RUNNING') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    controller.abort('test');
    const error = await running.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SweepCancelledError);
    const outcome = (error as SweepCancelledError).outcome;
    // One worker: the 2nd and 3rd trials never started, so they are not run, not KILLED (issue 21).
    expect(outcome.rows.map((r) => r.state)).toEqual(['KILLED', 'not run', 'not run']);
    // The first trial's run was open when its process was killed: the sweep closed it.
    const [run] = trialRuns();
    expect(run.status).toBe('KILLED');
    expect(store.readTags(run.runId)['cascade.error']).toMatch(/killed by SIGKILL before reporting a result/);
    expect(store.readMeta(outcome.parentRunId).status).toBe('KILLED');
    expect(trialRuns()).toHaveLength(1);
  });
});
