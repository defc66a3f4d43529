/**
 * The metric-key check of the conformance kit: a toy plugin that logs catalogue keys and declares
 * its own summary number passes the whole kit (core's checks and this one, through
 * `describePluginConformance` of ./testing); each way of logging a key off the catalogue fails with
 * a message naming the key.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelLoadError, type MacroscopicDataset, type MacroscopicModel, type MacroscopicPlugin, type PluginMetricDeclaration, type WindowedCascade } from '@cascade-lab/core';
import { tinyMacroscopicDataset } from '@cascade-lab/core/testing';
import { z } from 'zod';
import { catalogueOfPlugins, checkPluginMetricKeys, loggedKeys, metricKeyProblems, pluginCatalogue } from './conformance.js';
import { describePluginConformance } from './testing.js';

const schema = z.strictObject({ shrink: z.number().min(0).max(1).default(0).describe('shrinks the fitted growth towards 0') });

class Growth implements MacroscopicModel {
  constructor(readonly growth: number, private readonly summary: Record<string, number>) {}
  async predict(cascades: WindowedCascade[], horizonsHours: number[]) {
    return { sizes: cascades.map((c) => Float64Array.from(horizonsHours, (h) => c.observedSize * (1 + this.growth * Math.max(0, Math.log2(h / 6))))) };
  }
  summaryMetrics() {
    return this.summary;
  }
  async save(dir: string) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'growth.json'), JSON.stringify({ growth: this.growth }));
  }
  dispose() {}
}

/** A toy macroscopic plugin that logs `trainKeys` while training and returns `summary` as its summary metrics. */
function toy(name: string, trainKeys: string[], summary: Record<string, number>, metrics?: PluginMetricDeclaration[]): MacroscopicPlugin<z.output<typeof schema>> {
  return {
    name,
    task: 'macroscopic',
    description: 'Toy log-linear growth model for the metric-key check.',
    hyperparameters: schema,
    metrics,
    async train(data: MacroscopicDataset, hp, ctx) {
      let sum = 0;
      let n = 0;
      for (const c of data.train)
        data.horizonsHours.forEach((h, i) => {
          sum += (c.targets[i] / c.observedSize - 1) / Math.log2(h / 6);
          n++;
        });
      for (const k of trainKeys) ctx.metrics.logMetric(k, 1, 1);
      return new Growth((1 - hp.shrink) * (sum / n), summary);
    },
    async load(dir) {
      const file = join(dir, 'growth.json');
      if (!existsSync(file)) throw new ModelLoadError(file, 'not found');
      return new Growth(JSON.parse(readFileSync(file, 'utf8')).growth, summary);
    },
  };
}

const growthRate: PluginMetricDeclaration = { key: 'model.growthRate', label: 'growth per doubling', unit: 'value', direction: 'none', description: 'The fitted growth per doubling of the horizon.' };
const good = toy('toy-growth', ['train.loss', 'validation.loss', 'validation.h24.mape', 'train.epochSeconds'], { parameters: 1, growthRate: 0.5 }, [growthRate]);

describePluginConformance(good);

describe('the metric-key check', () => {
  const dataset = tinyMacroscopicDataset();
  it('fails a plugin that logs a key off the style', async () => {
    expect(await checkPluginMetricKeys(toy('bad-style', ['train_loss'], {}), { dataset })).toEqual([expect.stringMatching(/logs "train_loss", which does not follow the key style/)]);
  });
  it('fails a plugin whose summary number is not declared', async () => {
    expect(await checkPluginMetricKeys(toy('undeclared', ['train.loss'], { finalLoss: 2 }), { dataset })).toEqual([expect.stringMatching(/logs "model.finalLoss", which is not in the metric catalogue/)]);
  });
  it('fails a plugin with an invalid declaration before training', async () => {
    const plugin = toy('bad-declaration', [], {}, [{ ...growthRate, key: 'test.myMape' }]);
    expect(await checkPluginMetricKeys(plugin, { dataset })).toEqual([expect.stringMatching(/declarations are invalid: .*must start with model\., train\. or validation\./)]);
  });
  it('passes a plugin that logs catalogue keys and its declared ones', async () => {
    expect(await checkPluginMetricKeys(good, { dataset })).toEqual([]);
    expect(pluginCatalogue(good).info('model.growthRate')).toMatchObject({ plugin: 'toy-growth', task: 'macroscopic' });
  });
  it('joins several plugins\' declarations for a report, the first of a repeated key kept, invalid ones skipped', () => {
    const other = toy('other', [], {}, [{ ...growthRate, label: 'another label' }, { ...growthRate, key: 'model.decay' }, { ...growthRate, key: 'test.bad' }]);
    const c = catalogueOfPlugins([good, other]);
    expect(c.info('model.growthRate')).toMatchObject({ plugin: 'toy-growth', label: 'growth per doubling' });
    expect(c.info('model.decay').plugin).toBe('other');
    expect(c.has('test.bad')).toBe(false);
  });

  it('collects the keys a run would log', () => {
    expect(loggedKeys(['train.loss', 'train.loss'], { parameters: 3 })).toEqual(['train.loss', 'model.parameters']);
    expect(metricKeyProblems(good, ['model.parameters', 'model.growthRate', 'test.macroF1'])).toEqual([]);
  });
});
