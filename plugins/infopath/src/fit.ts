/**
 * InfoPath (Gomez-Rodriguez, Leskovec, Schölkopf, WSDM 2013, §3-4): time-varying transmission rates
 * alpha_ji(t) tracked by stochastic gradient steps of NetRate's survival likelihood over the
 * cascades seen up to each time step.
 *
 * At steps t_1 < ... < t_K (evenly spaced over the data's time span) the fitter
 * 1. samples a batch of the cascades started by t_k (the paper's sampling choices: uniform over all
 *    of them, uniform inside a recent window, or weighted by recency with an exponential or a
 *    Rayleigh kernel), each observed up to min(its own end, t_k);
 * 2. computes, for every tracked pair j -> i the batch touches, the gradient of the batch's
 *    negative log-likelihood g = B - N, with B the survival coefficient (sum of Psi) and N the sum of
 *    h / s over the log terms (likelihood of NetRate, ICML 2011 Eq. 5-7);
 * 3. takes a projected stochastic gradient step alpha <- max(eps, alpha - eta * (alpha / B) * g),
 *    the projection onto [eps, infinity) with eps a tiny floor (SNAP's InfoPath bounds its rates
 *    from below as well).
 *
 * The step is preconditioned by alpha / B (the diagonal scaling of the EM/minorise-maximise update:
 * with eta = 1 it is exactly one EM update on the batch), so one step size eta in (0, 1] fits every
 * time unit (hours, seconds) without retuning a learning rate; for eta <= 1 the step never leaves
 * alpha >= 0. A constant eta forgets old batches geometrically, which is what lets the estimate
 * follow rates that change. The floor eps (a fraction `rateFloor` of the initial rate) keeps every
 * tracked rate positive, so that an edge that stopped transmitting can grow again at the
 * multiplicative speed of the EM step once it transmits again (a rate at exactly 0 would drop out
 * of every log term and could not). Rates at the floor are reported as 0 (absent edges). Pairs enter the tracked set the first
 * time j precedes i in a sampled cascade, at a common initial rate (data-driven: infections per unit
 * of pairwise exposure); pairs never seen in that order keep rate 0 (their gradient is >= 0).
 */
import { throwIfCancelled, type Cascade, type ProgressReporter, type Rng } from '@cascade-lab/core';
import { delayKindIndex, unitCumulativeHazard, unitHazard, type DelayDistribution } from '@cascade-lab/simulation';

export const SAMPLINGS = ['uniform', 'window', 'exponential', 'rayleigh'] as const;
export type Sampling = (typeof SAMPLINGS)[number];

