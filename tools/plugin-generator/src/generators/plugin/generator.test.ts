/**
 * The plugin generator, end to end in a temporary copy of this workspace (sources and built
 * `dist/` folders; `node_modules` linked, not copied): `nx g @cascade-lab/tools:plugin` (the command
 * users run) creates a microscopic plugin, the generator function a macroscopic one; then in the
 * copy the generated plugins' own tests pass (the conformance kit included), they compile with
 * `tsc -b`, and the runner validates and runs their example configs.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTree } from '@nx/devkit/testing';
import { FsTree, flushChanges } from 'nx/src/generators/tree.js';
import { pluginGenerator, registerInRunner, templateNames, RUNNER } from './generator.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '../../../../..');
const SKIP = new Set(['.git', '.nx', 'node_modules', 'test-output', 'runs', 'outputs', '.cascade', 'coverage']);

/** A copy of the workspace in a temp folder, every node_modules folder a link to the original. */
function copyWorkspace(): string {
  const dest = mkdtempSync(join(tmpdir(), 'cascade-generator-'));
  const links: string[] = [];
  cpSync(repo, dest, {
    recursive: true,
    filter: (src) => {
      const rel = relative(repo, src);
      const base = rel.split(sep).pop() ?? '';
      if (base === 'node_modules') links.push(rel);
      return rel === '' || !SKIP.has(base);
    },
  });
  for (const rel of links) symlinkSync(join(repo, rel), join(dest, rel), 'dir');
  return dest;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' }, timeout: 170_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}${r.signal ? ` (${r.signal})` : ''}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe('nx g @cascade-lab/tools:plugin', () => {
  let ws: string;
  const data = process.env.CASCADE_DATA_DIR ?? resolve(repo, '../shared/data');

  beforeAll(() => {
    // `nx g` loads the compiled generator (dist/) of this package from the workspace's node_modules.
    run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-b', 'tools/plugin-generator'], repo);
    ws = copyWorkspace();
  }, 180_000);
  afterAll(() => {
    if (ws) rmSync(ws, { recursive: true, force: true });
  });

  it('generates wired, working plugins whose tests pass out of the box', async () => {
    // 1. The command users run: a microscopic plugin.
    const nx = run(process.execPath, [join(ws, 'node_modules/nx/bin/nx.js'), 'g', '@cascade-lab/tools:plugin', 'first-order', '--task', 'microscopic', '--skipInstall'], ws);
    expect(nx.stdout).toMatch(/CREATE plugins\/first-order\/src\/plugin\.ts/);
    expect(nx.stdout).toMatch(/UPDATE apps\/experiment-runner\/src\/plugin-modules\.ts/);

    // 2. The generator function on the workspace folder: a macroscopic plugin.
    const tree = new FsTree(ws, false);
    await pluginGenerator(tree, { name: 'log-growth', task: 'macroscopic', skipInstall: true });
    flushChanges(ws, tree.listChanges());

    for (const name of ['first-order', 'log-growth']) {
      const files = readdirSync(join(ws, 'plugins', name), { recursive: true }).map(String).filter((f) => !f.startsWith('dist')).sort();
      expect(files).toEqual(['README.md', 'jest.config.cjs', 'package.json', 'src', join('src', 'index.ts'), join('src', 'model.ts'), join('src', 'plugin.test.ts'), join('src', 'plugin.ts'), 'tsconfig.json']);
      expect(existsSync(join(ws, 'configs/experiments', `${name}-example.yaml`))).toBe(true);
    }
    const modules = readFileSync(join(ws, RUNNER.pluginModules), 'utf8');
    expect(modules).toMatch(/^import \{ firstOrderModule \} from '@cascade-lab\/plugin-first-order';$/m);
    expect(modules).toMatch(/^import \{ logGrowthModule \} from '@cascade-lab\/plugin-log-growth';$/m);
    expect(modules).toMatch(/, firstOrderModule, logGrowthModule\];/);
    const runnerPkg = JSON.parse(readFileSync(join(ws, RUNNER.packageJson), 'utf8'));
    expect(runnerPkg.dependencies).toMatchObject({ '@cascade-lab/plugin-first-order': '0.1.0', '@cascade-lab/plugin-log-growth': '0.1.0' });
    const refs = (f: string) => (JSON.parse(readFileSync(join(ws, f), 'utf8')).references as { path: string }[]).map((r) => r.path);
    expect(refs(RUNNER.tsconfig)).toEqual(expect.arrayContaining(['../../plugins/first-order', '../../plugins/log-growth']));
    const build = refs('tsconfig.build.json');
    expect(build.indexOf('plugins/log-growth')).toBeLessThan(build.indexOf('apps/experiment-runner'));

    // 3. The generated tests (conformance kit + the models' own checks) pass in the copy.
    const jest = run(process.execPath, ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', join(ws, 'node_modules/jest/bin/jest.js'), '--verbose', 'plugins/first-order', 'plugins/log-growth'], ws);
    expect(jest.stderr).toMatch(/Tests: +\d+ passed, \d+ total/);
    expect(jest.stderr).toMatch(/plugin conformance: first-order \(microscopic\)/);
    expect(jest.stderr).toMatch(/✓ leaves no tensor behind/);
    expect(jest.stderr).not.toMatch(/skipped|✕/);

    // 4. They compile (strict TypeScript, project references).
    run(process.execPath, [join(ws, 'node_modules/typescript/bin/tsc'), '-b', 'plugins/first-order', 'plugins/log-growth'], ws);

    // 5. The runner knows them: the example configs validate, and the microscopic one runs.
    const tsx = ['--import', `file://${join(ws, 'node_modules/tsx/dist/loader.mjs')}`, join(ws, 'apps/experiment-runner/src/main.ts')];
    const env = { TSX_TSCONFIG_PATH: join(ws, 'apps/experiment-runner/src/sweep/tsconfig.sources.json'), CASCADE_DATA_DIR: data };
    for (const name of ['first-order', 'log-growth']) {
      const v = run(process.execPath, [...tsx, 'validate', `configs/experiments/${name}-example.yaml`], ws, env);
      expect(v.stdout).toMatch(new RegExp(`^ok configs/experiments/${name}-example\\.yaml: model ${name} \\(`));
    }
    const r = run(process.execPath, [...tsx, 'run', 'configs/experiments/first-order-example.yaml', '--quiet', '--set', `tracking.runsDir=${join(ws, 'runs')}`, '--set', 'evaluation.simulations=20'], ws, env);
    expect(r.stdout).toMatch(/^first-order-example {2}Macro-F1 0\.\d{4} {2}Micro-F1 0\.\d{4}/m);
  }, 180_000);
});

