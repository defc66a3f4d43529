/**
 * The plugin generator, end to end in a temporary copy of this workspace (sources and built
 * `dist/` folders; `node_modules` linked, not copied): `nx g @cascade-lab/tools:plugin` (the command
 * users run) creates a plugin from the network-simulation template, the generator function one from
 * each of the two others (neural-next-user, closed-form-size); then in the copy the generated
 * plugins' own tests pass (the conformance kit included), they compile with `tsc -b`, and the
 * runner validates their example configs and runs the two microscopic ones.
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

  it('generates wired, working plugins from every template whose tests pass out of the box', async () => {
    // 1. The command users run: a network-plus-simulation plugin.
    const nx = run(process.execPath, [join(ws, 'node_modules/nx/bin/nx.js'), 'g', '@cascade-lab/tools:plugin', 'ic-freq', '--template', 'network-simulation', '--skipInstall'], ws);
    expect(nx.stdout).toMatch(/CREATE plugins\/ic-freq\/src\/plugin\.ts/);
    expect(nx.stdout).toMatch(/UPDATE apps\/experiment-runner\/src\/plugin-modules\.ts/);

    // 2. The generator function on the workspace folder: the two other templates.
    const tree = new FsTree(ws, false);
    await pluginGenerator(tree, { name: 'gru-next', template: 'neural-next-user', skipInstall: true });
    await pluginGenerator(tree, { name: 'log-growth', template: 'closed-form-size', skipInstall: true });
    flushChanges(ws, tree.listChanges());

    const names = ['ic-freq', 'gru-next', 'log-growth'];
    for (const name of names) {
      const files = readdirSync(join(ws, 'plugins', name), { recursive: true }).map(String).filter((f) => !f.startsWith('dist')).sort();
      expect(files).toEqual(['README.md', 'jest.config.cjs', 'package.json', 'src', join('src', 'index.ts'), join('src', 'model.ts'), join('src', 'plugin.test.ts'), join('src', 'plugin.ts'), 'tsconfig.json']);
      expect(existsSync(join(ws, 'configs/experiments', `${name}-example.yaml`))).toBe(true);
    }
    const modules = readFileSync(join(ws, RUNNER.pluginModules), 'utf8');
    expect(modules).toMatch(/^import \{ icFreqModule \} from '@cascade-lab\/plugin-ic-freq';$/m);
    expect(modules).toMatch(/^import \{ gruNextModule \} from '@cascade-lab\/plugin-gru-next';$/m);
    expect(modules).toMatch(/^import \{ logGrowthModule \} from '@cascade-lab\/plugin-log-growth';$/m);
    expect(modules).toMatch(/, icFreqModule, gruNextModule, logGrowthModule\];/);
    const runnerPkg = JSON.parse(readFileSync(join(ws, RUNNER.packageJson), 'utf8'));
    expect(runnerPkg.dependencies).toMatchObject({ '@cascade-lab/plugin-ic-freq': '0.1.0', '@cascade-lab/plugin-gru-next': '0.1.0', '@cascade-lab/plugin-log-growth': '0.1.0' });
    const refs = (f: string) => (JSON.parse(readFileSync(join(ws, f), 'utf8')).references as { path: string }[]).map((r) => r.path);
    expect(refs(RUNNER.tsconfig)).toEqual(expect.arrayContaining(names.map((n) => `../../plugins/${n}`)));
    const build = refs('tsconfig.build.json');
    for (const n of names) expect(build.indexOf(`plugins/${n}`)).toBeLessThan(build.indexOf('apps/experiment-runner'));

    // 3. The generated tests (conformance kit + the models' own checks) pass in the copy.
    const jest = run(process.execPath, ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', join(ws, 'node_modules/jest/bin/jest.js'), '--verbose', ...names.map((n) => `plugins/${n}`)], ws);
    expect(jest.stderr).toMatch(/Tests: +\d+ passed, \d+ total/);
    expect(jest.stderr).toMatch(/plugin conformance: ic-freq \(microscopic\)/);
    expect(jest.stderr).toMatch(/plugin conformance: gru-next \(microscopic\)/);
    expect(jest.stderr).toMatch(/plugin conformance: log-growth \(macroscopic\)/);
    for (const n of names) expect(jest.stderr).toMatch(new RegExp(`plugin conformance: ${n} metric keys`));
    expect(jest.stderr).toMatch(/✓ leaves no tensor behind/);
    expect(jest.stderr).not.toMatch(/skipped|✕/);

    // 4. They compile (strict TypeScript, project references).
    run(process.execPath, [join(ws, 'node_modules/typescript/bin/tsc'), '-b', ...names.map((n) => `plugins/${n}`)], ws);

    // 5. The runner knows them: the example configs validate, and the microscopic ones run (the
    //    neural one for one epoch: this checks the wiring, not the model).
    const tsx = ['--import', `file://${join(ws, 'node_modules/tsx/dist/loader.mjs')}`, join(ws, 'apps/experiment-runner/src/main.ts')];
    const env = { TSX_TSCONFIG_PATH: join(ws, 'apps/experiment-runner/src/sweep/tsconfig.sources.json'), CASCADE_DATA_DIR: data };
    for (const name of names) {
      const v = run(process.execPath, [...tsx, 'validate', `configs/experiments/${name}-example.yaml`], ws, env);
      expect(v.stdout).toMatch(new RegExp(`^ok configs/experiments/${name}-example\\.yaml: model ${name} \\(`));
    }
    const r = run(process.execPath, [...tsx, 'run', 'configs/experiments/ic-freq-example.yaml', '--quiet', '--set', `tracking.runsDir=${join(ws, 'runs')}`, '--set', 'evaluation.simulations=20'], ws, env);
    expect(r.stdout).toMatch(/^ic-freq-example {2}Macro-F1 0\.\d{4} {2}Micro-F1 0\.\d{4}/m);
    const g = run(process.execPath, [...tsx, 'run', 'configs/experiments/gru-next-example.yaml', '--quiet', '--set', `tracking.runsDir=${join(ws, 'runs')}`, '--set', 'evaluation.simulations=20', '--set', 'model.hyperparameters.epochs=1'], ws, env);
    expect(g.stdout).toMatch(/^gru-next-example {2}Macro-F1 0\.\d{4} {2}Micro-F1 0\.\d{4}/m);
    expect(g.stdout).toMatch(/^next-user ranking: hits@1 0\.\d{4}/m);
  }, 420_000);
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
    await expect(pluginGenerator(workspace(), { name: 'Bad_Name', template: 'network-simulation', skipInstall: true })).rejects.toThrow(/use lower-case letters, digits and dashes/);
    await expect(pluginGenerator(workspace(), { name: 'x', template: 'microscopic' as never, skipInstall: true })).rejects.toThrow(/--template must be one of neural-next-user, network-simulation, closed-form-size, got "microscopic"/);
    const existing = workspace();
    existing.write('plugins/a/package.json', '{}');
    await expect(pluginGenerator(existing, { name: 'a', template: 'neural-next-user', skipInstall: true })).rejects.toThrow(/plugins\/a already exists/);
    const odd = workspace();
    odd.write(RUNNER.pluginModules, 'export default [];\n');
    expect(() => registerInRunner(odd, templateNames('b'))).toThrow(/does not have the expected shape/);
  });

  it('appends to the runner list and puts the plugin before the runner in the build', async () => {
    const tree = workspace();
    await pluginGenerator(tree, { name: 'hawkes-exp', template: 'closed-form-size', description: 'Hawkes "exp" kernel.', skipInstall: true });
    expect(tree.read(RUNNER.pluginModules, 'utf-8')).toBe(
      "import type { ContainerModule } from 'inversify';\nimport { aModule } from '@cascade-lab/plugin-a';\nimport { hawkesExpModule } from '@cascade-lab/plugin-hawkes-exp';\n\nexport const pluginModules: ContainerModule[] = [aModule, hawkesExpModule];\n",
    );
    expect(JSON.parse(tree.read('tsconfig.build.json', 'utf-8')!).references.map((r: { path: string }) => r.path)).toEqual(['packages/core', 'plugins/hawkes-exp', 'apps/experiment-runner']);
    // The description is escaped where it lands in JSON and TypeScript.
    expect(JSON.parse(tree.read('plugins/hawkes-exp/package.json', 'utf-8')!).description).toBe('Hawkes "exp" kernel.');
    expect(tree.read('plugins/hawkes-exp/src/plugin.ts', 'utf-8')).toContain("description: \"Hawkes \\\"exp\\\" kernel.\",");
  });

  it('writes each template\'s own model and an example config for its task', async () => {
    const tree = workspace();
    await pluginGenerator(tree, { name: 'n1', template: 'neural-next-user', skipInstall: true });
    await pluginGenerator(tree, { name: 'n2', template: 'network-simulation', skipInstall: true });
    await pluginGenerator(tree, { name: 'n3', template: 'closed-form-size', skipInstall: true });
    const deps = (n: string) => Object.keys(JSON.parse(tree.read(`plugins/${n}/package.json`, 'utf-8')!).dependencies).sort();
    expect(deps('n1')).toEqual(['@cascade-lab/core', '@cascade-lab/simulation', '@cascade-lab/tensor-ops', '@cascade-lab/training', 'inversify', 'zod']);
    expect(deps('n2')).toEqual(['@cascade-lab/core', '@cascade-lab/simulation', 'inversify', 'zod']);
    expect(deps('n3')).toEqual(['@cascade-lab/core', 'inversify', 'zod']);
    expect(tree.read('plugins/n1/src/plugin.ts', 'utf-8')).toMatch(/from '@cascade-lab\/training'/);
    expect(tree.read('plugins/n2/src/model.ts', 'utf-8')).toMatch(/async edgeScores\(/);
    expect(tree.read('plugins/n3/src/model.ts', 'utf-8')).toMatch(/saveModelJson\(dir, SAVED, this\.params\)/);
    expect(tree.read('configs/experiments/n1-example.yaml', 'utf-8')).toMatch(/^backend: auto .*\n[\s\S]*name: irvine/m);
    expect(tree.read('configs/experiments/n2-example.yaml', 'utf-8')).toMatch(/^backend: cpu .*\n[\s\S]*name: irvine/m);
    expect(tree.read('configs/experiments/n3-example.yaml', 'utf-8')).toMatch(/name: tideh-rt/);
    // No template text is left unexpanded.
    for (const f of tree.listChanges().map((c) => c.path)) expect(tree.read(f, 'utf-8')).not.toMatch(/<%|%>/);
  });
});
