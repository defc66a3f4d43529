const { projectConfig } = require('../../jest.preset.cjs');
module.exports = { ...projectConfig(__dirname, 'apps/experiment-runner'), testTimeout: 60000 };
