/**
 * A Twitter-sized synthetic microscopic dataset with a known network: the shape of the NDM paper's
 * Twitter row (Yang et al., AAAI 2017, Table 1: about 12,600 users, 3,000 cascades, mean length 38;
 * the public set of that size has a longest cascade of 2,368), generated so that benchmarks need no
 * download and can score network recovery against the truth.
 *
 * The model, and why:
 * - Network: a directed configuration-model graph whose out-degrees (followers: an edge u -> v means
 *   v sees u's posts) follow a discrete power law, P(K >= k) = (k / kMin)^-a for k >= kMin, capped at
 *   kMax; targets are uniform distinct users. Follower counts on Twitter are heavy tailed (Kwak et
 *   al., WWW 2010), and that tail is what gives a few very large cascades: a cascade that reaches a
 *   hub jumps by hundreds of users. Uniform targets keep a reached user's out-degree distributed like
 *   any user's, so the branching factor is E[K] x (transmission probability within the window).
 *   The default tail exponent a = 1.8 (density exponent 2.8), kMin = 3, kMax = 2,000 (mean
 *   out-degree about 6.3) was chosen by a scan on seeds 1-5 at the full size: a = 1.2 gives a
 *   longest cascade of 2,500 already at mean length 14 (the hubs dominate), a = 2 a longest of about
 *   1,800 at mean 37 (too light a tail); a = 1.8 gives both the NDM Twitter mean and its tail.
 * - Transmission: the continuous-time independent cascade of NetRate (Gomez-Rodriguez et al.,
 *   ICML 2011, §2) with exponential delays, each edge with its own rate (per hour) drawn uniformly
 *   from a range; a cascade starts at one uniformly chosen user at time 0 and is observed for a fixed
 *   window, so later generations have less time left and the window bounds the near-critical growth.
 *   The simulation is the package's `simulateContinuousTime`, i.e. the same engine NetRate's
 *   predictions use.
 * - Cascades with fewer than `minLength` users (default 2, as the NDM datasets drop single-user
 *   cascades) are redrawn from a fresh seed user of the same cascade stream.
 *
 * The defaults were tuned once on seed 1 for the NDM Twitter shape (see `TWITTER_SIZED_DEFAULTS`);
 * everything is deterministic from the seed: the network from `rng.derive('network')`, cascade i from
 * `rng.derive('cascade:<i>')`.
 */
import { CascadeError, RESERVED_USERS, Rng, type Cascade, type MicroscopicDataset, type SocialGraph } from '@cascade-lab/core';
import { ContinuousTimeScratch, simulateContinuousTime } from '../continuous-time.js';
import { transmissionGraph, type TransmissionGraph } from '../graph.js';
import { syntheticVocabulary } from './ic-cascades.js';

export interface TwitterSizedOptions {
  /** Seed (or a generator) for everything: network, then cascades. */
  seed: number | string | Rng;
  /** Real users (vocabulary indices RESERVED_USERS .. RESERVED_USERS + numUsers - 1). Default 12,600. */
  numUsers?: number;
  /** Default 3,000. */
  numCascades?: number;
  /** Out-degree power law P(K >= k) = (k / min)^-exponent, capped at max (default see TWITTER_SIZED_DEFAULTS). */
  outDegree?: { min: number; exponent: number; max: number };
  /** Edge rates (per hour) uniform in [min, max]. */
  rateRange?: [number, number];
  /** Observation window in hours after each cascade's first infection. */
  window?: number;
  /** Cascades shorter than this are redrawn (default 2). */
  minLength?: number;
}

/** The preset's defaults: the NDM Twitter shape (tuned on seed 1; the shape per seed is in the tests). */
export const TWITTER_SIZED_DEFAULTS = {
  numUsers: 12600,
  numCascades: 3000,
  outDegree: { min: 3, exponent: 1.8, max: 2000 },
  // 0.05-0.15 per hour: a mean delay of 10 hours on an edge.
  rateRange: [0.05, 0.15] as [number, number],
  // With these rates, the window that gives a mean length near 38 (6.5: 35.4-38.5 over seeds 1-5;
  // 6.7: 39.0-42.6); the window bounds the near-critical growth.
  window: 6.6,
  minLength: 2,
} as const;

