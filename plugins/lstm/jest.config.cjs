const { projectConfig } = require('../../jest.preset.cjs');
module.exports = { ...projectConfig(__dirname, 'plugins/lstm'), testTimeout: 60000 };
