import { afterAll, describe, it } from '@jest/globals';
import type { ModelPlugin } from '../plugin.js';
import { conformanceChecks, type ConformanceOptions } from './checks.js';

/**
 * Registers the plugin contract checks as Jest tests, in one `describe` block. One call in a
 * plugin's test file:
 *
 * ```ts
 * import { describePluginConformance } from '@cascade-lab/core/testing';
 * describePluginConformance(myPlugin, { hyperparameters: { epochs: 2 } });
 * ```
 *
 * The checks share the models they train (trained once, disposed after the block).
 */
export function describePluginConformance(plugin: ModelPlugin, options: ConformanceOptions & { timeoutMs?: number } = {}): void {
  describe(`plugin conformance: ${plugin.name} (${plugin.task})`, () => {
    const suite = conformanceChecks(plugin, options);
    for (const check of suite.checks) it(check.name, () => check.run(), options.timeoutMs ?? 60_000);
    afterAll(() => suite.dispose());
  });
}