export interface TwitterSizedData {
  /** Vocabulary indices (reserved included): numUsers + RESERVED_USERS. */
  numNodes: number;
  /** Unit of every event time, observation end and rate (rates are per hour). */
  timeUnit: 'hours';
  /** The true network: edge e is sources[e] -> targets[e] with exponential rate rates[e] per hour. */
  sources: Int32Array;
  targets: Int32Array;
  rates: Float64Array;
  /** The same edges as core's directed `SocialGraph` (what `edgeRecovery` of @cascade-lab/metrics scores against). */
  graph: SocialGraph;
  /** CSR form of the network (rates as weights), for the continuous-time engine. */
  network: TransmissionGraph;
  /** Cascades in generation order, each from time 0 (its first user) to `observationEnd` = window. */
  cascades: (Cascade & { observationEnd: number })[];
}

/** Discrete power law by inversion: floor(min U^(-1/a)), capped. */
function powerLawDegree(rng: Rng, min: number, exponent: number, max: number): number {
  const u = 1 - rng.next(); // in (0, 1]
  return Math.min(max, Math.floor(min * Math.pow(u, -1 / exponent)));
}

/** Generates the Twitter-sized network and cascades (see the module comment). */
export function twitterSizedCascades(options: TwitterSizedOptions): TwitterSizedData {
  const d = TWITTER_SIZED_DEFAULTS;
  const numUsers = options.numUsers ?? d.numUsers;
  const numCascades = options.numCascades ?? d.numCascades;
  const { min: kMin, exponent, max: kMaxAsked } = options.outDegree ?? d.outDegree;
  const [lo, hi] = options.rateRange ?? d.rateRange;
  const window = options.window ?? d.window;
  const minLength = options.minLength ?? d.minLength;
  if (!Number.isInteger(numUsers) || numUsers < 2) throw new RangeError(`twitterSizedCascades: numUsers must be an integer >= 2, got ${numUsers}`);
  if (!Number.isInteger(numCascades) || numCascades < 0) throw new RangeError(`twitterSizedCascades: numCascades must be a non-negative integer, got ${numCascades}`);
  if (!(Number.isInteger(kMin) && kMin >= 1 && exponent > 0 && kMaxAsked >= kMin)) throw new RangeError('twitterSizedCascades: outDegree needs an integer min >= 1, exponent > 0 and max >= min');
  if (!(lo > 0 && hi >= lo)) throw new RangeError('twitterSizedCascades: rateRange must satisfy 0 < min <= max');
  if (!(window > 0)) throw new RangeError('twitterSizedCascades: window must be positive');
  if (!(Number.isInteger(minLength) && minLength >= 1)) throw new RangeError('twitterSizedCascades: minLength must be a positive integer');
  const kMax = Math.min(kMaxAsked, numUsers - 1);
  const rng = options.seed instanceof Rng ? options.seed : Rng.fromSeed(options.seed);
  const numNodes = numUsers + RESERVED_USERS;

  // Network: out-degree per user, then that many distinct uniform targets (no self loop).
  const g = rng.derive('network');
  const degrees = new Int32Array(numNodes);
  let numEdges = 0;
  for (let u = RESERVED_USERS; u < numNodes; u++) {
    degrees[u] = powerLawDegree(g, kMin, exponent, kMax);
    numEdges += degrees[u];
  }
  const sources = new Int32Array(numEdges);
  const targets = new Int32Array(numEdges);
  const rates = new Float64Array(numEdges);
  const taken = new Int32Array(numNodes).fill(-1); // taken[v] === u: v already a target of u
  let e = 0;
  for (let u = RESERVED_USERS; u < numNodes; u++) {
    taken[u] = u;
    for (let k = 0; k < degrees[u]; k++) {
      let v: number;
      do v = RESERVED_USERS + g.int(numUsers);
      while (taken[v] === u);
      taken[v] = u;
      sources[e] = u;
      targets[e] = v;
      rates[e++] = g.uniform(lo, hi);
    }
  }
  const network = transmissionGraph(numNodes, sources, targets, rates, { shared: false });
  const flat = new Int32Array(2 * numEdges);
  for (let i = 0; i < numEdges; i++) {
    flat[2 * i] = sources[i];
    flat[2 * i + 1] = targets[i];
  }

  const scratch = new ContinuousTimeScratch(numNodes);
  const out = new Int32Array(numNodes);
  const times = new Float64Array(numNodes);
  const cascades: TwitterSizedData['cascades'] = [];
  for (let i = 0; i < numCascades; i++) {
    const c = rng.derive(`cascade:${i}`);
    for (let attempt = 0; ; attempt++) {
      if (attempt === 1000) throw new CascadeError('INTERNAL', `twitterSizedCascades: 1000 seed users in a row gave cascades shorter than ${minLength}`, { hint: 'raise the rates, the window or the out-degrees, or lower minLength' });
      const seed = RESERVED_USERS + c.int(numUsers);
      const n = simulateContinuousTime({ graph: network, delay: 'exponential' }, [seed], numNodes, window, c, out, times, 0, scratch);
      if (n + 1 < minLength) continue;
      const events = [{ user: seed, time: 0 }];
      for (let k = 0; k < n; k++) events.push({ user: out[k], time: times[k] });
      cascades.push({ id: `tw-${i}`, events, observationEnd: window });
      break;
    }
  }
  return { numNodes, timeUnit: 'hours', sources, targets, rates, graph: { directed: true, numNodes, edges: flat }, network, cascades };
}

