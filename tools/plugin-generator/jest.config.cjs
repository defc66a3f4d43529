const { projectConfig } = require('../../jest.preset.cjs');
module.exports = { ...projectConfig(__dirname, 'tools/plugin-generator'), testTimeout: 180000 };