export interface InfoPathOptions {
  delay: DelayDistribution;
  powerLawMinDelay: number;
  /** Observe each cascade this long after its first infection; undefined: its observationEnd or last infection. */
  observationWindow?: number;
  /** Number of time steps over the data's time span. */
  steps: number;
  sampling: Sampling;
  /** Window length, or the exponential / Rayleigh time scale, as a fraction of the data's time span. */
  samplingScale: number;
  /** Cascades drawn per step (with replacement, by the sampling weights). */
  batchSize: number;
  /** eta: step size of the preconditioned gradient step, in (0, 1]. */
  stepSize: number;
  /** Gradient steps on each step's batch. */
  iterationsPerStep: number;
  /** Lower bound of every tracked rate, as a fraction of the initial rate; rates at it count as 0. */
  rateFloor: number;
  /** Stop after the last step at or before this time (dataset unit); undefined: run every step. */
  until?: number;
  /** Pairs whose rate to record after every step (for plots and tests). */
  record?: { sources: ArrayLike<number>; targets: ArrayLike<number> };
  rng: Rng;
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

export interface InfoPathFit {
  sources: Int32Array;
  targets: Int32Array;
  /** Rates after the last step taken. */
  rates: Float64Array;
  /** Time of each step taken. */
  stepTimes: Float64Array;
  /** recorded[k * numRecorded + p]: rate of recorded pair p after step k. */
  recorded: Float64Array;
  initialRate: number;
  cascadesUsed: number;
}

interface Observed {
  users: Int32Array;
  times: Float64Array;
  start: number;
  end: number;
}

function observe(cascades: readonly Cascade[], window: number | undefined): Observed[] {
  const out: Observed[] = [];
  for (const c of cascades) {
    if (c.events.length < 2) continue;
    const t0 = c.events[0].time;
    const end = window !== undefined ? t0 + window : (c.observationEnd ?? c.events[c.events.length - 1].time);
    const users: number[] = [];
    const times: number[] = [];
    const seen = new Set<number>();
    for (const e of c.events) {
      if (e.time > end) break;
      if (seen.has(e.user)) continue;
      seen.add(e.user);
      users.push(e.user);
      times.push(e.time);
    }
    if (users.length < 2) continue;
    out.push({ users: Int32Array.from(users), times: Float64Array.from(times), start: t0, end: Math.max(end, times[times.length - 1]) });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Growable sparse rate matrix: pairs j -> i with an index, out-lists per source. */
class PairTable {
  private readonly index = new Map<number, number>();
  readonly outTargets: number[][];
  readonly outPairs: number[][];
  sources: number[] = [];
  targets: number[] = [];
  alpha = new Float64Array(1024);
  B = new Float64Array(1024);
  N = new Float64Array(1024);
  touched = new Uint8Array(1024);
  size = 0;
  constructor(readonly numUsers: number) {
    this.outTargets = Array.from({ length: numUsers }, () => []);
    this.outPairs = Array.from({ length: numUsers }, () => []);
  }
  find(j: number, i: number): number {
    return this.index.get(j * this.numUsers + i) ?? -1;
  }
  add(j: number, i: number, alpha: number): number {
    const p = this.size++;
    if (p === this.alpha.length) {
      const grow = <T extends Float64Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as { new (n: number): T })(a.length * 2);
        b.set(a);
        return b;
      };
      this.alpha = grow(this.alpha);
      this.B = grow(this.B);
      this.N = grow(this.N);
      this.touched = grow(this.touched);
    }
    this.index.set(j * this.numUsers + i, p);
    this.outTargets[j].push(i);
    this.outPairs[j].push(p);
    this.sources.push(j);
    this.targets.push(i);
    this.alpha[p] = alpha;
    return p;
  }
}

/** Index of the first element > x in an ascending array. */
function upperBound(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function fitInfoPath(cascades: readonly Cascade[], numUsers: number, options: InfoPathOptions): InfoPathFit {
  const kind = delayKindIndex(options.delay);
  const delta = options.powerLawMinDelay;
  const data = observe(cascades, options.observationWindow);
  const table = new PairTable(numUsers);
  const recordN = options.record?.sources.length ?? 0;
  if (data.length === 0) return { sources: new Int32Array(0), targets: new Int32Array(0), rates: new Float64Array(0), stepTimes: new Float64Array(0), recorded: new Float64Array(0), initialRate: 0, cascadesUsed: 0 };

  // Initial rate of a new pair: infections per unit of exposure to earlier users, over all data.
  let infections = 0;
  let exposure = 0;
  for (const c of data) {
    for (let p = 1; p < c.users.length; p++) {
      let any = false;
      for (let q = 0; q < p; q++) {
        if (!(c.times[q] < c.times[p])) continue;
        exposure += unitCumulativeHazard(kind, c.times[p] - c.times[q], delta);
        any = true;
      }
      if (any) infections++;
    }
  }
  const initialRate = exposure > 0 && infections > 0 ? infections / exposure : 1;
  const floor = options.rateFloor * initialRate;

  const starts = Float64Array.from(data, (c) => c.start);
  const tBegin = starts[0];
  let tEnd = tBegin;
  for (const c of data) tEnd = Math.max(tEnd, c.end);
  const span = Math.max(tEnd - tBegin, Number.MIN_VALUE);
  const scale = options.samplingScale * span;
  const stepTimes: number[] = [];
  for (let k = 1; k <= options.steps; k++) {
    const t = tBegin + (span * k) / options.steps;
    if (options.until !== undefined && t > options.until) break;
    stepTimes.push(t);
  }
  const recorded = new Float64Array(stepTimes.length * recordN);
  const stamp = new Int32Array(numUsers);
  const posOf = new Int32Array(numUsers);
  let mark = 0;
  const touchedList: number[] = [];
  const weights = new Float64Array(data.length);
  const task = options.progress?.start('infopath: stochastic gradient over time steps', stepTimes.length);

  for (let k = 0; k < stepTimes.length; k++) {
    throwIfCancelled(options.signal);
    const t = stepTimes[k];
    const available = upperBound(starts, t);
    const rng = options.rng.derive(`step:${k}`);
    const batch: number[] = [];
    if (available > 0) {
      // Sampling weights by recency (t - start of the cascade).
      let total = 0;
      for (let c = 0; c < available; c++) {
        const age = t - starts[c];
        let w: number;
        switch (options.sampling) {
          case 'uniform':
            w = 1;
            break;
          case 'window':
            w = age <= scale ? 1 : 0;
            break;
          case 'exponential':
            w = Math.exp(-age / scale);
            break;
          case 'rayleigh':
            w = Math.exp(-(age * age) / (2 * scale * scale));
            break;
        }
        total += w;
        weights[c] = total;
      }
      if (total > 0) {
        for (let b = 0; b < options.batchSize; b++) batch.push(Math.min(available - 1, upperBound(weights.subarray(0, available), rng.next() * total)));
      }
    }
    for (let it = 0; it < options.iterationsPerStep && batch.length > 0; it++) {
      for (const ci of batch) {
        const c = data[ci];
        const end = Math.min(c.end, t);
        let n = 0;
        while (n < c.users.length && c.times[n] <= end) n++;
        mark++;
        for (let p = 0; p < n; p++) {
          stamp[c.users[p]] = mark;
          posOf[c.users[p]] = p;
        }
        // Log and survival terms of each infected target with its earlier users.
        for (let p = 1; p < n; p++) {
          const i = c.users[p];
          const ti = c.times[p];
          let s = 0;
          const pairsHere: number[] = [];
          const hs: number[] = [];
          for (let q = 0; q < p; q++) {
            const tj = c.times[q];
            if (!(tj < ti)) continue;
            const j = c.users[q];
            let pair = table.find(j, i);
            if (pair < 0) pair = table.add(j, i, initialRate);
            if (!table.touched[pair]) {
              table.touched[pair] = 1;
              table.B[pair] = 0;
              table.N[pair] = 0;
              touchedList.push(pair);
            }
            table.B[pair] += unitCumulativeHazard(kind, ti - tj, delta);
            const h = unitHazard(kind, ti - tj, delta);
            if (h > 0) {
              s += table.alpha[pair] * h;
              pairsHere.push(pair);
              hs.push(h);
            }
          }
          if (s > 0) for (let m = 0; m < pairsHere.length; m++) table.N[pairsHere[m]] += hs[m] / s;
        }
        // Survival up to `end` of every tracked target j -> i that this cascade did not infect.
        for (let q = 0; q < n; q++) {
          const j = c.users[q];
          const tj = c.times[q];
          const outT = table.outTargets[j];
          const outP = table.outPairs[j];
          const psi = unitCumulativeHazard(kind, end - tj, delta);
          if (psi === 0) continue;
          for (let m = 0; m < outT.length; m++) {
            if (stamp[outT[m]] === mark) continue;
            const pair = outP[m];
            if (!table.touched[pair]) {
              table.touched[pair] = 1;
              table.B[pair] = 0;
              table.N[pair] = 0;
              touchedList.push(pair);
            }
            table.B[pair] += psi;
          }
        }
      }
      // Preconditioned projected gradient step on the touched pairs.
      const eta = options.stepSize;
      for (const pair of touchedList) {
        const B = table.B[pair];
        const a = table.alpha[pair];
        if (B > 0) {
          const g = B - table.N[pair];
          table.alpha[pair] = Math.max(floor, a - (eta * a * g) / B);
        }
        table.touched[pair] = 0;
      }
      touchedList.length = 0;
    }
    if (recordN > 0) {
      for (let r = 0; r < recordN; r++) {
        const pair = table.find(options.record!.sources[r], options.record!.targets[r]);
        recorded[k * recordN + r] = pair < 0 || table.alpha[pair] <= floor ? 0 : table.alpha[pair];
      }
    }
    task?.tick();
  }
  task?.done();
  const keep: number[] = [];
  for (let p = 0; p < table.size; p++) if (table.alpha[p] > floor) keep.push(p);
  return {
    sources: Int32Array.from(keep, (p) => table.sources[p]),
    targets: Int32Array.from(keep, (p) => table.targets[p]),
    rates: Float64Array.from(keep, (p) => table.alpha[p]),
    stepTimes: Float64Array.from(stepTimes),
    recorded,
    initialRate,
    cascadesUsed: data.length,
  };
}