/**
 * The true edges u -> v that some cascade shows in order (u infected before v in it): the edges a
 * method could possibly find from these cascades. With 3,000 cascades most of the ~79,000 edges never
 * have both ends in one cascade, so recovery against the whole network is bounded by the data;
 * recovery against this subgraph separates the method from that bound.
 */
export function edgesShownInOrder(data: Pick<TwitterSizedData, 'numNodes' | 'network' | 'cascades'>): SocialGraph {
  const { numNodes, network, cascades } = data;
  const position = new Int32Array(numNodes).fill(-1);
  const shown = new Uint8Array(network.targets.length);
  for (const c of cascades) {
    c.events.forEach((ev, k) => (position[ev.user] = k));
    for (let k = 0; k < c.events.length; k++) {
      const u = c.events[k].user;
      for (let e = network.offsets[u]; e < network.offsets[u + 1]; e++) if (position[network.targets[e]] > k) shown[e] = 1;
    }
    for (const ev of c.events) position[ev.user] = -1;
  }
  const edges: number[] = [];
  for (let u = 0; u < numNodes; u++) for (let e = network.offsets[u]; e < network.offsets[u + 1]; e++) if (shown[e]) edges.push(u, network.targets[e]);
  return { directed: true, numNodes, edges: Int32Array.from(edges) };
}

/** Shape statistics of a set of cascades: lengths' mean, median (lower middle), 99th percentile and max. */
export function cascadeLengthStats(cascades: readonly Cascade[]): { cascades: number; mean: number; median: number; p99: number; max: number } {
  const lengths = cascades.map((c) => c.events.length).sort((a, b) => a - b);
  const n = lengths.length;
  if (n === 0) return { cascades: 0, mean: NaN, median: NaN, p99: NaN, max: NaN };
  return { cascades: n, mean: lengths.reduce((a, b) => a + b, 0) / n, median: lengths[(n - 1) >> 1], p99: lengths[Math.floor(0.99 * (n - 1))], max: lengths[n - 1] };
}

/**
 * The generated data as a `MicroscopicDataset` (time unit hours, the true network as its `graph`):
 * the last `testFraction` of the cascades is the test set and `validationFraction` of the rest the
 * validation set (cascades are independent draws, so their order is already random). The defaults
 * give the NDM Twitter proportions (2,491 training + validation and 346 test of 2,837: about 12%
 * test, and the NDM paper's 10% validation of the rest).
 */
export function twitterSizedDataset(data: TwitterSizedData, options: { name?: string; testFraction?: number; validationFraction?: number } = {}): MicroscopicDataset {
  const n = data.cascades.length;
  const nTest = Math.round(n * (options.testFraction ?? 346 / 2837));
  const nTrainAll = n - nTest;
  const nVal = Math.round(nTrainAll * (options.validationFraction ?? 0.1));
  return {
    name: options.name ?? 'synthetic-twitter-sized',
    users: syntheticVocabulary(data.numNodes),
    timeUnit: data.timeUnit,
    train: data.cascades.slice(0, nTrainAll - nVal),
    validation: data.cascades.slice(nTrainAll - nVal, nTrainAll),
    test: data.cascades.slice(nTrainAll),
    graph: data.graph,
  };
}
