/**
 * Scoring of a model's edge scores (the optional `edgeScores()` capability of a microscopic model)
 * against a ground-truth graph:
 * - network recovery (NetRate, ICML 2011 §5; InfoPath, WSDM 2013 §5): precision among the |E|
 *   highest-scored ordered pairs (|E| = the number of true edges) and the ROC AUC over all ordered
 *   pairs of distinct users (`edgeRecovery` of `@cascade-lab/metrics`);
 * - social link prediction (NDM paper §5.4): for every user with at least one edge, is the user it
 *   scores highest a neighbour (`linkPredictionAccuracy`; a directed graph wants the edge u -> v,
 *   "v follows u", an undirected one either)?
 *
 * The capability is `MicroscopicModel.edgeScores()` of `@cascade-lab/core` (contract v2): sparse
 * scored pairs, pairs a model leaves out counting as the lowest score (below every listed one); an
 * undirected set lists each pair once and is read both ways; a model with several notions of
 * closeness returns several sets, each with a `name`.
 */
import { RESERVED_USERS, type EdgeScores, type MicroscopicModel, type SocialGraph } from '@cascade-lab/core';
import { closestUsers, edgeRecovery, linkPredictionAccuracy, type EdgeScoreMatrix } from '@cascade-lab/metrics';

/** The capability, as a type guard can see it. */
export type EdgeScoring = Required<Pick<MicroscopicModel, 'edgeScores'>>;

/** True when the model offers `edgeScores()`. */
export function hasEdgeScores(model: object): model is EdgeScoring {
  return typeof (model as Partial<EdgeScoring>).edgeScores === 'function';
}

/** The numbers of one edge-score set. */
export interface EdgeScoreEvaluation {
  name: string;
  precisionAtTrueEdges: number;
  auc: number;
  /** NDM §5.4 accuracy over the users with at least one edge. */
  closestUserAccuracy: number;
}

export interface NetworkEvaluation {
  sets: EdgeScoreEvaluation[];
  /** Ordered pairs that are true edges (an undirected edge counts both ways). */
  trueEdges: number;
  /** Users with at least one edge (the closest-user accuracy is over them). */
  users: number;
  seconds: number;
}

/** The name a set without one gets. */
export const DEFAULT_EDGE_SCORES_NAME = 'edges';

const NAME = /^[a-z][A-Za-z0-9]*$/;

/**
 * The model's pairs as a score matrix over `numNodes` nodes: an undirected set is read both ways;
 * unlisted pairs score -Infinity (the contract's "lowest score").
 */
export function edgeScoreMatrix(s: EdgeScores, numNodes: number): EdgeScoreMatrix & { sources: Int32Array; targets: Int32Array; scores: Float64Array } {
  if (s.sources.length !== s.targets.length || s.sources.length !== s.scores.length) {
    throw new RangeError(`edge scores: ${s.sources.length} sources, ${s.targets.length} targets and ${s.scores.length} scores`);
  }
  if (s.directed) return { numNodes, sources: s.sources, targets: s.targets, scores: s.scores, unlistedScore: -Infinity };
  const n = s.sources.length;
  const sources = new Int32Array(2 * n);
  const targets = new Int32Array(2 * n);
  const scores = new Float64Array(2 * n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    sources[k] = s.sources[i];
    targets[k] = s.targets[i];
    scores[k++] = s.scores[i];
    if (s.sources[i] === s.targets[i]) continue;
    sources[k] = s.targets[i];
    targets[k] = s.sources[i];
    scores[k++] = s.scores[i];
  }
  return { numNodes, sources: sources.subarray(0, k), targets: targets.subarray(0, k), scores: scores.subarray(0, k), unlistedScore: -Infinity };
}

/**
 * The highest-scored other user of every user (-1: none): the best listed pair above the unlisted
 * score, ties to the smaller index (as `closestUsers` of the metrics package does for dense scores).
 */
function closestOf(s: EdgeScoreMatrix): Int32Array {
  if ('dense' in s) return closestUsers(s.dense, s.numNodes);
  const out = new Int32Array(s.numNodes).fill(-1);
  const best = new Float64Array(s.numNodes).fill(s.unlistedScore ?? 0);
  for (let i = 0; i < s.sources.length; i++) {
    const u = s.sources[i];
    const v = s.targets[i];
    if (u === v || u < RESERVED_USERS || v < RESERVED_USERS) continue;
    const x = s.scores[i];
    if (x > best[u] || (x === best[u] && out[u] !== -1 && v < out[u])) {
      best[u] = x;
      out[u] = v;
    }
  }
  return out;
}

/** Scores every set against `graph`. Throws a RangeError for malformed or duplicated sets. */
export function scoreEdgeSets(sets: readonly EdgeScores[], graph: SocialGraph): NetworkEvaluation {
  const started = performance.now();
  if (sets.length === 0) throw new RangeError('scoreEdgeSets: the model returned no edge scores');
  const hasEdge = new Uint8Array(graph.numNodes);
  for (const x of graph.edges) hasEdge[x] = 1;
  const users: number[] = [];
  for (let u = RESERVED_USERS; u < graph.numNodes; u++) if (hasEdge[u]) users.push(u);
  const direction = graph.directed ? ('out' as const) : ('either' as const);
  let trueEdges = 0;
  const seen = new Set<string>();
  const out = sets.map((set): EdgeScoreEvaluation => {
    const name = set.name ?? DEFAULT_EDGE_SCORES_NAME;
    if (!NAME.test(name)) throw new RangeError(`edge scores "${name}": the name must be a lowerCamelCase word (it becomes test.network.<name>.*)`);
    if (seen.has(name)) throw new RangeError(`edge scores "${name}" are returned twice`);
    seen.add(name);
    const matrix = edgeScoreMatrix(set, graph.numNodes);
    const r = edgeRecovery(matrix, graph);
    trueEdges = r.trueEdges;
    return { name, precisionAtTrueEdges: r.precisionAtTrueEdges, auc: r.auc, closestUserAccuracy: linkPredictionAccuracy(closestOf(matrix), graph, { users, direction }) };
  });
  return { sets: out, trueEdges, users: users.length, seconds: (performance.now() - started) / 1000 };
}

/** Asks the model for its edge scores (its own candidates) and scores them against `graph`. */
export async function evaluateEdgeScores(model: EdgeScoring, graph: SocialGraph): Promise<NetworkEvaluation> {
  const got = await model.edgeScores();
  return scoreEdgeSets(Array.isArray(got) ? got : [got], graph);
}
