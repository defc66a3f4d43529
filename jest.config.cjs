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

module.exports = { projects, testTimeout: 60000 };
