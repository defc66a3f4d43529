/**
 * Microscopic cascades from a discrete-time independent cascade on a random directed graph whose
 * edges and probabilities are known: the ground truth that network-inference models (NetRate,
 * InfoPath, Embedded IC) should recover and that no real dataset has.
 */
import { CascadeError, RESERVED_USERS, type Cascade, type MicroscopicDataset, type Rng, type UserVocabulary } from '@cascade-lab/core';
import { transmissionGraph, type TransmissionGraph } from '../graph.js';

export interface SyntheticIcOptions {
  /** Real users (vocabulary indices RESERVED_USERS .. RESERVED_USERS + numUsers - 1). */
  numUsers: number;
  /** Expected out-degree of the Erdős–Rényi digraph (each ordered pair is an edge w.p. d/(n-1)). */
  averageOutDegree: number;
  /** Edge probabilities are uniform in [min, max]. */
  probabilityRange: [number, number];
  numCascades: number;
  /** Cascades with fewer users are redrawn from another seed (default 2). */
  minCascadeSize?: number;
  rng: Rng;
}

export interface SyntheticIcData {
  /** The true network over vocabulary indices (reserved indices isolated). */
  graph: TransmissionGraph;
  /** Number of vocabulary indices (reserved included). */
  numNodes: number;
  /**
   * Cascades in infection order; event time = step + (position within the step + 1) / (users in
   * the step + 1), users of one step in random order.
   */
  cascades: Cascade[];
}

/** Generates the network, then the cascades (cascade i from `rng.derive('cascade:<i>')`). */
export function generateIcCascades(options: SyntheticIcOptions): SyntheticIcData {
  const { numUsers, averageOutDegree, probabilityRange, numCascades, rng } = options;
  const minSize = options.minCascadeSize ?? 2;
  const [pMin, pMax] = probabilityRange;
  if (!Number.isInteger(numUsers) || numUsers < 2) throw new RangeError(`generateIcCascades: numUsers must be an integer >= 2, got ${numUsers}`);
  if (!(averageOutDegree >= 0 && averageOutDegree <= numUsers - 1)) throw new RangeError(`generateIcCascades: averageOutDegree must be in [0, ${numUsers - 1}]`);
  if (!(pMin >= 0 && pMax <= 1 && pMin <= pMax)) throw new RangeError(`generateIcCascades: probabilityRange must satisfy 0 <= min <= max <= 1`);
  const numNodes = numUsers + RESERVED_USERS;
  const graphRng = rng.derive('graph');
  const edgeP = averageOutDegree / (numUsers - 1);
  const src: number[] = [];
  const dst: number[] = [];
  const w: number[] = [];
  for (let u = RESERVED_USERS; u < numNodes; u++) {
    for (let v = RESERVED_USERS; v < numNodes; v++) {
      if (u !== v && graphRng.next() < edgeP) {
        src.push(u);
        dst.push(v);
        w.push(graphRng.uniform(pMin, pMax));
      }
    }
  }
  const graph = transmissionGraph(numNodes, src, dst, w);
  const cascades: Cascade[] = [];
  const infected = new Uint8Array(numNodes);
  for (let i = 0; i < numCascades; i++) {
    const crng = rng.derive(`cascade:${i}`);
    let events: Cascade['events'] = [];
    for (let attempt = 0; ; attempt++) {
      if (attempt === 1000) {
        throw new CascadeError('INTERNAL', `generateIcCascades: 1000 seeds in a row gave cascades smaller than ${minSize}`, { hint: 'raise averageOutDegree or the probabilities, or lower minCascadeSize' });
      }
      infected.fill(0);
      const seed = RESERVED_USERS + crng.int(numUsers);
      events = [{ user: seed, time: 0 }];
      infected[seed] = 1;
      let current = [seed];
      for (let step = 1; current.length > 0; step++) {
        const next: number[] = [];
        for (const u of current) {
          for (let e = graph.offsets[u]; e < graph.offsets[u + 1]; e++) {
            const v = graph.targets[e];
            if (!infected[v] && crng.next() < graph.weights[e]) {
              infected[v] = 1;
              next.push(v);
            }
          }
        }
        crng.shuffle(next);
        next.forEach((v, k) => events.push({ user: v, time: step + (k + 1) / (next.length + 1) }));
        current = next;
      }
      if (events.length >= minSize) break;
    }
    cascades.push({ id: `ic-${i}`, events });
  }
  return { graph, numNodes, cascades };
}

/** Vocabulary of a synthetic dataset: raw id of index i is `u<i>`. */
export function syntheticVocabulary(numNodes: number): UserVocabulary {
  return {
    size: numNodes,
    indexOf: (raw) => {
      if (raw === '<blank>') return 0;
      if (raw === '</s>') return 1;
      const m = /^u(\d+)$/.exec(raw);
      const i = m ? Number(m[1]) : NaN;
      return i >= RESERVED_USERS && i < numNodes ? i : undefined;
    },
    rawIdOf: (i) => (i === 0 ? '<blank>' : i === 1 ? '</s>' : `u${i}`),
  };
}

/**
 * A MicroscopicDataset from synthetic cascades: the last `testFraction` of the cascades is the test
 * set, `validationFraction` of the rest the validation set (cascades are already in random order).
 */
export function syntheticMicroscopicDataset(data: SyntheticIcData, options: { name?: string; testFraction?: number; validationFraction?: number } = {}): MicroscopicDataset {
  const n = data.cascades.length;
  const nTest = Math.round(n * (options.testFraction ?? 0.1));
  const nTrainAll = n - nTest;
  const nVal = Math.round(nTrainAll * (options.validationFraction ?? 0.1));
  return {
    name: options.name ?? 'synthetic-ic',
    users: syntheticVocabulary(data.numNodes),
    // Times are independent-cascade steps, not a clock.
    timeUnit: 'unknown',
    train: data.cascades.slice(0, nTrainAll - nVal),
    validation: data.cascades.slice(nTrainAll - nVal, nTrainAll),
    test: data.cascades.slice(nTrainAll),
  };
}
