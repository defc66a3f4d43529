/**
 * Sweeps and reports against a REAL MLflow server (never a mock): the popularity sweep checked run
 * by run through MLflow's REST API (nesting, names, tags, artifacts, resume), then the repository's
 * NDM sensitivity sweep (configs/sweeps/ndm-sensitivity.yaml) and GammaCas ablation sweep
 * (configs/sweeps/gammacas-ablation.yaml) end to end through the CLI, scaled down with --seeds and
 * --set (one epoch, a few test cascades), and `cascade report` on each in the NDM paper's Table 2
 * layout.
 *
 * Server: `$MLFLOW_TEST_URI` when set (CI: `.ci/mlflow-server.sh start`), otherwise an `mlflow
 * server` this suite starts with the tracking package's test helper. Each run of the suite logs
 * to experiments of its own (a random suffix), so an external server can be reused.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer, MemoryLogger, PluginRegistry, Rng } from '@cascade-lab/core';
import { writeJsonl } from '@cascade-lab/data';
import { generateContentCascades } from '@cascade-lab/simulation';
import { MlflowClient, type MlflowRunRecord } from '@cascade-lab/tracking';
import { MlflowTestServer, mlflowVersion } from '@cascade-lab/tracking/testing';
import { runCli as cli } from '../cli.test-util.js';
import { pluginModules } from '../plugin-modules.js';
import { SWEEP_TAGS } from '../report/runs.js';
import { loadSweep } from './config.js';
import { createSweepDisplay } from './display.js';
import { runSweep } from './run-sweep.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../../../..');
process.env.CASCADE_DATA_DIR ??= resolve(repoRoot, '../shared/data');
const externalUri = process.env.MLFLOW_TEST_URI?.replace(/\/+$/, '');
const runnable = externalUri !== undefined || mlflowVersion() !== undefined;
if (!runnable) {
  if (process.env.CI) throw new Error('the sweep/report MLflow suite needs `mlflow` on PATH or MLFLOW_TEST_URI (pip install mlflow==3.17.2)');
  console.warn('[experiment-runner] sweep/report MLflow suite SKIPPED: no `mlflow` executable and MLFLOW_TEST_URI is not set (pip install mlflow==3.17.2).');
}
const suite = runnable ? describe : describe.skip;
const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const tags = (r: MlflowRunRecord) => Object.fromEntries((r.data.tags ?? []).map((t) => [t.key, t.value]));


const parentIdOf = (stdout: string): string => {
  const m = /parent run: \S*\/runs\/([0-9a-f]+)/.exec(stdout);
  if (!m) throw new Error(`no parent run in the output:\n${stdout}`);
  return m[1];
};

suite('sweeps and reports against a real MLflow server', () => {
  let uri: string;
  let owned: MlflowTestServer | undefined;
  let client: MlflowClient;
  const work = mkdtempSync(join(tmpdir(), 'cascade-sweep-mlflow-'));

  beforeAll(async () => {
    if (externalUri) uri = externalUri;
    else {
      owned = await MlflowTestServer.start();
      uri = owned.uri;
    }
    client = new MlflowClient({ trackingUri: uri });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await owned?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('nests trials under one parent run (names, tags, sweep file and trial table as artifacts) and resumes from MLflow', async () => {
    const experiment = `sweep-it-${suffix}`;
    writeFileSync(
      join(work, 'pop.yaml'),
      ['name: pop', 'seed: 1', 'backend: cpu', 'dataset: { name: irvine }', 'model: { name: popularity }', 'evaluation: { simulations: 10, maxTestCascades: 5 }', `tracking: { experiment: ${experiment}, outputsDir: ${join(work, 'outputs')} }`, ''].join('\n'),
    );
    const file = join(work, 'pop-sweep.yaml');
    writeFileSync(file, 'name: pop-grid\nbase: pop.yaml\nsweep:\n  grid: { model.hyperparameters.smoothing: [0, 2] }\n  seeds: [1, 2]\n');
    const registry = createContainer(pluginModules).get(PluginRegistry);
    const outcome = await runSweep(loadSweep(file, registry), { logger: new MemoryLogger(), display: createSweepDisplay({ mode: 'quiet' }), workers: 2, trackingUri: uri });
    expect(outcome.rows.map((r) => r.state)).toEqual(['FINISHED', 'FINISHED', 'FINISHED', 'FINISHED']);

    const parent = await client.getRun(outcome.parentRunId);
    expect(parent.info.status).toBe('FINISHED');
    expect(parent.info.run_name).toBe('pop-grid');
    expect(tags(parent)).toMatchObject({ [SWEEP_TAGS.sweep]: 'pop-grid', [SWEEP_TAGS.role]: 'parent' });
    const artifacts = (await client.listArtifacts(parent.info.artifact_uri!)).map((a) => a.path).sort();
    expect(artifacts).toEqual(['sweep.yaml', 'trials.json', 'trials.md']);
    expect((await client.downloadArtifact(parent.info.artifact_uri!, 'sweep.yaml')).toString()).toBe(readFileSync(file, 'utf8'));
    const table = JSON.parse((await client.downloadArtifact(parent.info.artifact_uri!, 'trials.json')).toString()) as { state: string; runId: string }[];
    expect(table.map((r) => r.state)).toEqual(['FINISHED', 'FINISHED', 'FINISHED', 'FINISHED']);

    const experimentId = parent.info.experiment_id;
    const children = await client.searchAllRuns({ experimentIds: [experimentId], filter: `tags.\`mlflow.parentRunId\` = '${outcome.parentRunId}'` });
    expect(children.map((c) => c.info.run_name).sort()).toEqual(['pop-grid: smoothing=0 seed=1', 'pop-grid: smoothing=0 seed=2', 'pop-grid: smoothing=2 seed=1', 'pop-grid: smoothing=2 seed=2']);
    expect(children.every((c) => c.info.status === 'FINISHED')).toBe(true);
    expect(new Set(children.map((c) => c.info.run_id))).toEqual(new Set(table.map((r) => r.runId)));
    const child = children.find((c) => c.info.run_name === 'pop-grid: smoothing=2 seed=2')!;
    expect(tags(child)).toMatchObject({ [SWEEP_TAGS.trialLabel]: 'smoothing=2', 'cascade.seed': '2' });
    // The trial's identity is the hash of its resolved config, the run's `cascade.configHash`.
    expect(tags(child)['cascade.configHash'].slice(0, 12)).toBe(tags(child)[SWEEP_TAGS.trialHash].slice(0, 12));
    expect((child.data.metrics ?? []).map((m) => m.key)).toContain('test.macroF1');

    // Rerun: every trial already FINISHED in MLflow is skipped; a new parent lists them.
    const again = await runSweep(loadSweep(file, registry), { logger: new MemoryLogger(), display: createSweepDisplay({ mode: 'quiet' }), workers: 2, trackingUri: uri });
    expect(again.skipped).toBe(4);
    expect(again.ran).toBe(0);
    const all = await client.searchAllRuns({ experimentIds: [experimentId], filter: `tags.\`${SWEEP_TAGS.role}\` = 'trial'` });
    expect(all).toHaveLength(4);

    // The report reads the sweep back from MLflow through its parent run.
    const report = await cli('report', '--parent', again.parentRunId, '--tracking-uri', uri, '--quiet');
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/^## Sweep pop-grid$/m);
    expect(report.stdout).toMatch(/^\| smoothing=0 \| .* ± .* \|$/m);
    expect(report.stdout).toMatch(/^\| smoothing=2 \| /m);
  }, 300_000);

  it('runs the NDM sensitivity sweep (configs/sweeps/ndm-sensitivity.yaml) end to end and reports it in the Table 2 layout', async () => {
    const out = join(work, 'ndm-report');
    const sweep = await cli(
      'sweep', join(repoRoot, 'configs/sweeps/ndm-sensitivity.yaml'),
      '--tracking-uri', uri, '--seeds', '1', '--workers', '2', '--quiet',
      '--set', `tracking.experiment=ndm-sensitivity-${suffix}`,
      '--set', `tracking.outputsDir=${join(work, 'outputs')}`,
      '--set', 'model.hyperparameters.maxEpochs=1',
      '--set', 'evaluation.simulations=5',
      '--set', 'evaluation.maxTestCascades=5',
    );
    if (sweep.code !== 0) throw new Error(`cascade sweep exited with ${sweep.code}:\n${sweep.stdout}\n${sweep.stderr}`);
    expect(sweep.stdout).toMatch(/sweep: 13 finished now, 0 skipped \(finished earlier\), 0 failed or killed/);
    const parentId = parentIdOf(sweep.stdout);
    const children = await client.searchAllRuns({ experimentIds: [(await client.getRun(parentId)).info.experiment_id], filter: `tags.\`mlflow.parentRunId\` = '${parentId}'` });
    expect(children).toHaveLength(13);
    const finit = children.find((c) => c.info.run_name === 'ndm-sensitivity: initialUser=true seed=1')!;
    expect(Object.fromEntries((finit.data.params ?? []).map((p) => [p.key, p.value]))).toMatchObject({ 'model.hyperparameters.initialUser': 'true', 'model.hyperparameters.heads': '8', 'dataset.name': 'irvine' });

    const report = await cli('report', '--parent', parentId, '--tracking-uri', uri, '--layout', 'paper', '--ours', 'base', '--metrics', 'test.macroF1,test.microF1', '--out', out, '--quiet');
    expect(report.code).toBe(0);
    const rows = report.stdout.split('\n').filter((l) => l.startsWith('|'));
    expect(rows[0]).toBe('| Metric | Dataset | heads=1 | heads=2 | heads=4 | heads=16 | window=1 | window=2 | window=4 | window=5 | dimension=16 | dimension=32 | dimension=128 | initialUser=true | base | Improvement |');
    expect(rows[2]).toMatch(/^\| Macro-F1 \| Irvine \|( \**[0-9.]+\** \|){13} [+-]\d+% \|$/);
    expect(rows[3]).toMatch(/^\| Micro-F1 \| Irvine \|( \**[0-9.]+\** \|){13} [+-]\d+% \|$/);
    const plots = ['heads', 'window', 'dimension', 'initialUser'].map((p) => join(out, 'plots', `model.hyperparameters.${p}.png`));
    for (const p of plots) expect(readFileSync(p).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/<figcaption>model\.hyperparameters\.dimension<\/figcaption><svg/);
  }, 600_000);

  it('runs the GammaCas ablation sweep (configs/sweeps/gammacas-ablation.yaml) end to end and reports full against the ablations', async () => {
    // The sweep's data: the synthetic text-and-news cascades of plugins/gammacas/scripts/make-synthetic.ts
    // (same generator settings), fewer of them.
    const data = join(work, 'gammacas-content');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'cascades.jsonl'), writeJsonl(generateContentCascades({ numCascades: 200, rng: Rng.fromSeed(2021), horizonHours: 360 }).cascades));
    const sweep = await cli(
      'sweep', join(repoRoot, 'configs/sweeps/gammacas-ablation.yaml'),
      '--tracking-uri', uri, '--seeds', '1', '--workers', '2', '--quiet',
      '--set', `tracking.experiment=gammacas-ablation-${suffix}`,
      '--set', `tracking.outputsDir=${join(work, 'outputs')}`,
      '--set', `dataset.path=${data}`,
      '--set', 'model.hyperparameters.epochs=1',
      '--set', 'model.hyperparameters.embeddingDim=16',
    );
    if (sweep.code !== 0) throw new Error(`cascade sweep exited with ${sweep.code}:\n${sweep.stdout}\n${sweep.stderr}`);
    expect(sweep.stdout).toMatch(/sweep: 4 finished now, 0 skipped \(finished earlier\), 0 failed or killed/);
    const report = await cli('report', '--parent', parentIdOf(sweep.stdout), '--tracking-uri', uri, '--layout', 'paper', '--ours', 'full', '--metrics', 'test.h24.mape,test.h24.kendallTau', '--quiet');
    expect(report.code).toBe(0);
    const rows = report.stdout.split('\n').filter((l) => l.startsWith('|'));
    expect(rows[0]).toBe('| Metric | Dataset | -text | -CO | -LSTM | full | Improvement |');
    expect(rows[2]).toMatch(/^\| MAPE 24 h \| Gammacas-content \|( \**[0-9.]+\** \|){4} [+-]\d+% \|$/);
    expect(rows[3]).toMatch(/^\| Kendall τ 24 h \| Gammacas-content \|( \**-?[0-9.]+\** \|){4} [+-]\d+% \|$/);
  }, 600_000);
});
