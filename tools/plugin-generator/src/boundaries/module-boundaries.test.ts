import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importsOf, scanBoundaries } from './scan.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('module boundaries (CONTRIBUTING.md "Shape")', () => {
  it('hold in this workspace: every violation is listed with file:line', () => {
    const lines = scanBoundaries(repoRoot).map((v) => `${v.file}:${v.line}: ${v.specifier}: ${v.rule}`);
    expect(lines).toEqual([]);
  });
});

describe('the boundary scan', () => {
  it('finds imports of every form, ignoring comments', () => {
    const text = ["import { a } from 'x';", "import type { B } from '@s/y/z';", "export * from './local.js';", "const m = await import('dyn');", "import 'side';", '// import { no } from "comment";', "const r = require('req');"].join('\n');
    expect(importsOf(text)).toEqual(
      expect.arrayContaining([
        { specifier: 'x', line: 1 },
        { specifier: '@s/y/z', line: 2 },
        { specifier: './local.js', line: 3 },
        { specifier: 'dyn', line: 4 },
        { specifier: 'side', line: 5 },
        { specifier: 'req', line: 7 },
      ]),
    );
    expect(importsOf(text).some((i) => i.specifier === 'comment')).toBe(false);
  });

  it('catches each kind of violation in a small workspace', () => {
    const root = mkdtempSync(join(tmpdir(), 'boundaries-'));
    const project = (dir: string, pkg: Record<string, unknown>, files: Record<string, string>) => {
      mkdirSync(join(root, dir, 'src'), { recursive: true });
      writeFileSync(join(root, dir, 'package.json'), JSON.stringify(pkg));
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, dir, f)), { recursive: true });
        writeFileSync(join(root, dir, f), text);
      }
    };
    writeFileSync(join(root, 'package.json'), JSON.stringify({ devDependencies: { 'fast-check': '1' } }));
    project('packages/core', { name: '@w/core', exports: { '.': {}, './testing': {} } }, { 'src/index.ts': "export const x = 1;\n", 'test/helper.ts': 'export {};\n' });
    project('plugins/a', { name: '@w/a', dependencies: { '@w/core': '0' } }, { 'src/index.ts': "export const a = 1;\n" });
    project('plugins/b', { name: '@w/b', dependencies: { '@w/core': '0', '@w/a': '0' } }, {
      'src/index.ts': ["import { a } from '@w/a';", "import { x } from '@w/core/src/internal.js';", "import { kit } from '@w/core/testing';", "import { h } from '../../../packages/core/test/helper.js';", "import yaml from 'yaml';", "import fc from 'fast-check';", "import { readFileSync } from 'node:fs';"].join('\n'),
      'src/x.test.ts': "import fc from 'fast-check';\nimport { kit } from '@w/core/testing';\n",
    });
    const found = scanBoundaries(root).map((v) => `${v.file}:${v.line} ${v.rule}`);
    expect(found).toEqual([
      'plugins/b/src/index.ts:1 a plugin imports packages only, not plugins/a',
      'plugins/b/src/index.ts:2 ./src/internal.js is not an export of @w/core (its internals): use its public entry',
      'plugins/b/src/index.ts:3 @w/core/testing (the conformance kit) is for test code only',
      'plugins/b/src/index.ts:4 relative import leaves plugins/b: import the other project by its package name',
      'plugins/b/src/index.ts:5 yaml is not declared in plugins/b/package.json',
      'plugins/b/src/index.ts:6 fast-check is not declared in plugins/b/package.json',
    ]);
  });
});
