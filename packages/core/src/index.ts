export * from './errors.js';
export * from './text.js';
export * from './rng.js';
export * from './logging.js';
export * from './progress.js';
export * from './data-types.js';
export * from './plugin.js';
export * from './container.js';
