/**
 * CLI consistency (issue 21, item 7): usage errors are usage errors (exit 2) with our message,
 * missing paths are called missing paths, a sweep's missing base names the sweep file and line,
 * `runs list` shows the task's headline metric, run.json records the final status and
 * `cascade evaluate` warns about a run that did not finish.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer, MemoryLogger, PluginRegistry, quietProgress } from '@cascade-lab/core';
import { LocalTracker } from '@cascade-lab/tracking';
import { runCli as run } from './cli.test-util.js';
import { loadExperiment } from './experiment/config.js';
import { runExperiment } from './experiment/run.js';
import { evaluateSaved } from './experiment/saved.js';
import { pluginModules } from './plugin-modules.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
process.env.CASCADE_DATA_DIR ??= resolve(repoRoot, '../shared/data');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cascade-cli-consistency-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('usage errors', () => {
  test('`cascade report` without a selector is a usage error (exit 2), not INTERNAL', async () => {
    const r = await run('report', '--runs-dir', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error \[USAGE\] say which runs to report on: --experiment, --parent or --sweep/m);
  });

  test.each([
    ['mlflow', /error \[USAGE\] name an mlflow command: sync/],
    ['runs', /error \[USAGE\] name a runs command: list/],
  ])('`cascade %s` without a subcommand says which ones exist', async (cmd, message) => {
    const r = await run(cmd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/Not enough non-option arguments/);
  });

  test('`datasets stats /nonexistent --format ndm` says the path does not exist', async () => {
    const r = await run('datasets', 'stats', '/nonexistent', '--format', 'ndm');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/path \/nonexistent does not exist/);
    expect(r.stderr).not.toMatch(/unknown dataset/);
  });

  test('a sweep whose base file is missing names the sweep file and line', async () => {
    const sweep = join(dir, 'sweep.yaml');
    writeFileSync(sweep, 'name: s\nbase: ./missing.yaml\nsweep:\n  grid: { seed: [1, 2] }\n');
    const r = await run('sweep', sweep);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${sweep}:2:1: base: ${join(dir, 'missing.yaml')} does not exist`);
  });
});

describe('runs, run.json and evaluate', () => {
  const registry = createContainer(pluginModules).get(PluginRegistry);
  let outputDir: string;
  const runs = () => join(dir, 'runs');

  beforeAll(async () => {
    const config = join(dir, 'exp.yaml');
    writeFileSync(
      config,
      ['name: consistency', 'seed: 3', 'backend: cpu', 'dataset: { name: irvine }', 'model: { name: popularity }', 'evaluation: { simulations: 20, maxTestCascades: 5 }', `tracking: { outputsDir: ${join(dir, 'outputs')} }`, ''].join('\n'),
    );
    const outcome = await runExperiment(loadExperiment(config, registry), { logger: new MemoryLogger(), progress: quietProgress, tracker: new LocalTracker({ root: runs() }), signal: new AbortController().signal });
    outputDir = outcome.outputDir;
  }, 120_000);

  test('`runs list` shows the task headline metric (test.macroF1 first), not the first keys by name', async () => {
    const r = await run('runs', 'list', '--dir', runs());
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toMatch(/ test\.macroF1=\S+ test\.microF1=\S+/);
  });

  test('run.json records the final status; evaluating a run that did not finish warns', async () => {
    const info = JSON.parse(readFileSync(join(outputDir, 'run.json'), 'utf8'));
    expect(info).toMatchObject({ status: 'FINISHED', endTime: expect.any(Number) });
    const quiet = new MemoryLogger();
    await evaluateSaved(outputDir, { registry, logger: quiet, progress: quietProgress, tracker: new LocalTracker({ root: runs() }), signal: new AbortController().signal });
    expect(quiet.lines.filter((l) => l.level === 'warn')).toEqual([]);

    writeFileSync(join(outputDir, 'run.json'), JSON.stringify({ ...info, status: 'KILLED' }));
    const logger = new MemoryLogger();
    await evaluateSaved(outputDir, { registry, logger, progress: quietProgress, tracker: new LocalTracker({ root: runs() }), signal: new AbortController().signal });
    expect(logger.lines.some((l) => l.level === 'warn' && /ended KILLED; its model was saved after training, but the run did not finish/.test(l.message))).toBe(true);
  }, 120_000);
});

describe('--json on run, evaluate, sweep, validate', () => {
  test('each prints one JSON document on stdout (logs on stderr)', async () => {
    const base = join(dir, 'json.yaml');
    writeFileSync(
      base,
      ['name: json', 'seed: 2', 'backend: cpu', 'dataset: { name: irvine }', 'model: { name: popularity }', 'evaluation: { simulations: 20, maxTestCascades: 5 }', `tracking: { runsDir: ${join(dir, 'json-runs')}, outputsDir: ${join(dir, 'json-out')} }`, ''].join('\n'),
    );
    const v = await run('validate', base, '--json');
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, model: 'popularity', task: 'microscopic', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const r = await run('run', base, '--json', '--quiet');
    expect(r.code).toBe(0);
    const ran = JSON.parse(r.stdout);
    expect(ran).toMatchObject({ status: 'FINISHED', runName: 'json', outputDir: expect.any(String), metrics: { 'test.cascades': 5 } });

    const e = await run('evaluate', ran.outputDir, '--json', '--quiet');
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ status: 'FINISHED', metrics: { 'test.cascades': 5 } });

    const sweep = join(dir, 'json-sweep.yaml');
    writeFileSync(sweep, 'name: js\nbase: ./json.yaml\nsweep:\n  seeds: [2, 3]\n');
    const s = await run('sweep', sweep, '--dry-run', '--json');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).trials.map((t: { seed: number }) => t.seed)).toEqual([2, 3]);
  }, 120_000);
});
