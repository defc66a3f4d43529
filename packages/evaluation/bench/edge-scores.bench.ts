/**
 * `npm run bench -- edge-scores [--quick]`: time and peak memory of scoring edge scores against a
 * graph (`scoreEdgeSets`: precision@|E|, AUC, closest-user accuracy) at the sizes the project
 * meets:
 * - NDM's link prediction on christianity: every ordered pair of its 2,899 users scored twice (an
 *   undirected `embedding` set listing each pair once and a directed `attention` set), 8.4 M pairs,
 *   against its 35,624-edge social graph (needs CASCADE_DATA_DIR);
 * - network recovery of a NetRate-like model on a Twitter-sized synthetic network (12,600 users,
 *   average out-degree 10): the true edges plus 10 times as many wrong pairs listed, the rest unlisted
 *   (`--quick`: 2,000 users).
 * Scores are seeded uniform numbers (plus 0.5 on true edges for the recovery case), so the numbers
 * themselves only check the wiring (random scores give AUC about 0.5).
 */
import os from 'node:os';
import path from 'node:path';
import { Rng, type EdgeScores, type SocialGraph } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { scoreEdgeSets } from '@cascade-lab/evaluation';

const quick = process.argv.includes('--quick');
const rows: string[][] = [];

function allPairs(name: string, users: number, directed: boolean, rng: Rng): EdgeScores {
  const real = users - 2;
  const m = directed ? real * (real - 1) : (real * (real - 1)) / 2;
  const s = { name, directed, sources: new Int32Array(m), targets: new Int32Array(m), scores: new Float64Array(m) };
  let k = 0;
  for (let u = 2; u < users; u++)
    for (let v = directed ? 2 : u + 1; v < users; v++) {
      if (u === v) continue;
      s.sources[k] = u;
      s.targets[k] = v;
      s.scores[k++] = rng.next();
    }
  return s;
}

function measure(label: string, sets: EdgeScores[], graph: SocialGraph): void {
  const listed = sets.reduce((a, s) => a + s.sources.length, 0);
  const t0 = performance.now();
  const ev = scoreEdgeSets(sets, graph);
  const seconds = (performance.now() - t0) / 1000;
  rows.push([label, String(graph.numNodes - 2), String(ev.trueEdges), listed.toLocaleString('en'), seconds.toFixed(1), ev.sets.map((s) => `${s.name} AUC ${s.auc.toFixed(3)}`).join(', ')]);
}

const dataDir = process.env.CASCADE_DATA_DIR ?? path.resolve('../shared/data');
try {
  const data = await loadMicroscopicDataset({ path: path.join(dataDir, 'micro/christianity'), format: 'infvae' }, { seed: 1 });
  const rng = Rng.fromSeed('bench-ndm');
  measure('NDM link prediction, christianity', [allPairs('embedding', data.users.size, false, rng), allPairs('attention', data.users.size, true, rng)], data.graph!);
} catch (e) {
  console.warn(`christianity skipped: ${(e as Error).message}`);
}

{
  const users = quick ? 2_000 : 12_600;
  const rng = Rng.fromSeed('bench-recovery');
  const edges: number[] = [];
  for (let u = 2; u < users; u++) for (let d = 0; d < 10; d++) edges.push(u, 2 + rng.int(users - 2));
  const graph: SocialGraph = { directed: true, numNodes: users, edges: Int32Array.from(edges) };
  const seen = new Set<number>();
  const src: number[] = [];
  const dst: number[] = [];
  const sc: number[] = [];
  const add = (u: number, v: number, s: number) => {
    if (u === v || seen.has(u * users + v)) return;
    seen.add(u * users + v);
    src.push(u);
    dst.push(v);
    sc.push(s);
  };
  for (let e = 0; e < edges.length; e += 2) add(edges[e], edges[e + 1], 0.5 + rng.next());
  for (let i = 0; i < 10 * (edges.length / 2); i++) add(2 + rng.int(users - 2), 2 + rng.int(users - 2), rng.next());
  measure(`network recovery, synthetic ${users.toLocaleString('en')} users`, [{ name: 'rates', directed: true, sources: Int32Array.from(src), targets: Int32Array.from(dst), scores: Float64Array.from(sc) }], graph);
}

const header = ['case', 'users', 'true edges (ordered)', 'listed pairs', 'seconds', 'result'];
console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
