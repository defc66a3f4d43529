/**
 * Social link prediction (NDM paper §5.4): for each user u, take the user a model finds most closely
 * related to u (diffusion probability, inner product of embeddings, attention weight, ...) and check
 * whether that user is connected to u in the social graph; the accuracy is the fraction of users for
 * which it is.
 */
import { RESERVED_USERS, type SocialGraph } from '@cascade-lab/core';
import { checkPositiveInteger, checkSameLength } from './check.js';

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

/**
 * Scores grouped by distinct value, for AUC and precision@k with ties. `pos[i]`/`neg[i]` count the
 * positives/negatives whose score is `values[i]`; values are decreasing.
 */
interface ScoreGroups {
  values: Float64Array;
  pos: Float64Array;
  neg: Float64Array;
  /** Number of groups (the arrays' first `length` entries). */
  length: number;
  positives: number;
  negatives: number;
}

function groupScores(positive: Float64Array, negative: Float64Array, extra?: { score: number; positives: number; negatives: number }): ScoreGroups {
  for (const arr of [positive, negative]) for (let i = 0; i < arr.length; i++) if (Number.isNaN(arr[i])) throw new RangeError('edge scores: a score is NaN');
  if (extra && Number.isNaN(extra.score)) throw new RangeError('edge scores: the score of unlisted pairs is NaN');
  positive.sort();
  negative.sort();
  const size = positive.length + negative.length + 1;
  const g: ScoreGroups = { values: new Float64Array(size), pos: new Float64Array(size), neg: new Float64Array(size), length: 0, positives: positive.length + (extra?.positives ?? 0), negatives: negative.length + (extra?.negatives ?? 0) };
  let i = positive.length - 1;
  let j = negative.length - 1;
  let extraLeft = extra !== undefined && extra.positives + extra.negatives > 0;
  // Merge the two descending runs (and the unlisted group) into groups of equal score.
  while (i >= 0 || j >= 0 || extraLeft) {
    let v = -Infinity;
    let any = false;
    if (i >= 0) {
      v = positive[i];
      any = true;
    }
    if (j >= 0 && (!any || negative[j] > v)) {
      v = negative[j];
      any = true;
    }
    if (extraLeft && (!any || extra!.score > v)) v = extra!.score;
    let p = 0;
    let n = 0;
    while (i >= 0 && positive[i] === v) {
      p++;
      i--;
    }
    while (j >= 0 && negative[j] === v) {
      n++;
      j--;
    }
    if (extraLeft && extra!.score === v) {
      p += extra!.positives;
      n += extra!.negatives;
      extraLeft = false;
    }
    g.values[g.length] = v;
    g.pos[g.length] = p;
    g.neg[g.length] = n;
    g.length++;
  }
  return g;
}

/** AUC of grouped scores: P(score of a random positive > that of a random negative), ties count half. */
function groupAuc(g: ScoreGroups): number {
  if (g.positives === 0 || g.negatives === 0) throw new RangeError(`AUC needs positives and negatives (got ${g.positives} and ${g.negatives})`);
  let negBelow = 0;
  let sum = 0;
  for (let k = g.length - 1; k >= 0; k--) {
    sum += g.pos[k] * (negBelow + 0.5 * g.neg[k]);
    negBelow += g.neg[k];
  }
  return sum / (g.positives * g.negatives);
}

/**
 * Precision among the k highest scores. A group of equal scores that straddles the cut-off counts
 * with its expected share under a random order of the ties (its positives times the fraction of
 * the group that fits), so a model cannot gain from the order ties happen to be listed in.
 */
function groupPrecisionAtK(g: ScoreGroups, k: number): number {
  checkPositiveInteger('precisionAtK', 'k', k);
  if (k > g.positives + g.negatives) throw new RangeError(`precisionAtK: k = ${k} exceeds the ${g.positives + g.negatives} scored items`);
  let taken = 0;
  let hits = 0;
  for (let i = 0; i < g.length && taken < k; i++) {
    const c = g.pos[i] + g.neg[i];
    if (taken + c <= k) {
      hits += g.pos[i];
      taken += c;
    } else {
      hits += (g.pos[i] * (k - taken)) / c;
      taken = k;
    }
  }
  return hits / k;
}

