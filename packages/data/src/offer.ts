/**
 * What a configured dataset offers plugins (core's `DataOffer`), known from its format, registry
 * entry and config before anything is read, so that `cascade validate` can refuse a plugin whose
 * `dataNeeds` the dataset cannot meet. `unknown` where only the files can tell (a path dataset in a
 * format whose graph or text is optional).
 */
import { FORMATS, type DatasetFormat } from './sources.js';
import { getDataset } from './registry.js';
import type { DataOffer } from '@cascade-lab/core';
import type { DatasetConfig } from './load.js';

/** Per format: what its files can hold (`unknown`: optional parts). Validation splits are decided by the config. */
const FORMAT_OFFERS: Record<DatasetFormat, Omit<DataOffer, 'validationSplit'>> = {
  ndm: { socialGraph: false, eventTimes: true, followerCounts: false, text: false, cascadeGraph: false },
  infvae: { socialGraph: 'unknown', eventTimes: true, followerCounts: false, text: false, cascadeGraph: false },
  netinf: { socialGraph: 'unknown', eventTimes: true, followerCounts: false, text: false, cascadeGraph: false },
  infopath: { socialGraph: 'unknown', eventTimes: true, followerCounts: false, text: false, cascadeGraph: false },
  tideh: { socialGraph: false, eventTimes: true, followerCounts: true, text: false, cascadeGraph: false },
  seismic: { socialGraph: false, eventTimes: true, followerCounts: true, text: false, cascadeGraph: false },
  'long-csv': { socialGraph: false, eventTimes: true, followerCounts: true, text: false, cascadeGraph: false },
  weibo: { socialGraph: false, eventTimes: true, followerCounts: false, text: false, cascadeGraph: true },
  deepcas: { socialGraph: false, eventTimes: false, followerCounts: false, text: false, cascadeGraph: true },
  jsonl: { socialGraph: false, eventTimes: true, followerCounts: 'unknown', text: 'unknown', cascadeGraph: false },
};

/** The dataset's format (a registered dataset knows it). */
export function configuredFormat(config: DatasetConfig): DatasetFormat {
  return config.name !== undefined ? getDataset(config.name).format : config.format!;
}

/** What the dataset of `config` offers, before loading it. */
export function datasetOffer(config: DatasetConfig): DataOffer {
  const format = configuredFormat(config);
  const offer: DataOffer = { ...FORMAT_OFFERS[format], validationSplit: 'unknown' };
  if (config.name !== undefined) {
    const entry = getDataset(config.name);
    const roles = new Set(entry.files.map((f) => f.role));
    // A registered dataset lists its files: a graph role means a social graph (micro) is there.
    if (offer.socialGraph === 'unknown') offer.socialGraph = roles.has('graph');
    const ownValidation = roles.has('validation') && config.split.useDatasetSplits;
    offer.validationSplit = ownValidation || config.split.validationFraction > 0;
  } else {
    // A path dataset may or may not hold a validation file of its format.
    const mayHaveValidation = FORMATS[format].files.validation !== undefined && config.split.useDatasetSplits;
    offer.validationSplit = config.split.validationFraction > 0 ? true : mayHaveValidation ? 'unknown' : false;
  }
  return offer;
}
