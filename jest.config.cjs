// Root Jest config: every workspace project in one run (`npm test`).
const path = require('node:path');
const fs = require('node:fs');
const { projectConfig } = require('./jest.preset.cjs');

const projects = [];
for (const group of ['packages', 'plugins', 'apps', 'tools']) {
  const dir = path.join(__dirname, group);
  if (!fs.existsSync(dir)) continue;
  for (const name of fs.readdirSync(dir).sort()) {
    const projectDir = path.join(dir, name);
    if (fs.existsSync(path.join(projectDir, 'package.json'))) projects.push(projectConfig(projectDir, `${group}/${name}`));
  }
}

// tensor-ops' initBackend sets these before libtensorflow loads (packages/tensor-ops/src/backend.ts),
// but Jest hands each test file a copy of process.env, which the C library never sees: set them here,
// in the parent process, so that the test workers inherit them and tests run TensorFlow as the CLI does.
process.env.TF_NUM_INTRAOP_THREADS ??= '1';
process.env.TF_ENABLE_ONEDNN_OPTS ??= '0';
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

module.exports = {
  projects,
  testTimeout: 60000,
  globalSetup: path.join(__dirname, 'jest.global-setup.cjs'),
  globalTeardown: path.join(__dirname, 'jest.global-teardown.cjs'),
};
