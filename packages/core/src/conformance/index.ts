/**
 * `@cascade-lab/core/testing`: the plugin conformance kit. Test code only: it imports Jest's
 * globals, so production code never imports this entry (the main `@cascade-lab/core` entry does not
 * re-export it).
 */
export { describePluginConformance } from './jest.js';
export { conformanceChecks, ConformanceError, type ConformanceCheck, type ConformanceOptions, type ConformanceSuite } from './checks.js';
export type { CancellationOptions } from './cancellation.js';
export { tinyMicroscopicDataset, tinyMacroscopicDataset, indexVocabulary } from './datasets.js';
