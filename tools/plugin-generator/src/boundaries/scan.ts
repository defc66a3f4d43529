/**
 * The workspace's layer rules (CONTRIBUTING.md "Shape") as a scan of every import in the source
 * tree: what `module-boundaries.test.ts` enforces in CI.
 *
 * - A project is a folder with a package.json under packages/, plugins/, apps/ or tools/.
 * - Relative imports stay inside their project (no `../../packages/x/src/...`, no other project's
 *   `test/` or internals).
 * - A workspace package is imported by name, at its main entry or at a subpath its package.json
 *   exports; `@cascade-lab/core/testing` (the conformance kit) only from test code.
 * - Plugins import packages only: never another plugin, an app or a tool. Packages import
 *   packages only.
 * - Every imported package (workspace or npm) is declared in the importing project's package.json
 *   (dependencies, devDependencies or peerDependencies); tests, benchmarks and project-root files
 *   may also use the root's devDependencies (the tooling: jest, fast-check, tsx). Scripts declare
 *   what they use.
 */
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface Project {
  /** `packages/core`, `plugins/ndm`, ... */
  dir: string;
  group: 'packages' | 'plugins' | 'apps' | 'tools';
  name: string;
  exports: string[];
  declared: Set<string>;
}

export interface Violation {
  file: string;
  line: number;
  specifier: string;
  rule: string;
}

const GROUPS = ['packages', 'plugins', 'apps', 'tools'] as const;
const SOURCE = /\.(c|m)?[jt]sx?$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', '.nx', 'outputs', 'runs']);
const BUILTINS = new Set(builtinModules);

export function listProjects(root: string): Project[] {
  const out: Project[] = [];
  for (const group of GROUPS) {
    const g = join(root, group);
    if (!existsSync(g)) continue;
    for (const name of readdirSync(g).sort()) {
      const pkgFile = join(g, name, 'package.json');
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
      const declared = new Set<string>([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
      out.push({ dir: `${group}/${name}`, group, name: pkg.name, exports: Object.keys(pkg.exports ?? { '.': '' }), declared });
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    // jest.config.* files reach the shared preset by a relative path on purpose.
    if (SKIP_DIRS.has(entry) || entry.startsWith('.') || entry.startsWith('jest.config.')) continue;
    const p = join(dir, entry);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...sourceFiles(p));
    else if (SOURCE.test(entry) && !entry.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * Positions inside comments and string/template literals (1), elsewhere 0: an `import` keyword only
 * counts outside them (docs and tests quote imports). Regular-expression literals are not tracked.
 */
function literalMask(text: string): Uint8Array {
  const mask = new Uint8Array(text.length);
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const start = i;
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2);
      i = i < 0 ? text.length : i + 2;
    } else if (c === '"' || c === "'" || c === '`') {
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') i++;
        else if (c !== '`' && text[i] === '\n') break;
        i++;
      }
      i++;
    } else {
      i++;
      continue;
    }
    mask.fill(1, start, Math.min(i, text.length));
  }
  return mask;
}

/** Import specifiers of a source file with their 1-based lines (static, dynamic, require, re-exports). */
export function importsOf(text: string): { specifier: string; line: number }[] {
  const out: { specifier: string; line: number }[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[\w*$]+\s*,?\s*)?(?:\{[^}]*\}\s*)?(?:\*\s+as\s+[\w$]+\s*)?from\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
    /\brequire\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
  ];
  const mask = literalMask(text);
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      if (mask[m.index]) continue;
      out.push({ specifier: m[2], line: text.slice(0, m.index).split('\n').length });
    }
  }
  return out.sort((x, y) => x.line - y.line);
}

/** npm package name of a bare specifier (`@scope/name/sub` -> `@scope/name`). */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function isTestFile(file: string): boolean {
  return /\.test(-util)?\.[cm]?[jt]s$/.test(file) || /\.test-util\./.test(file) || file.split(sep).includes('__tests__');
}

/** Every violation of the rules above in the tree at `root`. */
export function scanBoundaries(root: string): Violation[] {
  const projects = listProjects(root);
  const byName = new Map(projects.map((p) => [p.name, p]));
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  // The test tooling every project may use: the root's devDependencies and jest's own globals.
  const rootDev = new Set<string>([...Object.keys(rootPkg.devDependencies ?? {}), '@jest/globals']);
  const violations: Violation[] = [];
  for (const project of projects) {
    const projectRoot = resolve(root, project.dir);
    for (const file of sourceFiles(projectRoot)) {
      const rel = relative(root, file).split(sep).join('/');
      const test = isTestFile(file);
      // Tests, benchmarks and files at the project root (worker bootstraps) may use the root's dev tooling.
      const devTool = test || rel.startsWith(`${project.dir}/bench/`) || dirname(file) === projectRoot;
      for (const { specifier, line } of importsOf(readFileSync(file, 'utf8'))) {
        const add = (rule: string) => violations.push({ file: rel, line, specifier, rule });
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier);
          if (target !== projectRoot && !target.startsWith(projectRoot + sep)) add(`relative import leaves ${project.dir}: import the other project by its package name`);
          continue;
        }
        if (specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0])) continue;
        const name = packageName(specifier);
        const target = byName.get(name);
        if (target === project) continue; // benches and examples use their own public entry
        if (target) {
          const sub = specifier.length > name.length ? `.${specifier.slice(name.length)}` : '.';
          if (!target.exports.includes(sub)) add(`${sub} is not an export of ${name} (its internals): use its public entry`);
          if (sub === './testing' && !test) add(`${specifier} (the conformance kit) is for test code only`);
          if (project.group === 'plugins' && target.group !== 'packages') add(`a plugin imports packages only, not ${target.dir}`);
          if (project.group === 'packages' && target.group !== 'packages') add(`a package imports packages only, not ${target.dir}`);
        }
        if (!project.declared.has(name) && !(devTool && rootDev.has(name))) add(`${name} is not declared in ${project.dir}/package.json`);
      }
    }
  }
  return violations;
}
