/**
 * The built package (dist/, as the CLI runs it) starts its workers from compiled JavaScript, with no
 * tsx anywhere, and gets the same rows as the TypeScript sources in this process.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { transmissionGraph } from './graph.js';
import { popularityModelModule } from './popularity.js';
import { IndependentCascadeSimulator, SequentialSampler } from './simulators.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

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
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b', 'packages/simulation'], { cwd: repoRoot, stdio: 'pipe' });
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    const built = JSON.parse(out.trim().split('\n').pop()!);
    expect(built.module).toMatch(/packages\/simulation\/dist\/popularity\.js$/);
    expect(built.execArgv.some((a: string) => a.includes('tsx'))).toBe(false);
    const g = transmissionGraph(6, [2, 3, 4], [3, 4, 5], [0.7, 0.5, 0.9]);
    const req = [{ seeds: [2], budget: 3, simulations: 60, label: 'x' }];
    const ic = await new IndependentCascadeSimulator(g).simulate(req, Rng.fromSeed(1));
    const seq = await new SequentialSampler(popularityModelModule({ numUsers: 6, counts: [0, 0, 1, 2, 3, 4] })).simulate(req, Rng.fromSeed(1));
    expect(built.ic).toEqual(Array.from(ic[0].sequences));
    expect(built.seq).toEqual(Array.from(seq[0].sequences));
  }, 120000);
});
