import { Rng, type Cascade } from '@cascade-lab/core';
import { LstmNetwork, type LstmArchitecture } from './network.js';

/** The hand case of network.test.ts: U = 6, E = H = 2, weights from closed forms (mirrored in its numpy script). */
export const HAND: LstmArchitecture = { numUsers: 6, embeddingSize: 2, hiddenSize: 2 };

function values(n: number, g: (k: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, k) => g(k));
}

export function handWeights(): Record<string, Float32Array> {
  const { numUsers: U, embeddingSize: E, hiddenSize: H } = HAND;
  return {
    embedding: values(U * E, (k) => 0.5 * Math.sin(1 + k)),
    'cell/kernel': values(E * 4 * H, (k) => 0.3 * Math.cos(k)),
    'cell/recurrentKernel': values(H * 4 * H, (k) => 0.3 * Math.sin(0.7 * k)),
    'cell/bias': values(4 * H, (k) => 0.1 * Math.cos(2 * k)),
    outputKernel: values(H * U, (k) => 0.5 * Math.sin(0.3 * k + 0.2)),
    outputBias: values(U, (k) => 0.05 * k),
  };
}

export function handNetwork(): LstmNetwork {
  const n = new LstmNetwork(HAND, Rng.fromSeed(0));
  n.assignWeights(handWeights());
  return n;
}

export const cascade = (id: string, users: number[]): Cascade => ({ id, events: users.map((user, time) => ({ user, time })) });

/** Cascades over users 2..U-1 with a pattern to learn: each user tends to be followed by the next. */
export function patternCascades(count: number, numUsers: number, rng: Rng, prefix: string): Cascade[] {
  const out: Cascade[] = [];
  for (let i = 0; i < count; i++) {
    const start = 2 + rng.int(numUsers - 2);
    const len = 2 + rng.int(4);
    const users: number[] = [];
    for (let t = 0; t < len; t++) {
      const u = 2 + ((start - 2 + t) % (numUsers - 2));
      if (!users.includes(u)) users.push(u);
    }
    out.push(cascade(`${prefix}${i}`, users));
  }
  return out;
}
