/**
 * Continuous-time independent cascade with per-edge transmission delays, the generative process of
 * NetRate (Gomez-Rodriguez, Balduzzi, Schölkopf, ICML 2011, §2) and InfoPath: when j is infected at
 * t_j it draws, for every out-neighbour i, a delay from the edge's distribution with rate
 * alpha_{j,i}; i is infected at the earliest arrival over its infected in-neighbours. Infections
 * happen in time order until the budget or the horizon is reached.
 *
 * Delay densities (NetRate §2, "pairwise transmission likelihoods"), with survival S and the draw
 * from a uniform U in (0, 1] used here:
 * - exponential: f(t) = alpha e^(-alpha t); S = e^(-alpha t); t = -ln(U) / alpha;
 * - power-law:   f(t) = (alpha / delta) (t / delta)^(-1 - alpha) for t > delta; S = (t / delta)^-alpha;
 *                t = delta U^(-1/alpha);
 * - Rayleigh:    f(t) = alpha t e^(-alpha t^2 / 2); S = e^(-alpha t^2 / 2); t = sqrt(-2 ln(U) / alpha).
 * An edge with alpha = 0 never transmits.
 */
import type { Rng } from '@cascade-lab/core';
import type { TransmissionGraph } from './graph.js';

export const DELAY_DISTRIBUTIONS = ['exponential', 'power-law', 'rayleigh'] as const;
export type DelayDistribution = (typeof DELAY_DISTRIBUTIONS)[number];

/** A continuous-time diffusion network: rates on the edges and how delays are distributed. */
export interface ContinuousTimeNetwork {
  /** Edge weights are the transmission rates alpha_{j,i} >= 0. */
  graph: TransmissionGraph;
  /** One distribution for every edge, or per edge an index into DELAY_DISTRIBUTIONS (same order as the graph's edges). */
  delay: DelayDistribution | Uint8Array;
  /** delta of the power-law delay (the smallest possible delay); default 1. */
  powerLawMinDelay?: number;
}

const EXPONENTIAL = 0;
const POWER_LAW = 1;
const RAYLEIGH = 2;

/** Draws a delay of the given kind and rate (> 0). */
export function sampleDelay(kind: number, rate: number, minDelay: number, rng: Rng): number {
  const u = 1 - rng.next(); // (0, 1]
  switch (kind) {
    case EXPONENTIAL:
      return -Math.log(u) / rate;
    case POWER_LAW:
      return minDelay * Math.pow(u, -1 / rate);
    case RAYLEIGH:
      return Math.sqrt((-2 * Math.log(u)) / rate);
    default:
      throw new RangeError(`sampleDelay: unknown delay kind ${kind}`);
  }
}

/**
 * The delay models' log-likelihood pieces per unit rate, the building blocks of NetRate's convex
 * likelihood (ICML 2011, §3, Table 1): for an edge of rate alpha and a delay dt, the log-survival
 * is -alpha * `unitCumulativeHazard(kind, dt)` and the hazard is alpha * `unitHazard(kind, dt)`, both
 * linear in alpha:
 * - exponential: cumulative dt, hazard 1;
 * - power-law:   cumulative ln(dt / delta), hazard 1 / dt, for dt > delta (0 and 0 below: no delay
 *   is shorter than delta);
 * - Rayleigh:    cumulative dt^2 / 2, hazard dt.
 * A delay dt <= 0 has cumulative hazard 0 (and hazard 0: nobody infects at its own time).
 */
export function unitCumulativeHazard(kind: number, dt: number, minDelay: number): number {
  if (!(dt > 0)) return 0;
  switch (kind) {
    case EXPONENTIAL:
      return dt;
    case POWER_LAW:
      return dt > minDelay ? Math.log(dt / minDelay) : 0;
    case RAYLEIGH:
      return 0.5 * dt * dt;
    default:
      throw new RangeError(`unitCumulativeHazard: unknown delay kind ${kind}`);
  }
}

/** The hazard of a delay dt per unit rate (see `unitCumulativeHazard`). */
export function unitHazard(kind: number, dt: number, minDelay: number): number {
  if (!(dt > 0)) return 0;
  switch (kind) {
    case EXPONENTIAL:
      return 1;
    case POWER_LAW:
      return dt > minDelay ? 1 / dt : 0;
    case RAYLEIGH:
      return dt;
    default:
      throw new RangeError(`unitHazard: unknown delay kind ${kind}`);
  }
}

/** Index of a delay distribution's name in DELAY_DISTRIBUTIONS (the `kind` of the functions above). */
export function delayKindIndex(delay: DelayDistribution): number {
  return kindIndex(delay);
}

