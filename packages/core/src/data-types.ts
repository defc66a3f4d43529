/**
 * The data shapes plugins and evaluation code agree on. Parsers in `@cascade-lab/data` produce them;
 * models and the simulation harness consume them. Kept here (not in the data package) so that a
 * plugin depends on contracts, not on parsers.
 */

/** Index 0 of every user vocabulary: padding (the NDM code's `<blank>`). */
export const PAD_USER = 0;
/** Index 1 of every user vocabulary: the "Terminate" user `</s>` that ends a cascade. */
export const END_USER = 1;
/** Number of reserved indices before the first real user. */
export const RESERVED_USERS = 2;

/**
 * Unit of a dataset's timestamps. The registry knows it per dataset (Memetracker: hours, Irvine:
 * seconds; NDM paper §5.1 and the data package's PROVENANCE); `unknown` for synthetic or undocumented
 * data, whose times are still comparable within the dataset.
 */
export type TimeUnit = 'seconds' | 'minutes' | 'hours' | 'days' | 'unknown';

export const TIME_UNITS = ['seconds', 'minutes', 'hours', 'days', 'unknown'] as const satisfies readonly TimeUnit[];

/** Seconds in one unit of time, or undefined for `unknown` (never guess a unit). */
export function secondsPerTimeUnit(unit: TimeUnit): number | undefined {
  switch (unit) {
    case 'seconds':
      return 1;
    case 'minutes':
      return 60;
    case 'hours':
      return 3600;
    case 'days':
      return 86400;
    default:
      return undefined;
  }
}

/** One infection: a user (vocabulary index) and the time it happened, in the dataset's `timeUnit`. */
export interface InfectionEvent {
  user: number;
  time: number;
}

/** A microscopic cascade: infections in time order; `events[0]` is the first infected user (the seed). */
export interface Cascade {
  id: string;
  events: InfectionEvent[];
  /**
   * Time (the dataset's unit, same origin as the events) up to which this cascade was observed:
   * users not infected by then are known to be uninfected up to it (survival terms of netrate-style
   * likelihoods). Undefined: observed up to its last event. Set by the loader from the dataset
   * config's `observation` section.
   */
  observationEnd?: number;
}

/** Users of a dataset: index <-> raw id. Index 0 is `<blank>`, 1 is `</s>`, real users start at 2. */
export interface UserVocabulary {
  /** Number of indices, the two reserved ones included (the size of a model's output layer). */
  readonly size: number;
  indexOf(rawId: string): number | undefined;
  rawIdOf(index: number): string;
}

/** An undirected or directed social graph over vocabulary indices. */
export interface SocialGraph {
  directed: boolean;
  /** Number of vocabulary indices (nodes are 0..numNodes-1; reserved indices have no edges). */
  numNodes: number;
  /** Edge list as flat pairs: source at 2k, target at 2k+1. */
  edges: Int32Array;
}

/** What a microscopic plugin trains and is evaluated on. */
export interface MicroscopicDataset {
  name: string;
  users: UserVocabulary;
  /** Unit of every event time and observation end (`secondsPerTimeUnit(timeUnit)` converts). */
  timeUnit: TimeUnit;
  /** Cascades to fit on. */
  train: Cascade[];
  /** Held-out training cascades for early stopping and tuning (may be empty). */
  validation: Cascade[];
  /** Cascades the evaluation protocol scores; never seen in training. */
  test: Cascade[];
  /** Social graph over the same vocabulary, when the dataset has one. */
  graph?: SocialGraph;
}

/**
 * The graph of one cascade (who passed it to whom), as the DeepCas and Weibo (DeepHawkes path)
 * formats give it. Nodes are indices local to the cascade, the root (first starter) being 0;
 * `nodeIds` keeps the format's raw ids when it has them.
 */
export interface CascadeGraph {
  /** Number of nodes (node indices are 0..numNodes-1; 0 is the root). */
  numNodes: number;
  /** Directed edges as flat pairs: source at 2k, target at 2k+1 (parent -> child). */
  edges: Int32Array;
  /**
   * Per edge, the time (seconds since the root post) at which its target was infected through it,
   * when the format has times (Weibo paths); lets the window keep the part observed in time.
   */
  edgeTimes?: Float64Array;
  /** One weight per edge, when the format gives weights (DeepCas' `src:tgt:w`). */
  weights?: Float32Array;
  /** Raw id of each node, index-aligned, when the format names nodes. */
  nodeIds?: string[];
}

/** One retweet of a macroscopic cascade. */
export interface RetweetEvent {
  /** Seconds since the root post. */
  time: number;
  /** Follower count of the retweeting user (0 when unknown). */
  followers: number;
  /** Raw user id, when the format carries it. */
  user?: string;
}

/** A news item published around a cascade's root post (GammaCas' external-context signal). */
export interface NewsItem {
  /** Seconds relative to the root post (negative: before it). */
  time: number;
  tokens: string[];
}

/** A macroscopic cascade as read from disk: the root post and every retweet. */
export interface MacroCascade {
  id: string;
  /** Unix time of the root post in seconds (0 when the format does not say). */
  rootTime: number;
  rootFollowers: number;
  /** Retweets in time order, the root excluded. */
  events: RetweetEvent[];
  /** Tokens of the root post's text, when known. */
  text?: string[];
  news?: NewsItem[];
  /**
   * Seconds after the root up to which the data is complete (the crawl's end). Sizes at horizons
   * past it are unknown, not equal to the last count. Undefined: complete up to the last event.
   */
  observedUntil?: number;
  /** The cascade graph of the whole cascade, when the format has one (Weibo paths, DeepCas edges). */
  cascadeGraph?: CascadeGraph;
}

/** A cascade after the observation-window transform of the macroscopic task. */
export interface WindowedCascade {
  id: string;
  /** Retweets per bin inside the observation window (length = number of bins). */
  counts: Float32Array;
  /** Sum of retweeters' followers per bin. */
  followerSums: Float32Array;
  rootFollowers: number;
  /** Cascade size at the end of the observation window, the root included. */
  observedSize: number;
  /** Size (root included) at each horizon of the dataset; NaN where the data does not reach it. */
  targets: Float64Array;
  /** Root text as vocabulary indices (0 = padding), when the dataset has text. */
  textTokens?: Int32Array;
  /** News items as vocabulary indices, when the dataset has news. */
  newsTokens?: Int32Array[];
  /** Raw event times (seconds since root) inside the window, for generative baselines. */
  windowEvents: RetweetEvent[];
  /**
   * The part of the cascade graph observed inside the window (nodes infected by its end, the root
   * being node 0), when the format has a graph (`dataNeeds: ['cascadeGraph']`).
   */
  cascadeGraph?: CascadeGraph;
}

/** What a macroscopic plugin trains and is evaluated on. */
export interface MacroscopicDataset {
  name: string;
  observationWindowSeconds: number;
  binWidthSeconds: number;
  horizonsHours: number[];
  /** Word vocabulary size for text/news tokens (0 when the dataset has no text). */
  vocabularySize: number;
  /**
   * The words of that vocabulary in index order (0 = padding), when known: lets a model initialise
   * its embeddings from a file of pre-trained word vectors.
   */
  words?: readonly string[];
  train: WindowedCascade[];
  validation: WindowedCascade[];
  test: WindowedCascade[];
}
