// Network recovery scores for the tests: precision at k and the ROC AUC of edge scores over every
// ordered pair of distinct nodes (ties counted half), the definitions of the NetRate/InfoPath papers
// and of the reference file (../shared/reference/netrate-infopath-example.json). The evaluation
// package of contract v2 scores `edgeScores()` the same way in runs.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Where tests find the real data: $CASCADE_DATA_DIR, else <repo>/../shared/data. */
export const DATA_DIR = path.resolve(REPO_ROOT, process.env.CASCADE_DATA_DIR ?? '../shared/data');
export const REFERENCE_DIR = path.resolve(DATA_DIR, '../reference');

export interface Recovery {
  precisionAtK: number;
  auc: number;
}

/** `score(j, i)` over nodes `nodes` (ordered pairs j != i); `truth` holds `j * n + i` keys of true edges. */
export function networkRecovery(nodes: readonly number[], score: (j: number, i: number) => number, truth: Set<string>, k = truth.size): Recovery {
  const pairs: { s: number; t: boolean }[] = [];
  for (const j of nodes) for (const i of nodes) if (j !== i) pairs.push({ s: score(j, i), t: truth.has(`${j}>${i}`) });
  pairs.sort((a, b) => b.s - a.s);
  const top = pairs.slice(0, k).filter((p) => p.t).length / k;
  // AUC by ranks with ties at their mean rank (Mann-Whitney U).
  const asc = pairs.slice().reverse();
  let rankSumPos = 0;
  let pos = 0;
  for (let a = 0; a < asc.length; ) {
    let b = a;
    while (b < asc.length && asc[b].s === asc[a].s) b++;
    const meanRank = (a + 1 + b) / 2;
    for (let c = a; c < b; c++) if (asc[c].t) {
      rankSumPos += meanRank;
      pos++;
    }
    a = b;
  }
  const neg = asc.length - pos;
  const auc = (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
  return { precisionAtK: top, auc };
}
