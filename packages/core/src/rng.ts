/**
 * Seeded, splittable pseudo-random numbers: xoshiro128** (Blackman & Vigna), 32-bit state words so
 * it runs at full speed in JavaScript and its state crosses worker-thread boundaries as four numbers.
 *
 * Reproducibility across processes and threads comes from deriving streams, never from sharing one:
 * - `jump()` advances 2^64 steps, so `split(n)` hands out n non-overlapping streams (one per worker);
 * - `derive(label)` gives a stream that depends only on this stream's seed and the label, so a piece
 *   of work (a cascade, a trial) gets the same numbers whoever runs it and in whatever order.
 */
export type RngState = readonly [number, number, number, number];

const JUMP = [0x8764000b, 0xf542d2d3, 0x6fa035c3, 0x77f2db5b];

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** SplitMix32-style mixer used for seeding (Steele, Lea, Flood 2014, 32-bit variant). */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string. */
function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | undefined;

  private constructor(state: RngState) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((x) => x >>> 0);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** A generator from an integer or string seed. Equal seeds give equal streams everywhere. */
  static fromSeed(seed: number | string): Rng {
    const base = typeof seed === 'number' ? hashString(String(seed)) : hashString(seed);
    let x = base;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      words.push(mix32(x));
    }
    return new Rng(words as unknown as RngState);
  }

  /** Rebuilds a generator from `state()`, e.g. in a worker thread. */
  static fromState(state: RngState): Rng {
    return new Rng(state);
  }

  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  clone(): Rng {
    return new Rng(this.state());
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform float in [low, high). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number {
    if (!(n > 0) || n > 0x100000000 || !Number.isInteger(n)) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return x % n;
  }

  /** Standard normal draw (Marsaglia polar method). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + std * z;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return mean + std * u * f;
  }

  /** Exponential draw with the given rate. */
  exponential(rate = 1): number {
    return -Math.log(1 - this.next()) / rate;
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** Index drawn with probability proportional to `weights[i]` (non-negative, not all zero). */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    if (!(total > 0)) throw new RangeError('Rng.categorical: weights must have a positive sum');
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  /** Advances this generator by 2^64 steps in place. */
  jump(): this {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (const word of JUMP) {
      for (let b = 0; b < 32; b++) {
        if (word & (1 << b)) {
          s0 ^= this.s0;
          s1 ^= this.s1;
          s2 ^= this.s2;
          s3 ^= this.s3;
        }
        this.nextUint32();
      }
    }
    this.s0 = s0 >>> 0;
    this.s1 = s1 >>> 0;
    this.s2 = s2 >>> 0;
    this.s3 = s3 >>> 0;
    this.spareNormal = undefined;
    return this;
  }

  /**
   * n non-overlapping streams: the first is a copy of this generator's current state, each next one
   * 2^64 steps further. This generator is left unchanged.
   */
  split(n: number): Rng[] {
    const out: Rng[] = [];
    const g = this.clone();
    for (let i = 0; i < n; i++) {
      out.push(g.clone());
      g.jump();
    }
    return out;
  }

  /**
   * A stream determined by this generator's current state and `label` only (this generator is not
   * advanced). Use it to give each named piece of work (`cascade:17`, `trial:3`, `init:embedding`)
   * its own reproducible numbers independent of scheduling.
   */
  derive(label: string | number): Rng {
    const l = String(label);
    const words = this.state().map((w, i) => mix32(hashString(l, (w ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0)));
    return new Rng(words as unknown as RngState);
  }

  /** A 31-bit non-negative integer, for seeding libraries that take an integer seed. */
  seedInt(): number {
    return this.nextUint32() >>> 1;
  }
}
