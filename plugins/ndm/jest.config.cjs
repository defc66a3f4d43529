const { projectConfig } = require('../../jest.preset.cjs');
module.exports = { ...projectConfig(__dirname, 'plugins/ndm'), testTimeout: 60000 };
