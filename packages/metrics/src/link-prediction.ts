/**
 * Social link prediction (NDM paper §5.4): for each user u, take the user a model finds most closely
 * related to u (diffusion probability, inner product of embeddings, attention weight, ...) and check
 * whether that user is connected to u in the social graph; the accuracy is the fraction of users for
 * which it is.
 */
import { RESERVED_USERS, type SocialGraph } from '@cascade-lab/core';

/** Which edge makes the closest user v of u a correct guess. */
export type LinkDirection = 'out' | 'in' | 'either';

export interface LinkPredictionOptions {
  /** Users to evaluate (default: every real user, indices RESERVED_USERS..numNodes-1). */
  users?: ArrayLike<number>;
  /**
   * For a directed graph: `out` (default) accepts v when the edge u -> v exists, which is "v follows
   * u" under the convention that edges point the way information flows (NDM §5.4 checks whether the
   * most related user is a follower of u); `in` wants v -> u; `either` accepts both. Undirected
   * graphs accept both whatever this says.
   */
  direction?: LinkDirection;
}

function edgeKey(a: number, b: number, n: number): number {
  return a * n + b;
}

/**
 * The NDM §5.4 accuracy. `closest[u]` is the most closely related user of u, or -1 when the model
 * has none (counted as a miss). Throws a RangeError for an empty user list or an out-of-range user.
 */
export function linkPredictionAccuracy(closest: ArrayLike<number>, graph: SocialGraph, options: LinkPredictionOptions = {}): number {
  const n = graph.numNodes;
  const direction = options.direction ?? 'out';
  const users = options.users ?? Array.from({ length: Math.max(0, n - RESERVED_USERS) }, (_, i) => i + RESERVED_USERS);
  if (users.length === 0) throw new RangeError('linkPredictionAccuracy: no users to evaluate');
  const edges = new Set<number>();
  for (let e = 0; e + 1 < graph.edges.length; e += 2) {
    const a = graph.edges[e];
    const b = graph.edges[e + 1];
    edges.add(edgeKey(a, b, n));
    if (!graph.directed) edges.add(edgeKey(b, a, n));
  }
  let correct = 0;
  for (let i = 0; i < users.length; i++) {
    const u = users[i];
    if (!Number.isInteger(u) || u < 0 || u >= n) throw new RangeError(`linkPredictionAccuracy: user ${u} is outside the graph's ${n} nodes`);
    if (u >= closest.length) throw new RangeError(`linkPredictionAccuracy: no closest user given for user ${u}`);
    const v = closest[u];
    if (v < 0) continue;
    if (!Number.isInteger(v) || v >= n) throw new RangeError(`linkPredictionAccuracy: closest user ${v} of user ${u} is outside the graph`);
    const out = edges.has(edgeKey(u, v, n));
    const inn = edges.has(edgeKey(v, u, n));
    if ((direction === 'out' && out) || (direction === 'in' && inn) || (direction === 'either' && (out || inn))) correct++;
  }
  return correct / users.length;
}

/**
 * The most closely related user of every user from a dense closeness matrix (`closeness[u * numUsers
 * + v]`, larger = closer): the argmax over v != u, skipping the reserved indices (padding, `</s>`);
 * ties go to the smaller index; -1 when every candidate is NaN or -Infinity.
 */
export function closestUsers(closeness: ArrayLike<number>, numUsers: number): Int32Array {
  if (closeness.length !== numUsers * numUsers) throw new RangeError(`closestUsers: expected ${numUsers}x${numUsers} scores, got ${closeness.length}`);
  const out = new Int32Array(numUsers).fill(-1);
  for (let u = RESERVED_USERS; u < numUsers; u++) {
    let best = -Infinity;
    for (let v = RESERVED_USERS; v < numUsers; v++) {
      if (v === u) continue;
      const s = closeness[u * numUsers + v];
      if (s > best) {
        best = s;
        out[u] = v;
      }
    }
  }
  return out;
}
