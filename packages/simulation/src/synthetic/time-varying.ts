/**
 * Cascades over a continuous-time diffusion network whose transmission rates change in time, with
 * the true rate functions kept: the ground truth for InfoPath-style trackers (Gomez-Rodriguez,
 * Leskovec, Schölkopf, WSDM 2013, §5 uses such synthetic networks: edges that are constant, switch
 * on or off at a time, or oscillate).
 *
 * Each cascade starts at a uniform time in [0, timeSpan] from a uniform seed and spreads by the
 * continuous-time cascade (`simulateContinuousTime`) over the network frozen at its start time,
 * observed for `window` time units. The rates are taken as constant during one cascade: cascades
 * must be short against the time scale of the changes (window << timeSpan), as in the paper's
 * setting.
 */
import { CascadeError, RESERVED_USERS, type Cascade, type Rng } from '@cascade-lab/core';
import { ContinuousTimeScratch, simulateContinuousTime, type DelayDistribution } from '../continuous-time.js';
import { transmissionGraph } from '../graph.js';

/** How the rate of one edge evolves. */
export type RatePattern =
  /** alpha(t) = level. */
  | { kind: 'constant'; level: number }
  /** alpha(t) = before for t < at, after from then on (an edge switching on or off). */
  | { kind: 'step'; before: number; after: number; at: number }
  /** alpha(t) = level (1 + sin(2 pi t / period + phase)) / 2: oscillates between 0 and level. */
  | { kind: 'sinusoid'; level: number; period: number; phase: number };

export interface TimeVaryingEdge {
  source: number;
  target: number;
  pattern: RatePattern;
}

/** The true rate of an edge at time t. */
export function rateAt(pattern: RatePattern, t: number): number {
  switch (pattern.kind) {
    case 'constant':
      return pattern.level;
    case 'step':
      return t < pattern.at ? pattern.before : pattern.after;
    case 'sinusoid':
      return (pattern.level * (1 + Math.sin((2 * Math.PI * t) / pattern.period + pattern.phase))) / 2;
  }
}

export interface TimeVaryingOptions {
  /** Real users (vocabulary indices RESERVED_USERS .. RESERVED_USERS + numUsers - 1). */
  numUsers: number;
  /** Expected out-degree of the Erdős–Rényi digraph. */
  averageOutDegree: number;
  /** Peak rates are uniform in [min, max]. */
  rateRange: [number, number];
  numCascades: number;
  /** Cascade start times are uniform in [0, timeSpan]. */
  timeSpan: number;
  /** Each cascade is observed this long after its start. */
  window: number;
  /** Shares of constant, step and sinusoid edges (default 1/3 each). */
  mix?: { constant: number; step: number; sinusoid: number };
  delay?: DelayDistribution;
  rng: Rng;
}

export interface TimeVaryingData {
  numNodes: number;
  edges: TimeVaryingEdge[];
  /** Cascades in start-time order, absolute times; `observationEnd` = start + window. */
  cascades: (Cascade & { observationEnd: number })[];
}

/** Draws the network (from `rng.derive('graph')`), then the cascades (cascade i from `rng.derive('cascade:<i>')`). */
export function generateTimeVaryingCascades(options: TimeVaryingOptions): TimeVaryingData {
  const { numUsers, averageOutDegree, rateRange, numCascades, timeSpan, window, rng } = options;
  const delay = options.delay ?? 'exponential';
  if (!Number.isInteger(numUsers) || numUsers < 2) throw new RangeError(`generateTimeVaryingCascades: numUsers must be an integer >= 2, got ${numUsers}`);
  if (!(timeSpan > 0 && window > 0)) throw new RangeError('generateTimeVaryingCascades: timeSpan and window must be positive');
  const [lo, hi] = rateRange;
  if (!(lo > 0 && hi >= lo)) throw new RangeError('generateTimeVaryingCascades: rateRange must satisfy 0 < min <= max');
  const mix = options.mix ?? { constant: 1, step: 1, sinusoid: 1 };
  const totalMix = mix.constant + mix.step + mix.sinusoid;
  if (!(totalMix > 0)) throw new CascadeError('USAGE', 'generateTimeVaryingCascades: the edge mix must have a positive share');
  const numNodes = numUsers + RESERVED_USERS;
  const g = rng.derive('graph');
  const edgeP = averageOutDegree / (numUsers - 1);
  const edges: TimeVaryingEdge[] = [];
  for (let u = RESERVED_USERS; u < numNodes; u++) {
    for (let v = RESERVED_USERS; v < numNodes; v++) {
      if (u === v || !(g.next() < edgeP)) continue;
      const level = g.uniform(lo, hi);
      const x = g.next() * totalMix;
      let pattern: RatePattern;
      if (x < mix.constant) pattern = { kind: 'constant', level };
      else if (x < mix.constant + mix.step) {
        const on = g.next() < 0.5;
        pattern = { kind: 'step', before: on ? 0 : level, after: on ? level : 0, at: g.uniform(0.25, 0.75) * timeSpan };
      } else pattern = { kind: 'sinusoid', level, period: g.uniform(0.5, 1) * timeSpan, phase: g.uniform(0, 2 * Math.PI) };
      edges.push({ source: u, target: v, pattern });
    }
  }
  const sources = edges.map((e) => e.source);
  const targets = edges.map((e) => e.target);
  const starts = Array.from({ length: numCascades }, (_, i) => rng.derive(`start:${i}`).uniform(0, timeSpan)).sort((a, b) => a - b);
  const scratch = new ContinuousTimeScratch(numNodes);
  const out = new Int32Array(numNodes);
  const times = new Float64Array(numNodes);
  const cascades: TimeVaryingData['cascades'] = [];
  for (let i = 0; i < numCascades; i++) {
    const t0 = starts[i];
    const c = rng.derive(`cascade:${i}`);
    const graph = transmissionGraph(numNodes, sources, targets, edges.map((e) => rateAt(e.pattern, t0)), { shared: false });
    const seed = RESERVED_USERS + c.int(numUsers);
    const n = simulateContinuousTime({ graph, delay }, [seed], numNodes, window, c, out, times, 0, scratch);
    const events = [{ user: seed, time: t0 }];
    for (let k = 0; k < n; k++) events.push({ user: out[k], time: t0 + times[k] });
    cascades.push({ id: String(i), events, observationEnd: t0 + window });
  }
  return { numNodes, edges, cascades };
}
