// Network recovery for the tests: precision at k and the ROC AUC of edge scores over every ordered
// pair of distinct nodes, computed by @cascade-lab/metrics (ties at the cut-off by their expected
// share, ties in the AUC counted half), the definitions of the reference file
// (../shared/reference/netrate-infopath-example.json).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { precisionAtK, rocAuc } from '@cascade-lab/metrics';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Where tests find the real data: $CASCADE_DATA_DIR, else <repo>/../shared/data. */
export const DATA_DIR = path.resolve(REPO_ROOT, process.env.CASCADE_DATA_DIR ?? '../shared/data');
export const REFERENCE_DIR = path.resolve(DATA_DIR, '../reference');

/** `score(j, i)` over the ordered pairs of `nodes`; `truth` holds `j>i` keys of the true edges. */
export function networkRecovery(nodes: readonly number[], score: (j: number, i: number) => number, truth: Set<string>, k = truth.size): { precisionAtK: number; auc: number } {
  const scores: number[] = [];
  const labels: boolean[] = [];
  for (const j of nodes) for (const i of nodes) if (j !== i) scores.push(score(j, i)), labels.push(truth.has(`${j}>${i}`));
  return { precisionAtK: precisionAtK(scores, labels, k), auc: rocAuc(scores, labels) };
}
