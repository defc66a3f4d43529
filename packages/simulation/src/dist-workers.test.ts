/**
 * The built package (compiled JavaScript in dist/, as the CLI runs it) starts its workers from
 * compiled code, with no tsx anywhere, and gets the same rows as the TypeScript sources here.
 *
 * To stay independent of the state of other packages' builds, the test makes its own install in a
 * temporary folder: core, metrics and simulation transpiled (TypeScript's transpileModule, the
 * same JavaScript `tsc` emits, without type checking) into `node_modules/@cascade-lab/<pkg>/dist`
 * with their package.json, and every other dependency linked from the repository's node_modules
 * (and each package's own node_modules).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { transmissionGraph } from './graph.js';
import { popularityModelModule } from './popularity.js';
import { IndependentCascadeSimulator, SequentialSampler } from './simulators.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Builds the install in a child process (TypeScript's compiler runs many times faster outside
 * Jest's sandbox) and prints its folder.
 */
const installScript = `
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
const repoRoot = process.argv[1];
function transpileTree(srcDir, outDir) {
  for (const name of readdirSync(srcDir)) {
    const from = path.join(srcDir, name);
    if (statSync(from).isDirectory()) { transpileTree(from, path.join(outDir, name)); continue; }
    if (!name.endsWith('.ts') || name.endsWith('.test.ts') || name.endsWith('.test-util.ts') || name.endsWith('.d.ts')) continue;
    const out = ts.transpileModule(readFileSync(from, 'utf8'), { fileName: from, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true } });
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, name.replace(/[.]ts$/, '.js')), out.outputText);
  }
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'cascade-dist-test-'));
const modules = path.join(dir, 'node_modules');
mkdirSync(path.join(modules, '@cascade-lab'), { recursive: true });
for (const entry of readdirSync(path.join(repoRoot, 'node_modules'))) {
  if (entry === '@cascade-lab' || entry.startsWith('.')) continue;
  symlinkSync(path.join(repoRoot, 'node_modules', entry), path.join(modules, entry));
}
for (const pkg of ['core', 'metrics', 'simulation']) {
  const target = path.join(modules, '@cascade-lab', pkg);
  mkdirSync(target, { recursive: true });
  copyFileSync(path.join(repoRoot, 'packages', pkg, 'package.json'), path.join(target, 'package.json'));
  // a package's own (non-hoisted) dependencies, e.g. core's yaml 2 next to a hoisted yaml 1
  const own = path.join(repoRoot, 'packages', pkg, 'node_modules');
  if (existsSync(own)) symlinkSync(own, path.join(target, 'node_modules'));
  transpileTree(path.join(repoRoot, 'packages', pkg, 'src'), path.join(target, 'dist'));
}
copyFileSync(path.join(repoRoot, 'packages/simulation/worker-bootstrap.mjs'), path.join(modules, '@cascade-lab/simulation/worker-bootstrap.mjs'));
console.log(dir);
`;

function makeInstall(): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', installScript, repoRoot], { cwd: repoRoot, encoding: 'utf8' }).trim();
}

const script = `
import { Rng } from '@cascade-lab/core';
import { SimulationPool, SequentialSampler, IndependentCascadeSimulator, transmissionGraph, popularityModelModule } from '@cascade-lab/simulation';
const pool = new SimulationPool({ workers: 2 });
const g = transmissionGraph(6, [2, 3, 4], [3, 4, 5], [0.7, 0.5, 0.9]);
const req = [{ seeds: [2], budget: 3, simulations: 60, label: 'x' }];
const ic = await new IndependentCascadeSimulator(g, { pool }).simulate(req, Rng.fromSeed(1));
const spec = popularityModelModule({ numUsers: 6, counts: [0, 0, 1, 2, 3, 4] });
const seq = await new SequentialSampler(spec, { pool }).simulate(req, Rng.fromSeed(1));
await pool.close();
console.log(JSON.stringify({ ic: Array.from(ic[0].sequences), seq: Array.from(seq[0].sequences), module: spec.module, execArgv: process.execArgv }));
`;

describe('workers from the built package', () => {
  it('run compiled engines without tsx and match the sources', async () => {
    const dir = makeInstall();
    try {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
      const built = JSON.parse(out.trim().split('\n').pop()!);
      expect(built.module).toMatch(/node_modules\/@cascade-lab\/simulation\/dist\/popularity\.js$/);
      expect(built.execArgv.some((a: string) => a.includes('tsx'))).toBe(false);
      const g = transmissionGraph(6, [2, 3, 4], [3, 4, 5], [0.7, 0.5, 0.9]);
      const req = [{ seeds: [2], budget: 3, simulations: 60, label: 'x' }];
      const ic = await new IndependentCascadeSimulator(g).simulate(req, Rng.fromSeed(1));
      const seq = await new SequentialSampler(popularityModelModule({ numUsers: 6, counts: [0, 0, 1, 2, 3, 4] })).simulate(req, Rng.fromSeed(1));
      expect(built.ic).toEqual(Array.from(ic[0].sequences));
      expect(built.seq).toEqual(Array.from(seq[0].sequences));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120000);
});
