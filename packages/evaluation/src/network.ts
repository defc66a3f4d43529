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
 * The capability type: contract v2 puts it in `@cascade-lab/core` (branch contract-data). Until that
 * type is merged, {@link EdgeScores} and {@link EdgeScoring} here are the minimal local definitions
 * this package needs; a model that returns this shape satisfies both.
 */
import { RESERVED_USERS, type SocialGraph } from '@cascade-lab/core';
import { closestUsers, edgeRecovery, linkPredictionAccuracy, type EdgeScoreMatrix } from '@cascade-lab/metrics';

/**
 * One set of edge scores of a model: `name` is a lowerCamelCase word (`rates`, `embedding`,
 * `attention`) and becomes the `<name>` of the logged keys `test.network.<name>.*`.
 */
export type EdgeScores = EdgeScoreMatrix & { name: string };

/** The capability: a model that scores every ordered pair of users. */
export interface EdgeScoring {
  edgeScores(): EdgeScores[] | Promise<EdgeScores[]>;
}

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

const NAME = /^[a-z][A-Za-z0-9]*$/;

/**
 * The highest-scored other user of every user (-1: none). Dense scores: `closestUsers` (ties to the
 * smaller index). Sparse scores: the best listed pair when it scores above `unlistedScore`, else -1
 * (the model names nobody in particular; counted as a miss).
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

/** Scores every set of `edgeScores` against `graph`. Throws a RangeError for malformed scores. */
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
  const out = sets.map((s): EdgeScoreEvaluation => {
    if (!NAME.test(s.name)) throw new RangeError(`edge scores "${s.name}": the name must be a lowerCamelCase word (it becomes test.network.<name>.*)`);
    if (seen.has(s.name)) throw new RangeError(`edge scores "${s.name}" are returned twice`);
    seen.add(s.name);
    const r = edgeRecovery(s, graph);
    trueEdges = r.trueEdges;
    return { name: s.name, precisionAtTrueEdges: r.precisionAtTrueEdges, auc: r.auc, closestUserAccuracy: linkPredictionAccuracy(closestOf(s), graph, { users, direction }) };
  });
  return { sets: out, trueEdges, users: users.length, seconds: (performance.now() - started) / 1000 };
}

/** Asks the model for its edge scores and scores them against `graph`. */
export async function evaluateEdgeScores(model: EdgeScoring, graph: SocialGraph): Promise<NetworkEvaluation> {
  return scoreEdgeSets(await model.edgeScores(), graph);
}
