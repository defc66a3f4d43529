const { projectConfig } = require('../../jest.preset.cjs');
module.exports = { ...projectConfig(__dirname, 'plugins/embedded-ic'), testTimeout: 60000 };