/** Per-thread buffers: infection stamps, best arrival times, and a binary min-heap of arrivals. */
export class ContinuousTimeScratch {
  readonly infected: Int32Array;
  readonly reached: Int32Array;
  readonly best: Float64Array;
  heapTimes: Float64Array;
  heapNodes: Int32Array;
  heapSize = 0;
  mark = 0;
  constructor(numNodes: number) {
    this.infected = new Int32Array(numNodes);
    this.reached = new Int32Array(numNodes);
    this.best = new Float64Array(numNodes);
    this.heapTimes = new Float64Array(64);
    this.heapNodes = new Int32Array(64);
  }
  newMark(): number {
    if (this.mark === 0x7fffffff) {
      this.infected.fill(0);
      this.reached.fill(0);
      this.mark = 0;
    }
    this.heapSize = 0;
    return ++this.mark;
  }
  push(t: number, v: number): void {
    if (this.heapSize === this.heapTimes.length) {
      const times = new Float64Array(this.heapTimes.length * 2);
      times.set(this.heapTimes);
      const nodes = new Int32Array(this.heapNodes.length * 2);
      nodes.set(this.heapNodes);
      this.heapTimes = times;
      this.heapNodes = nodes;
    }
    const ht = this.heapTimes;
    const hn = this.heapNodes;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (ht[parent] <= t) break;
      ht[i] = ht[parent];
      hn[i] = hn[parent];
      i = parent;
    }
    ht[i] = t;
    hn[i] = v;
  }
  /** Removes the earliest arrival; its time and node are left in `poppedTime` / `poppedNode`. */
  pop(): void {
    const ht = this.heapTimes;
    const hn = this.heapNodes;
    this.poppedTime = ht[0];
    this.poppedNode = hn[0];
    const n = --this.heapSize;
    if (n === 0) return;
    const t = ht[n];
    const v = hn[n];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && ht[child + 1] < ht[child]) child++;
      if (ht[child] >= t) break;
      ht[i] = ht[child];
      hn[i] = hn[child];
      i = child;
    }
    ht[i] = t;
    hn[i] = v;
  }
  poppedTime = 0;
  poppedNode = 0;
}

function kindIndex(delay: DelayDistribution): number {
  const k = DELAY_DISTRIBUTIONS.indexOf(delay);
  if (k < 0) throw new RangeError(`unknown delay distribution "${delay}" (use ${DELAY_DISTRIBUTIONS.join(', ')})`);
  return k;
}

/** Checks a network once before simulating it. */
export function checkContinuousTimeNetwork(network: ContinuousTimeNetwork): void {
  if (typeof network.delay === 'string') kindIndex(network.delay);
  else {
    if (network.delay.length !== network.graph.targets.length) throw new RangeError(`continuous-time network: ${network.delay.length} delay kinds for ${network.graph.targets.length} edges`);
    for (let e = 0; e < network.delay.length; e++) if (network.delay[e] >= DELAY_DISTRIBUTIONS.length) throw new RangeError(`continuous-time network: edge ${e} has delay kind ${network.delay[e]}`);
  }
  const delta = network.powerLawMinDelay ?? 1;
  if (!(delta > 0 && Number.isFinite(delta))) throw new RangeError(`continuous-time network: powerLawMinDelay must be a positive number, got ${delta}`);
}

/**
 * One simulation from `seeds` (all infected at time 0). Writes the infected users in time order to
 * `out[offset ..]` and their infection times to `times[offset ..]`, at most `budget` of them, only
 * infections at times <= `horizon`; returns how many it wrote.
 */
export function simulateContinuousTime(
  network: ContinuousTimeNetwork,
  seeds: readonly number[],
  budget: number,
  horizon: number,
  rng: Rng,
  out: Int32Array,
  times: Float64Array | undefined,
  offset: number,
  scratch: ContinuousTimeScratch,
): number {
  const { offsets, targets, weights } = network.graph;
  const perEdge = typeof network.delay === 'string' ? undefined : network.delay;
  const fixedKind = typeof network.delay === 'string' ? kindIndex(network.delay) : 0;
  const delta = network.powerLawMinDelay ?? 1;
  const { infected, reached, best } = scratch;
  const mark = scratch.newMark();
  const relax = (u: number, t: number): void => {
    for (let e = offsets[u], end = offsets[u + 1]; e < end; e++) {
      const v = targets[e];
      const rate = weights[e];
      if (infected[v] === mark || !(rate > 0)) continue;
      const arrival = t + sampleDelay(perEdge ? perEdge[e] : fixedKind, rate, delta, rng);
      if (arrival > horizon) continue;
      if (reached[v] === mark && best[v] <= arrival) continue; // cannot be the first arrival
      reached[v] = mark;
      best[v] = arrival;
      scratch.push(arrival, v);
    }
  };
  for (const s of seeds) infected[s] = mark;
  for (const s of seeds) relax(s, 0);
  let added = 0;
  while (added < budget && scratch.heapSize > 0) {
    scratch.pop();
    const v = scratch.poppedNode;
    if (infected[v] === mark) continue;
    const t = scratch.poppedTime;
    infected[v] = mark;
    out[offset + added] = v;
    if (times) times[offset + added] = t;
    added++;
    if (added < budget) relax(v, t);
  }
  return added;
}
