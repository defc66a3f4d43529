/**
 * The comparison tables end to end at CI size (issue 19): the CI variants of both sweeps
 * (configs/sweeps/ndm-table2-ci.yaml, configs/sweeps/macro-comparison-ci.yaml: 1 seed, 30
 * simulations, 2 NDM epochs, 3 GammaCas epochs, the models that exist) through `cascade sweep`,
 * then `cascade report --layout comparison` on each parent run: the tables with intervals and
 * p-values, the CSVs, the PNG plots, all logged to the parent run.
 *
 * Tracking: the MLflow server at `$MLFLOW_TEST_URI` when set (CI: `.ci/mlflow-server.sh start`),
 * otherwise the local run store in a temporary folder. About a minute on two cores.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowClient } from '@cascade-lab/tracking';
import { runCli as cli } from '../cli.test-util.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../../../..');
process.env.CASCADE_DATA_DIR ??= resolve(repoRoot, '../shared/data');
const uri = process.env.MLFLOW_TEST_URI?.replace(/\/+$/, '');
const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

describe(`comparison tables end to end (${uri ? `MLflow ${uri}` : 'local store'})`, () => {
  const work = mkdtempSync(join(tmpdir(), 'cascade-tables-'));
  const runsDir = join(work, 'runs');
  const where = uri ? ['--tracking-uri', uri] : ['--runs-dir', runsDir];
  const client = uri ? new MlflowClient({ trackingUri: uri }) : undefined;
  afterAll(() => {
    client?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function sweep(file: string, experiment: string): Promise<string> {
    const res = await cli(
      'sweep', join(repoRoot, 'configs/sweeps', file), '--workers', '1', '--quiet',
      ...(uri ? ['--tracking-uri', uri] : ['--set', `tracking.runsDir=${runsDir}`]),
      '--set', `tracking.experiment=${experiment}-${suffix}`,
      '--set', `tracking.outputsDir=${join(work, 'outputs')}`,
    );
    if (res.code !== 0) throw new Error(`cascade sweep exited with ${res.code}:\n${res.stdout}\n${res.stderr}`);
    const m = /parent run: (\S+)/.exec(res.stdout);
    if (!m) throw new Error(`no parent run in:\n${res.stdout}`);
    return uri ? /\/runs\/([0-9a-f]+)/.exec(m[1])![1] : basename(m[1]);
  }

  async function parentArtifacts(parent: string): Promise<string[]> {
    if (!client) return ['comparison.md', 'comparison.csv'].filter((f) => existsSync(join(runsDir, parent, 'artifacts', 'report', f)));
    const run = await client.getRun(parent);
    return (await client.listArtifacts(run.info.artifact_uri ?? '', 'report')).map((a) => a.path.replace(/^report\//, ''));
  }

  it('ndm-table2-ci: sweep, then the Table 2/3 layout with intervals, p-values and the paper values', async () => {
    const parent = await sweep('ndm-table2-ci.yaml', 'ndm-table2-ci');
    const out = join(work, 'micro-report');
    const report = await cli('report', '--parent', parent, ...where, '--layout', 'comparison', '--out', out, '--quiet');
    if (report.code !== 0) throw new Error(`cascade report exited with ${report.code}:\n${report.stdout}\n${report.stderr}`);
    const md = report.stdout;
    expect(md).toMatch(/^\| dataset \| netrate \| infopath \| ndm \| ndm vs best baseline \| paper \| order \|$/m);
    // one row per dataset and metric: a best model in bold, intervals, p-values of the others, the paper's value
    const rows = md.split('\n').filter((l) => l.startsWith('| irvine |') && l.includes('['));
    expect(rows.length).toBe(4);
    for (const row of rows) {
      expect(row).toMatch(/\*\*0\.\d{3}\*\*/);
      expect(row.match(/\[\d\.\d{3}, \d\.\d{3}\]/g)).toHaveLength(3);
      expect(row.match(/p(=|<)0\.\d{3}/g)).toHaveLength(2);
      expect(row.match(/\(paper 0\.\d{3}\)/g)).toHaveLength(3);
    }
    expect(md).toMatch(/^\| irvine \| ndm \| \d\.\d{4} \| \d\.\d{4} \|$/m); // F1 at 10 and 30 simulations
    for (const f of ['comparison.md', 'comparison.csv', 'simulations.csv', 'plots/f1-by-model.png', 'plots/f1-against-simulations.png']) expect(existsSync(join(out, f))).toBe(true);
    expect(readFileSync(join(out, 'plots/f1-by-model.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(await parentArtifacts(parent)).toEqual(expect.arrayContaining(['comparison.md', 'comparison.csv']));
  }, 240_000);

  it('macro-comparison-ci: sweep, then MAPE / tau / rho at every horizon with the observed-size and mean-log-growth baselines and the plots', async () => {
    const parent = await sweep('macro-comparison-ci.yaml', 'macro-comparison-ci');
    const out = join(work, 'macro-report');
    const report = await cli('report', '--parent', parent, ...where, '--layout', 'comparison', '--out', out, '--quiet');
    if (report.code !== 0) throw new Error(`cascade report exited with ${report.code}:\n${report.stdout}\n${report.stderr}`);
    expect(report.stdout).toMatch(/^\| dataset @ horizon \| observed-size \| mean-log-growth \| hawkes \| seismic \| gammacas-co \|$/m);
    for (const h of [12, 18, 24]) expect(report.stdout).toMatch(new RegExp(`^\\| weibo-sample @ ${h} h \\| `, 'm'));
    for (const kind of ['mape', 'kendallTau', 'spearmanRho']) expect(existsSync(join(out, `plots/${kind}-against-horizon.png`))).toBe(true);
    expect(await parentArtifacts(parent)).toEqual(expect.arrayContaining(['comparison.md', 'comparison.csv']));
  }, 240_000);
});
