/**
 * Self-exciting (Hawkes) retweet cascades with follower-count marks, the generative model of the
 * marked Hawkes baseline and of SEISMIC (Zhao et al., KDD 2015), with a known ground truth.
 *
 * Intensity: lambda(t) = sum_{t_j < t} K m_j^beta theta e^(-theta (t - t_j)), the root (t = 0) the
 * only immigrant. Equivalently (the cluster representation used to simulate it): every post j has
 * Poisson(K m_j^beta) direct retweets, each after an Exp(theta) delay, and every retweet draws its
 * own follower count m from the mark law. Follower counts are integers, floor of a Pareto(alpha)
 * draw with minimum mMin (alpha = 2.016 as in SEISMIC's Twitter fit).
 *
 * Branching factor n* = K E[m^beta] (the expected number of direct retweets of a retweet). For the
 * continuous Pareto marks of the Hawkes baseline n* = K (alpha - 1) / (alpha - 1 - beta) (mMin = 1);
 * for the integer marks generated here E[m^beta] is computed exactly by `expectedFollowerPower`.
 * When n* < 1 and the root's followers are drawn from the mark law too, the expected final size
 * (root included) is 1 + n* + n*^2 + ... = 1 / (1 - n*).
 */
import { CascadeError, type MacroCascade, type RetweetEvent, type Rng } from '@cascade-lab/core';
import { expectedFollowerPower, followerCount, poisson } from './distributions.js';

export interface HawkesCascadeOptions {
  /** Productivity K. */
  K: number;
  /** Follower-count exponent beta of the kernel (0: unmarked). */
  beta: number;
  /** Decay rate theta of the exponential kernel, per second. */
  thetaPerSecond: number;
  /** Exponent of the Pareto mark law (default 2.016). */
  alpha?: number;
  /** Smallest follower count (default 1). */
  mMin?: number;
  /** Followers of the root; drawn from the mark law when undefined. */
  rootFollowers?: number;
  /** Retweets later than this (seconds after the root) are not generated (default: none). */
  horizonSeconds?: number;
  /** Refuse to generate more retweets than this (default 1e6): a guard for supercritical settings. */
  maxEvents?: number;
  /** Unix time of the root (default 0). */
  rootTime?: number;
}

/** n* = K E[m^beta] for the integer follower marks this generator draws. */
export function hawkesBranchingFactor(options: Pick<HawkesCascadeOptions, 'K' | 'beta' | 'alpha' | 'mMin'>): number {
  const alpha = options.alpha ?? 2.016;
  const mMin = options.mMin ?? 1;
  if (mMin !== 1) {
    // floor(mMin * X) has no closed form; only the mMin = 1 law is tabulated.
    throw new RangeError('hawkesBranchingFactor: the exact branching factor is implemented for mMin = 1');
  }
  return options.K * (options.beta === 0 ? 1 : expectedFollowerPower(alpha, options.beta));
}

function check(o: HawkesCascadeOptions): void {
  if (!(o.K >= 0) || !(o.beta >= 0) || !(o.thetaPerSecond > 0)) throw new RangeError(`Hawkes generator: need K >= 0, beta >= 0, theta > 0 (got ${o.K}, ${o.beta}, ${o.thetaPerSecond})`);
  const alpha = o.alpha ?? 2.016;
  if (!(alpha > 1)) throw new RangeError(`Hawkes generator: alpha must be > 1, got ${alpha}`);
  if (!((o.mMin ?? 1) >= 1)) throw new RangeError(`Hawkes generator: mMin must be >= 1`);
}

/** One cascade; `events` are the retweets in time order (the root excluded), as in MacroCascade. */
export function generateHawkesCascade(options: HawkesCascadeOptions, rng: Rng, id = 'hawkes'): MacroCascade {
  check(options);
  const alpha = options.alpha ?? 2.016;
  const mMin = options.mMin ?? 1;
  const horizon = options.horizonSeconds ?? Infinity;
  const maxEvents = options.maxEvents ?? 1_000_000;
  const rootFollowers = options.rootFollowers ?? followerCount(rng, alpha, mMin);
  const events: RetweetEvent[] = [];
  // Breadth-first over the branching structure: (time, followers) of posts whose children are pending.
  const pendingTimes: number[] = [0];
  const pendingMarks: number[] = [rootFollowers];
  for (let head = 0; head < pendingTimes.length; head++) {
    const t = pendingTimes[head];
    const m = pendingMarks[head];
    const children = poisson(rng, options.K * Math.pow(m, options.beta));
    for (let c = 0; c < children; c++) {
      const time = t + rng.exponential(options.thetaPerSecond);
      const followers = followerCount(rng, alpha, mMin);
      if (time > horizon) continue; // its own retweets would be later still
      if (events.length >= maxEvents) {
        throw new CascadeError('INTERNAL', `Hawkes generator: cascade ${id} exceeded maxEvents = ${maxEvents} (branching factor ${options.K} E[m^beta] too large?)`, {
          hint: 'lower K or beta, set horizonSeconds, or raise maxEvents',
        });
      }
      events.push({ time, followers });
      pendingTimes.push(time);
      pendingMarks.push(followers);
    }
  }
  events.sort((a, b) => a.time - b.time);
  return {
    id,
    rootTime: options.rootTime ?? 0,
    rootFollowers,
    events,
    observedUntil: Number.isFinite(horizon) ? horizon : undefined,
  };
}

/** `count` cascades; cascade i draws from `rng.derive('hawkes:<i>')`. */
export function generateHawkesCascades(count: number, options: HawkesCascadeOptions, rng: Rng): MacroCascade[] {
  const out: MacroCascade[] = [];
  for (let i = 0; i < count; i++) out.push(generateHawkesCascade(options, rng.derive(`hawkes:${i}`), `hawkes-${i}`));
  return out;
}
