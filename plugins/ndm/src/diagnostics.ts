/**
 * How sharp an NDM's next-user distribution is, beside how well it ranks (issue 15: at the same
 * hits@10, a flatter distribution spreads its simulations over more users and scores a lower
 * simulated F1). Over every position t >= 0 of the given cascades with a real next user, given the
 * true prefix (infected users masked, as `nextUserScores`):
 * - `entropy`: mean entropy (nats) of the next-user softmax;
 * - `nll`: mean negative log-probability of the true next user;
 * - `topProbability`: mean probability of the most likely user;
 * - `probabilityAtTrue`: mean probability given to the true next user;
 * - `logitStd`: mean standard deviation of the open logits (the logit scale);
 * - `hitsAt10`: fraction of positions whose true user is in the top 10;
 * and the Frobenius norms of the weights (`norm.<weight>`), with the embedding's per user.
 */
import { END_USER } from '@cascade-lab/core';
import type { NdmModel } from './plugin.js';
import { WEIGHT_NAMES } from './weights.js';
import type { Cascade } from '@cascade-lab/core';

export interface NdmDiagnostics {
  positions: number;
  entropy: number;
  nll: number;
  topProbability: number;
  probabilityAtTrue: number;
  logitStd: number;
  hitsAt10: number;
  norms: Record<string, number>;
}

/** Entropy, NLL, top probability and logit spread of one row of masked logits (-Infinity = closed). */
export function rowSharpness(row: Float32Array, target: number): { entropy: number; nll: number; top: number; pTrue: number; std: number; rank: number } {
  let max = -Infinity;
  let open = 0;
  let sum = 0;
  let sumSq = 0;
  for (const v of row) {
    if (v === -Infinity) continue;
    open++;
    sum += v;
    sumSq += v * v;
    if (v > max) max = v;
  }
  let z = 0;
  for (const v of row) if (v !== -Infinity) z += Math.exp(v - max);
  const logZ = max + Math.log(z);
  let entropy = 0;
  let rank = 1;
  for (const v of row) {
    if (v === -Infinity) continue;
    const lp = v - logZ;
    entropy -= Math.exp(lp) * lp;
    if (v > row[target]) rank++;
  }
  const mean = sum / open;
  return { entropy, nll: logZ - row[target], top: Math.exp(max - logZ), pTrue: Math.exp(row[target] - logZ), std: Math.sqrt(Math.max(0, sumSq / open - mean * mean)), rank };
}

export async function diagnoseNdm(model: NdmModel, cascades: readonly Cascade[]): Promise<NdmDiagnostics> {
  let n = 0;
  const acc = { entropy: 0, nll: 0, top: 0, pTrue: 0, std: 0, hits: 0 };
  for (const c of cascades) {
    const users = c.events.map((e) => e.user);
    if (users.length < 2) continue;
    const rows = await model.nextUserScores(users);
    rows.forEach((row, t) => {
      const target = users[t + 1];
      if (target === END_USER || row[target] === -Infinity) return;
      const s = rowSharpness(row, target);
      acc.entropy += s.entropy;
      acc.nll += s.nll;
      acc.top += s.top;
      acc.pTrue += s.pTrue;
      acc.std += s.std;
      if (s.rank <= 10) acc.hits++;
      n++;
    });
  }
  const norms: Record<string, number> = {};
  for (const name of WEIGHT_NAMES) {
    const w = model.weights[name];
    if (w.length === 0) continue;
    let s = 0;
    for (const x of w) s += x * x;
    norms[name] = Math.sqrt(s);
  }
  norms.embeddingPerUser = norms.embedding / Math.sqrt(model.architecture.numUsers);
  return { positions: n, entropy: acc.entropy / n, nll: acc.nll / n, topProbability: acc.top / n, probabilityAtTrue: acc.pTrue / n, logitStd: acc.std / n, hitsAt10: acc.hits / n, norms };
}