describe('generator checks (in memory)', () => {
  function workspace() {
    const tree = createTree();
    tree.write(RUNNER.pluginModules, "import type { ContainerModule } from 'inversify';\nimport { aModule } from '@cascade-lab/plugin-a';\n\nexport const pluginModules: ContainerModule[] = [aModule];\n");
    tree.write(RUNNER.packageJson, JSON.stringify({ name: '@cascade-lab/experiment-runner', dependencies: {} }));
    tree.write(RUNNER.tsconfig, JSON.stringify({ references: [] }));
    tree.write('tsconfig.build.json', JSON.stringify({ files: [], references: [{ path: 'packages/core' }, { path: 'apps/experiment-runner' }] }));
    return tree;
  }

  it('refuses bad names, an existing folder, and a runner file of an unexpected shape', async () => {
    await expect(pluginGenerator(workspace(), { name: 'Bad_Name', task: 'microscopic', skipInstall: true })).rejects.toThrow(/use lower-case letters, digits and dashes/);
    await expect(pluginGenerator(workspace(), { name: 'x', task: 'mesoscopic' as never, skipInstall: true })).rejects.toThrow(/--task must be microscopic or macroscopic/);
    const existing = workspace();
    existing.write('plugins/a/package.json', '{}');
    await expect(pluginGenerator(existing, { name: 'a', task: 'microscopic', skipInstall: true })).rejects.toThrow(/plugins\/a already exists/);
    const odd = workspace();
    odd.write(RUNNER.pluginModules, 'export default [];\n');
    expect(() => registerInRunner(odd, templateNames('b'))).toThrow(/does not have the expected shape/);
  });

  it('appends to the runner list and puts the plugin before the runner in the build', async () => {
    const tree = workspace();
    await pluginGenerator(tree, { name: 'hawkes-exp', task: 'macroscopic', description: 'Hawkes "exp" kernel.', skipInstall: true });
    expect(tree.read(RUNNER.pluginModules, 'utf-8')).toBe(
      "import type { ContainerModule } from 'inversify';\nimport { aModule } from '@cascade-lab/plugin-a';\nimport { hawkesExpModule } from '@cascade-lab/plugin-hawkes-exp';\n\nexport const pluginModules: ContainerModule[] = [aModule, hawkesExpModule];\n",
    );
    expect(JSON.parse(tree.read('tsconfig.build.json', 'utf-8')!).references.map((r: { path: string }) => r.path)).toEqual(['packages/core', 'plugins/hawkes-exp', 'apps/experiment-runner']);
    // The description is escaped where it lands in JSON and TypeScript.
    expect(JSON.parse(tree.read('plugins/hawkes-exp/package.json', 'utf-8')!).description).toBe('Hawkes "exp" kernel.');
    expect(tree.read('plugins/hawkes-exp/src/plugin.ts', 'utf-8')).toContain("description: \"Hawkes \\\"exp\\\" kernel.\",");
  });
});
