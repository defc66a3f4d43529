/**
 * What a plugin reads from a dataset beyond its task's basics, and what a dataset offers. A plugin
 * declares `dataNeeds`; `cascade validate`/`run` compare them with what the config's dataset offers
 * (known from its format and registry entry before loading), and the conformance kit with what its
 * fixture data holds.
 */
import type { MacroscopicDataset, MicroscopicDataset } from './data-types.js';

export const DATA_NEEDS = ['socialGraph', 'eventTimes', 'followerCounts', 'text', 'cascadeGraph', 'validationSplit'] as const;
export type DataNeed = (typeof DATA_NEEDS)[number];

/** One line per need, for messages and `cascade plugins`. */
export const DATA_NEED_DESCRIPTIONS: Record<DataNeed, string> = {
  socialGraph: 'a social graph over the users (microscopic `graph`)',
  eventTimes: 'the time of every infection/retweet (macroscopic `windowEvents`; the DeepCas format has none)',
  followerCounts: 'follower counts of the retweeting users (all zero in the Weibo sample)',
  text: 'root-post text or news (a word vocabulary)',
  cascadeGraph: 'the graph of each cascade (who retweeted whom: the DeepCas and Weibo formats)',
  validationSplit: 'a non-empty validation split (early stopping or model selection)',
};

/** What a dataset offers, per need: `true`, `false`, or `unknown` (decided only once loaded). */
export type DataOffer = Record<DataNeed, boolean | 'unknown'>;

/** The needs among `needs` that `offer` does not meet (`unknown` counts as met). */
export function missingDataNeeds(needs: readonly DataNeed[] | undefined, offer: DataOffer): DataNeed[] {
  return (needs ?? []).filter((n) => offer[n] === false);
}

/** What a loaded dataset holds (every need decided). */
export function dataOfferOf(data: MicroscopicDataset | MacroscopicDataset): DataOffer {
  if ('users' in data) {
    return {
      socialGraph: data.graph !== undefined && data.graph.edges.length > 0,
      eventTimes: true,
      followerCounts: false,
      text: false,
      cascadeGraph: false,
      validationSplit: data.validation.length > 0,
    };
  }
  const all = [...data.train, ...data.validation, ...data.test];
  return {
    socialGraph: false,
    eventTimes: all.some((c) => c.windowEvents.length > 0),
    followerCounts: all.some((c) => c.rootFollowers > 0 || c.windowEvents.some((e) => e.followers > 0)),
    text: data.vocabularySize > 0,
    cascadeGraph: all.length > 0 && all.every((c) => c.cascadeGraph !== undefined),
    validationSplit: data.validation.length > 0,
  };
}

/** "needs a social graph (...)": one clause per missing need, for error messages. */
export function describeMissingNeeds(missing: readonly DataNeed[]): string {
  return missing.map((n) => `${n} (${DATA_NEED_DESCRIPTIONS[n]})`).join('; ');
}
