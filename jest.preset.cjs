// Shared Jest settings. The workspace is ESM ("type": "module"), so Jest runs with
// `node --experimental-vm-modules` and @swc/jest transpiles TypeScript (legacy decorators and
// decorator metadata on, as inversify expects). Workspace packages map to their sources, so tests
// never need a build first.
const path = require('node:path');
const fs = require('node:fs');

const root = __dirname;
const moduleNameMapper = { '^(\\.{1,2}/.*)\\.js$': '$1' };
for (const group of ['packages', 'plugins', 'apps', 'tools']) {
  const dir = path.join(root, group);
  if (!fs.existsSync(dir)) continue;
  for (const name of fs.readdirSync(dir)) {
    const pkgFile = path.join(dir, name, 'package.json');
    const entry = path.join(dir, name, 'src', 'index.ts');
    if (!fs.existsSync(pkgFile) || !fs.existsSync(entry)) continue;
    const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
    const pkgName = pkg.name;
    moduleNameMapper[`^${pkgName.replace('/', '\\/')}$`] = entry;
    // Subpath exports (`@cascade-lab/core/testing` -> dist/conformance/index.js) map to their sources too.
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      const file = typeof target === 'string' ? target : target && target.default;
      if (sub === '.' || typeof file !== 'string' || !file.startsWith('./dist/')) continue;
      const source = path.join(dir, name, 'src', file.slice('./dist/'.length).replace(/\.js$/, '.ts'));
      if (fs.existsSync(source)) moduleNameMapper[`^${(pkgName + sub.slice(1)).replace(/\//g, '\\/')}$`] = source;
    }
  }
}

const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

/** @param {string} dir the project directory */
function projectConfig(dir, displayName) {
  return {
    displayName,
    rootDir: dir,
    testEnvironment: 'node',
    setupFiles: [path.join(root, 'jest.setup.cjs')],
    extensionsToTreatAsEsm: ['.ts'],
    transform: { '^.+\\.(t|j)s$': ['@swc/jest', swcOptions] },
    moduleNameMapper,
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  };
}

module.exports = { projectConfig, moduleNameMapper, swcOptions };
