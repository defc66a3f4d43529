import { CascadeError } from '@cascade-lab/core';
import type { LoadedData } from './run.js';

/** What the runner reads of a plugin beyond the core contract (present once contract v2 lands). */
interface PluginDeclarations {
  name: string;
  /** `'none'`: defined by its hyperparameters alone, reads no training data. */
  fitting?: 'data' | 'none';
  dataNeeds?: readonly string[] | ((hyperparameters: unknown) => readonly string[]);
}

/** A cascade a model can learn from: microscopic, two or more users (one user has no successor); macroscopic, any. */
function usable(data: LoadedData, split: 'train' | 'validation'): number {
  const cascades = data[split] as readonly { events?: readonly unknown[] }[];
  if (!('users' in data)) return cascades.length;
  return cascades.filter((c) => (c.events?.length ?? 0) >= 2).length;
}

/**
 * Refuses, before training, a training split with no usable cascade (a model fitted to nothing
 * would otherwise be evaluated and reported as if it had learned), and an empty validation split
 * for a plugin that declares it needs one. The runner checks this once for every plugin instead of
 * each plugin in its own words (issue 21).
 */
export function checkTrainableSplits(plugin: PluginDeclarations, hyperparameters: unknown, data: LoadedData): void {
  const what = 'users' in data ? 'cascades with two or more users' : 'cascades';
  const hint = 'check dataset.minLength, dataset.split and the filters, or the data itself (`cascade datasets stats`)';
  if (plugin.fitting !== 'none' && usable(data, 'train') === 0)
    throw new CascadeError('DATA_FORMAT', `dataset ${data.name}: the training split has no ${what} (${data.train.length} cascades in it); ${plugin.name} would learn nothing`, { hint });
  const needs = typeof plugin.dataNeeds === 'function' ? plugin.dataNeeds(hyperparameters) : (plugin.dataNeeds ?? []);
  if (needs.includes('validationSplit') && usable(data, 'validation') === 0)
    throw new CascadeError('DATA_FORMAT', `dataset ${data.name}: the validation split has no ${what} (${data.validation.length} cascades in it), and ${plugin.name} needs one`, { hint });
}
