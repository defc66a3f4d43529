const { projectConfig } = require('../../jest.preset.cjs');
module.exports = { ...projectConfig(__dirname, 'packages/training'), testTimeout: 60000 };
