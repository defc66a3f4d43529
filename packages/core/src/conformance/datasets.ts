import { RESERVED_USERS, type Cascade, type MacroscopicDataset, type MicroscopicDataset, type UserVocabulary, type WindowedCascade } from '../data-types.js';
import { Rng } from '../rng.js';

/** A vocabulary of `size` indices whose raw ids are the indices as text (`u2`, `u3`, ...). */
export function indexVocabulary(size: number): UserVocabulary {
  return {
    size,
    indexOf: (raw) => {
      const m = /^u(\d+)$/.exec(raw);
      const i = m ? Number(m[1]) : NaN;
      return Number.isInteger(i) && i >= RESERVED_USERS && i < size ? i : undefined;
    },
    rawIdOf: (i) => {
      if (!Number.isInteger(i) || i < 0 || i >= size) throw new RangeError(`user index ${i} outside 0..${size - 1}`);
      return i === 0 ? '<blank>' : i === 1 ? '</s>' : `u${i}`;
    },
  };
}

/**
 * A small microscopic dataset with structure a model can learn: 12 users on a ring, each infected
 * user most likely followed by one of the next two on the ring. Seeded, so every call gives the same
 * cascades.
 */
export function tinyMicroscopicDataset(options: { seed?: number; users?: number; train?: number; validation?: number; test?: number } = {}): MicroscopicDataset {
  const users = options.users ?? 12;
  const rng = Rng.fromSeed(options.seed ?? 2019);
  const real = users - RESERVED_USERS;
  const cascade = (id: string): Cascade => {
    const length = 3 + rng.int(4);
    const seen = new Set<number>();
    let u = RESERVED_USERS + rng.int(real);
    const events = [];
    let time = 0;
    while (events.length < length && seen.size < real) {
      if (!seen.has(u)) {
        seen.add(u);
        events.push({ user: u, time });
        time += 1 + rng.exponential(1);
      }
      const step = rng.next() < 0.8 ? 1 + rng.int(2) : 1 + rng.int(real - 1);
      u = RESERVED_USERS + ((u - RESERVED_USERS + step) % real);
    }
    return { id, events };
  };
  const make = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => cascade(`${prefix}${i}`));
  return { name: 'tiny-micro', users: indexVocabulary(users), timeUnit: 'hours', train: make('train', options.train ?? 60), validation: make('val', options.validation ?? 8), test: make('test', options.test ?? 8) };
}

/**
 * A small macroscopic dataset: 6 h observation windows in 30-min bins, sizes at 12, 24 and 48 h
 * growing log-linearly with the observed size, follower sums, a root text of a few words from a
 * 20-word vocabulary and one news item per cascade. Seeded.
 */
export function tinyMacroscopicDataset(options: { seed?: number; train?: number; validation?: number; test?: number } = {}): MacroscopicDataset {
  const rng = Rng.fromSeed(options.seed ?? 2021);
  const binWidthSeconds = 1800;
  const observationWindowSeconds = 6 * 3600;
  const bins = observationWindowSeconds / binWidthSeconds;
  const horizonsHours = [12, 24, 48];
  const vocabularySize = 20;
  const cascade = (id: string): WindowedCascade => {
    const rate = 0.5 + 3 * rng.next();
    const counts = new Float32Array(bins);
    const followerSums = new Float32Array(bins);
    const windowEvents = [];
    for (let b = 0; b < bins; b++) {
      // Decaying activity: fewer retweets per bin as time goes on.
      const expected = rate * Math.exp(-b / bins);
      let k = 0;
      while (rng.next() < expected / (expected + 1) && k < 20) k++;
      counts[b] = k;
      for (let j = 0; j < k; j++) {
        const followers = Math.floor(10 + 200 * rng.next());
        followerSums[b] += followers;
        windowEvents.push({ time: b * binWidthSeconds + rng.next() * binWidthSeconds, followers });
      }
    }
    windowEvents.sort((a, b) => a.time - b.time);
    const observedSize = 1 + windowEvents.length;
    // Later growth: a cascade-specific multiple of the observed size, larger at later horizons.
    const growth = 1 + rate * (0.5 + rng.next());
    const targets = Float64Array.from(horizonsHours, (h) => Math.round(observedSize * (1 + (growth - 1) * Math.log2(h / 6))));
    const words = () => Int32Array.from({ length: 4 }, () => 1 + rng.int(vocabularySize - 1));
    return { id, counts, followerSums, rootFollowers: Math.floor(100 + 1000 * rng.next()), observedSize, targets, textTokens: words(), newsTokens: [words()], windowEvents };
  };
  const make = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => cascade(`${prefix}${i}`));
  return {
    name: 'tiny-macro',
    observationWindowSeconds,
    binWidthSeconds,
    horizonsHours,
    vocabularySize,
    words: Array.from({ length: vocabularySize }, (_, i) => (i === 0 ? '<pad>' : `w${i}`)),
    train: make('train', options.train ?? 48),
    validation: make('val', options.validation ?? 8),
    test: make('test', options.test ?? 8),
  };
}
