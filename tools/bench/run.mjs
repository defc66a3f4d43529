#!/usr/bin/env node
// `npm run bench -- <name> [args]`: runs every `bench/<name>.bench.ts` found in packages/, plugins/
// and apps/ (built workspace packages are imported from dist/, so the script builds first).
// Benchmarks print tables; they are never run by the test suite.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [name, ...rest] = process.argv.slice(2);

function findBenches() {
  const found = [];
  for (const group of ['packages', 'plugins', 'apps']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const project of readdirSync(dir)) {
      const benchDir = join(dir, project, 'bench');
      if (!existsSync(benchDir)) continue;
      for (const f of readdirSync(benchDir)) if (f.endsWith('.bench.ts')) found.push({ name: f.replace(/\.bench\.ts$/, ''), file: join(benchDir, f) });
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

const benches = findBenches();
if (!name || name === '--help' || name === '-h') {
  console.log('usage: npm run bench -- <name> [benchmark options]\n\navailable benchmarks:');
  for (const b of benches) console.log(`  ${b.name.padEnd(16)} ${relative(root, b.file)}`);
  process.exit(name ? 0 : 2);
}
const selected = benches.filter((b) => b.name === name);
if (selected.length === 0) {
  console.error(`no benchmark called "${name}"; available: ${benches.map((b) => b.name).join(', ') || '(none)'}`);
  process.exit(2);
}
if (!process.env.CASCADE_BENCH_NO_BUILD) execFileSync('npx', ['tsc', '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
for (const b of selected) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', b.file, ...rest], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
