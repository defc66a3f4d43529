const { projectConfig } = require('../../jest.preset.cjs');
module.exports = { ...projectConfig(__dirname, 'plugins/gammacas'), testTimeout: 60000 };
