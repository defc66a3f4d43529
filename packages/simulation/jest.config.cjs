const { projectConfig } = require('../../jest.preset.cjs');
module.exports = { ...projectConfig(__dirname, 'packages/simulation'), testTimeout: 60000 };
