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

/** One infection: a user (vocabulary index) and the time it happened (seconds, or the dataset's unit). */
export interface InfectionEvent {
  user: number;
  time: number;
}

/** A microscopic cascade: infections in time order; `events[0]` is the first infected user (the seed). */
export interface Cascade {
  id: string;
  events: InfectionEvent[];
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
  /** Cascades to fit on. */
  train: Cascade[];
  /** Held-out training cascades for early stopping and tuning (may be empty). */
  validation: Cascade[];
  /** Cascades the evaluation protocol scores; never seen in training. */
  test: Cascade[];
  /** Social graph over the same vocabulary, when the dataset has one. */
  graph?: SocialGraph;
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
