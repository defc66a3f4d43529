export { main, reportError } from './main.js';
export { pluginModules } from './plugin-modules.js';