function split(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): [Float64Array, Float64Array] {
  checkSameLength('scores', scores, labels, 'scores', 'labels');
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < scores.length; i++) (labels[i] ? pos : neg).push(scores[i]);
  return [Float64Array.from(pos), Float64Array.from(neg)];
}

/**
 * Area under the ROC curve of `scores` against binary `labels` (truthy = positive): the
 * Mann-Whitney statistic over (#positives x #negatives), ties counted half; equals
 * `sklearn.metrics.roc_auc_score(labels, scores)`. Throws a RangeError without both classes or on a
 * NaN score.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  const [pos, neg] = split(scores, labels);
  return groupAuc(groupScores(pos, neg));
}

/** Precision among the k highest `scores` (ties at the cut-off by their expected share; see the module). */
export function precisionAtK(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>, k: number): number {
  const [pos, neg] = split(scores, labels);
  return groupPrecisionAtK(groupScores(pos, neg), k);
}

/**
 * A model's score for every ordered pair (u, v) of users, larger = more likely that u -> v is an
 * edge (a transmission rate, an embedding similarity, ...). Dense (`dense[u * numNodes + v]`) or
 * sparse (listed pairs; every other pair scores `unlistedScore`, default 0, as an unlisted
 * transmission rate is zero).
 */
export type EdgeScoreMatrix =
  | { numNodes: number; dense: ArrayLike<number> }
  | { numNodes: number; sources: ArrayLike<number>; targets: ArrayLike<number>; scores: ArrayLike<number>; unlistedScore?: number };

export interface EdgeRecoveryOptions {
  /** The users whose pairs are scored (default every real user, RESERVED_USERS..numNodes-1). */
  users?: ArrayLike<number>;
}

export interface EdgeRecovery {
  /** Precision among the |E| highest-scored pairs, |E| = the number of true edges. */
  precisionAtTrueEdges: number;
  /** ROC AUC over all ordered pairs of distinct users. */
  auc: number;
  /** |E|: true edges (ordered pairs; an undirected edge counts both ways). */
  trueEdges: number;
  /** Ordered pairs of distinct users scored. */
  pairs: number;
}

/**
 * A set of ordered pairs (keys u * n + v): a bit set when n^2 bits fit in 64 MiB (n up to about
 * 23,000 users), else a Set.
 */
class PairSet {
  private readonly bits?: Uint32Array;
  private readonly set?: Set<number>;
  size = 0;
  constructor(n: number) {
    if (n * n <= 2 ** 29) this.bits = new Uint32Array(Math.ceil((n * n) / 32));
    else this.set = new Set<number>();
  }
  /** Adds a pair; false when it was there already. */
  add(key: number): boolean {
    if (this.bits) {
      const w = Math.floor(key / 32);
      const bit = 1 << key % 32;
      if (this.bits[w] & bit) return false;
      this.bits[w] |= bit;
    } else {
      if (this.set!.has(key)) return false;
      this.set!.add(key);
    }
    this.size++;
    return true;
  }
  has(key: number): boolean {
    return this.bits ? (this.bits[Math.floor(key / 32)] & (1 << key % 32)) !== 0 : this.set!.has(key);
  }
}

/**
 * Network recovery (NetRate, ICML 2011 §5; InfoPath, WSDM 2013 §5): how well edge scores find the
 * edges of a ground-truth graph, over all ordered pairs (u, v), u != v, of the chosen users. A
 * directed graph's edge a -> b makes the pair (a, b) positive; an undirected one makes both (a, b)
 * and (b, a) positive. Returns precision at k = |E| and the ROC AUC (ties half).
 */
