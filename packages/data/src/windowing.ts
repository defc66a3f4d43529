/**
 * The macroscopic task's observation-window transform (GammaCas paper, section 3, problem
 * formulation and the bin counts C^r_m, C^f_m): the first `observationWindowSeconds` after the root
 * post, cut into M bins of `binWidthSeconds` (default 6 h / 5 min, M = 72); per bin the retweet count
 * C^r_m and the sum of the retweeters' followers C^f_m; and the cumulative size |R_t| (root included)
 * at each prediction horizon.
 *
 * Conventions, the paper's: the window is (t0, t0 + obs] and bin m covers ((m-1) d, m d], so a
 * retweet at t falls in bin ceil(t / d) - 1 (0-based; a retweet at exactly t = 0 goes to the first
 * bin), and the size at time T counts the root and every retweet with time <= T. Hence
 * observedSize = 1 + the sum of the counts. A horizon past the data's end (the cascade's
 * `observedUntil`, or its last event when that is unknown) has an unknown size: NaN, never the last
 * count carried forward.
 */
import type { MacroCascade, WindowedCascade } from '@cascade-lab/core';
import type { WordVocabulary } from './vocabulary.js';
import { cascadeGraphUpTo } from './cascade-graph.js';

/** Horizons of the GammaCas paper, in hours. */
export const DEFAULT_HORIZONS_HOURS: readonly number[] = [12, 18, 24, 36, 48, 72, 120, 240, 360];
export const DEFAULT_OBSERVATION_WINDOW_SECONDS = 6 * 3600;
export const DEFAULT_BIN_WIDTH_SECONDS = 5 * 60;

export interface WindowOptions {
  observationWindowSeconds?: number;
  binWidthSeconds?: number;
  horizonsHours?: readonly number[];
}

export interface ResolvedWindow {
  observationWindowSeconds: number;
  binWidthSeconds: number;
  numBins: number;
  horizonsHours: number[];
}

export function resolveWindow(options: WindowOptions = {}): ResolvedWindow {
  const w = options.observationWindowSeconds ?? DEFAULT_OBSERVATION_WINDOW_SECONDS;
  const bin = options.binWidthSeconds ?? DEFAULT_BIN_WIDTH_SECONDS;
  const horizonsHours = [...(options.horizonsHours ?? DEFAULT_HORIZONS_HOURS)];
  if (!(w > 0) || !(bin > 0)) throw new RangeError(`observation window and bin width must be positive, got ${w} s and ${bin} s`);
  const numBins = w / bin;
  if (!Number.isInteger(numBins)) throw new RangeError(`the observation window (${w} s) must be a whole number of bins (${bin} s)`);
  for (let k = 0; k < horizonsHours.length; k++) {
    const h = horizonsHours[k];
    if (!(h * 3600 >= w)) throw new RangeError(`horizon ${h} h is inside the observation window (${w / 3600} h)`);
    if (k > 0 && !(h > horizonsHours[k - 1])) throw new RangeError('horizons must be strictly increasing');
  }
  return { observationWindowSeconds: w, binWidthSeconds: bin, numBins, horizonsHours };
}

/** Seconds after the root up to which the cascade's data is complete. */
export function dataEnd(c: MacroCascade): number {
  if (c.observedUntil !== undefined) return c.observedUntil;
  return c.events.length > 0 ? c.events[c.events.length - 1].time : 0;
}

/** Number of retweets with time <= t (events sorted by time): binary search. */
export function retweetsUpTo(c: MacroCascade, t: number): number {
  let lo = 0;
  let hi = c.events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (c.events[mid].time <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Size (root included) at `seconds` after the root, or NaN when the data does not reach that time
 * (`seconds` > {@link dataEnd}).
 */
export function sizeAt(c: MacroCascade, seconds: number): number {
  if (seconds > dataEnd(c)) return Number.NaN;
  return 1 + retweetsUpTo(c, seconds);
}

export interface WindowCascadeOptions extends WindowOptions {
  /** Encodes the root text and news tokens, when the cascade has them. */
  words?: WordVocabulary;
  /** Keep at most this many text tokens (default: all). */
  textLength?: number;
  /** Keep at most this many tokens per news item (default: all). */
  newsLength?: number;
}

/** The windowed view of one cascade. Events must be in time order (every parser returns them so); RangeError otherwise. */
export function windowCascade(c: MacroCascade, options: WindowCascadeOptions = {}): WindowedCascade {
  const win = resolveWindow(options);
  const counts = new Float32Array(win.numBins);
  const followerSums = new Float32Array(win.numBins);
  // Binning stops at the window's end and sizes use binary search: both need time order.
  for (let i = 1; i < c.events.length; i++) {
    if (!(c.events[i].time >= c.events[i - 1].time)) throw new RangeError(`cascade ${c.id}: retweets must be in time order (${c.events[i].time} after ${c.events[i - 1].time})`);
  }
  const windowEvents = [];
  for (const e of c.events) {
    if (e.time > win.observationWindowSeconds) break;
    if (!(e.time >= 0)) throw new RangeError(`cascade ${c.id}: retweet at negative time ${e.time}`);
    const bin = Math.max(0, Math.ceil(e.time / win.binWidthSeconds) - 1);
    counts[bin] += 1;
    followerSums[bin] += e.followers;
    windowEvents.push(e);
  }
  const targets = Float64Array.from(win.horizonsHours, (h) => sizeAt(c, h * 3600));
  const out: WindowedCascade = {
    id: c.id,
    counts,
    followerSums,
    rootFollowers: c.rootFollowers,
    observedSize: 1 + windowEvents.length,
    targets,
    windowEvents,
  };
  if (c.cascadeGraph) out.cascadeGraph = cascadeGraphUpTo(c.cascadeGraph, win.observationWindowSeconds);
  if (options.words && c.text) out.textTokens = options.words.encode(c.text, options.textLength);
  if (options.words && c.news) out.newsTokens = c.news.map((n) => options.words!.encode(n.tokens, options.newsLength));
  return out;
}

export interface WindowDatasetOptions extends WindowCascadeOptions {
  /** `mark` (default): unknown targets are NaN. `drop`: cascades with any unknown target are left out. */
  pastEnd?: 'mark' | 'drop';
}

export interface WindowedPart {
  cascades: WindowedCascade[];
  /** Cascades left out because a horizon is past their data (pastEnd: drop). */
  droppedPastEnd: number;
  /** Cascades left out because their declared observation ends inside the window. */
  droppedShortObservation: number;
}

/** Windows a list of cascades, applying the past-the-end policy. */
export function windowCascades(cascades: readonly MacroCascade[], options: WindowDatasetOptions = {}): WindowedPart {
  const win = resolveWindow(options);
  const out: WindowedPart = { cascades: [], droppedPastEnd: 0, droppedShortObservation: 0 };
  for (const c of cascades) {
    if (c.observedUntil !== undefined && c.observedUntil < win.observationWindowSeconds) {
      out.droppedShortObservation++;
      continue;
    }
    const w = windowCascade(c, options);
    if ((options.pastEnd ?? 'mark') === 'drop' && w.targets.some(Number.isNaN)) {
      out.droppedPastEnd++;
      continue;
    }
    out.cascades.push(w);
  }
  return out;
}
