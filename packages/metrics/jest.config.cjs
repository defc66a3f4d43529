const { projectConfig } = require('../../jest.preset.cjs');
module.exports = { ...projectConfig(__dirname, 'packages/metrics'), testTimeout: 60000 };