export function edgeRecovery(scores: EdgeScoreMatrix, graph: SocialGraph, options: EdgeRecoveryOptions = {}): EdgeRecovery {
  const n = graph.numNodes;
  if (scores.numNodes !== n) throw new RangeError(`edgeRecovery: scores cover ${scores.numNodes} nodes, the graph has ${n}`);
  const users = options.users ?? Array.from({ length: Math.max(0, n - RESERVED_USERS) }, (_, i) => i + RESERVED_USERS);
  const member = new Uint8Array(n);
  for (let i = 0; i < users.length; i++) {
    const u = users[i];
    if (!Number.isInteger(u) || u < 0 || u >= n) throw new RangeError(`edgeRecovery: user ${u} is outside the graph's ${n} nodes`);
    member[u] = 1;
  }
  let m = 0;
  for (let u = 0; u < n; u++) m += member[u];
  const truth = new PairSet(n);
  for (let e = 0; e + 1 < graph.edges.length; e += 2) {
    const a = graph.edges[e];
    const b = graph.edges[e + 1];
    if (a === b || !member[a] || !member[b]) continue;
    truth.add(edgeKey(a, b, n));
    if (!graph.directed) truth.add(edgeKey(b, a, n));
  }
  const pairs = m * (m - 1);
  const E = truth.size;
  if (E === 0) throw new RangeError('edgeRecovery: the graph has no edge between the scored users');
  let groups: ScoreGroups;
  if ('dense' in scores) {
    if (scores.dense.length !== n * n) throw new RangeError(`edgeRecovery: expected ${n}x${n} dense scores, got ${scores.dense.length}`);
    const pos = new Float64Array(E);
    const neg = new Float64Array(pairs - E);
    let p = 0;
    let q = 0;
    for (let u = 0; u < n; u++) {
      if (!member[u]) continue;
      for (let v = 0; v < n; v++) {
        if (v === u || !member[v]) continue;
        const s = scores.dense[u * n + v];
        if (truth.has(u * n + v)) pos[p++] = s;
        else neg[q++] = s;
      }
    }
    groups = groupScores(pos, neg);
  } else {
    checkSameLength('edgeRecovery', scores.sources, scores.targets, 'sources', 'targets');
    checkSameLength('edgeRecovery', scores.sources, scores.scores, 'sources', 'scores');
    // Typed arrays and a bit set of the pairs rather than JS arrays and a Set: a model may list every
    // pair of a few thousand users (millions of entries).
    const m = scores.sources.length;
    const keys = new Float64Array(m);
    const isTrue = new Uint8Array(m);
    const listed = new PairSet(n);
    let kept = 0;
    let listedPositives = 0;
    for (let i = 0; i < m; i++) {
      const u = scores.sources[i];
      const v = scores.targets[i];
      if (!Number.isInteger(u) || !Number.isInteger(v) || u < 0 || v < 0 || u >= n || v >= n) throw new RangeError(`edgeRecovery: pair ${u} -> ${v} is outside the ${n} nodes`);
      if (u === v || !member[u] || !member[v]) {
        keys[i] = -1;
        continue;
      }
      const key = edgeKey(u, v, n);
      if (!listed.add(key)) throw new RangeError(`edgeRecovery: pair ${u} -> ${v} is listed twice`);
      keys[i] = key;
      if (truth.has(key)) {
        isTrue[i] = 1;
        listedPositives++;
      }
      kept++;
    }
    const pos = new Float64Array(listedPositives);
    const neg = new Float64Array(kept - listedPositives);
    let p = 0;
    let q = 0;
    for (let i = 0; i < m; i++) {
      if (keys[i] < 0) continue;
      if (isTrue[i]) pos[p++] = scores.scores[i];
      else neg[q++] = scores.scores[i];
    }
    groups = groupScores(pos, neg, { score: scores.unlistedScore ?? 0, positives: E - pos.length, negatives: pairs - E - neg.length });
  }
  return { precisionAtTrueEdges: groupPrecisionAtK(groups, E), auc: groupAuc(groups), trueEdges: E, pairs };
}
