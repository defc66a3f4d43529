/**
 * `@cascade-lab/evaluation/testing`: the plugin conformance kit with the metric-key check. Test code
 * only (it imports Jest's globals). One call in a plugin's test file:
 *
 * ```ts
 * import { describePluginConformance } from '@cascade-lab/evaluation/testing';
 * describePluginConformance(myPlugin, { hyperparameters: { epochs: 2 } });
 * ```
 *
 * runs `@cascade-lab/core/testing`'s contract checks and, in the same block, fails the plugin when it
 * logs a metric key (through `context.metrics` or as a `summaryMetrics()` number) that is neither in
 * the metric catalogue nor declared in the plugin's `metrics`.
 */
import { describePluginConformance as describeCoreConformance, tinyMacroscopicDataset, tinyMicroscopicDataset, type ConformanceOptions } from '@cascade-lab/core/testing';
import type { ModelPlugin } from '@cascade-lab/core';
import { describe, it } from '@jest/globals';
import { checkPluginMetricKeys } from './conformance.js';

export { checkPluginMetricKeys, metricKeyProblems, pluginCatalogue, loggedKeys } from './conformance.js';
export type { MetricKeyCheckOptions } from './conformance.js';

/** Core's conformance checks plus the metric-key check, as Jest tests. */
export function describePluginConformance(plugin: ModelPlugin, options: ConformanceOptions & { timeoutMs?: number } = {}): void {
  describeCoreConformance(plugin, options);
  describe(`plugin conformance: ${plugin.name} metric keys`, () => {
    it(
      'logs only metric keys of the catalogue or of its own declarations',
      async () => {
        const problems = await checkPluginMetricKeys(plugin, {
          hyperparameters: options.hyperparameters,
          dataset: options.dataset ?? (plugin.task === 'microscopic' ? tinyMicroscopicDataset() : tinyMacroscopicDataset()),
          setup: options.setup,
          seed: options.seed,
        });
        if (problems.length) throw new Error(`plugin "${plugin.name}": ${problems.join('; ')}`);
      },
      options.timeoutMs ?? 60_000,
    );
  });
}
