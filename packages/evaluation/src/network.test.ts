import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, quietProgress, type MicroscopicDataset, type MicroscopicModel, type SocialGraph } from '@cascade-lab/core';
import { readMicroscopicSource } from '@cascade-lab/data';
import { METRIC_CATALOGUE } from '@cascade-lab/metrics';
import { networkMetricValues } from './keys.js';
import { evaluateEdgeScores, hasEdgeScores, scoreEdgeSets, type EdgeScores } from './network.js';
import { runMicroscopicProtocol } from './protocols.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = path.resolve(repoRoot, process.env.CASCADE_DATA_DIR ?? '../shared/data');
const referenceDir = path.resolve(dataDir, '../reference');

// Users 2..5; directed edges 2 -> 3, 3 -> 4, 5 -> 2 (user 0 and 1 reserved).
const graph: SocialGraph = { directed: true, numNodes: 6, edges: Int32Array.from([2, 3, 3, 4, 5, 2]) };

describe('edge scores against a ground-truth graph', () => {
  it('gives precision@|E|, AUC and closest-user accuracy per score set (hand)', () => {
    const n = 6;
    const dense = new Float64Array(n * n);
    // closest users: 2 -> 3 (edge 2->3: hit), 3 -> 4 (hit), 4 -> 2 (no edge 4->2: miss), 5 -> 2 (hit)
    dense[2 * n + 3] = 0.9;
    dense[3 * n + 4] = 0.8;
    dense[4 * n + 2] = 0.7;
    dense[5 * n + 2] = 0.6;
    const ev = scoreEdgeSets([{ name: 'embedding', numNodes: n, dense }], graph);
    // 12 ordered pairs, 3 true edges. The top 3 scores 0.9, 0.8, 0.7 hold 2 true edges: precision 2/3.
    // AUC: positives 0.9, 0.8, 0.6 against negatives 0.7 and eight 0s: (9 + 9 + 8) / 27 = 26/27
    expect(ev.sets[0].precisionAtTrueEdges).toBeCloseTo(2 / 3, 15);
    expect(ev.sets[0].auc).toBeCloseTo(26 / 27, 15);
    // users with an edge: 2, 3, 4, 5 (all four); 3 of 4 closest users are followers
    expect(ev.sets[0].closestUserAccuracy).toBe(0.75);
    expect(ev).toMatchObject({ trueEdges: 3, users: 4 });
    // the same scores, sparse, give the same numbers
    const sparse: EdgeScores = { name: 'rates', numNodes: n, sources: [2, 3, 4, 5], targets: [3, 4, 2, 2], scores: [0.9, 0.8, 0.7, 0.6] };
    const ev2 = scoreEdgeSets([sparse], graph);
    expect(ev2.sets[0]).toEqual({ ...ev.sets[0], name: 'rates' });
  });

  it('counts a sparse row with nothing above the unlisted score as no guess', () => {
    const ev = scoreEdgeSets([{ name: 'rates', numNodes: 6, sources: [2], targets: [3], scores: [1] }], graph);
    // only user 2 names a closest user (3, a hit): 1 of 4
    expect(ev.sets[0].closestUserAccuracy).toBe(0.25);
  });

  it('checks names', () => {
    const s = { numNodes: 6, dense: new Float64Array(36) };
    expect(() => scoreEdgeSets([{ ...s, name: 'link_scores' }], graph)).toThrow(/lowerCamelCase/);
    expect(() => scoreEdgeSets([{ ...s, name: 'a' }, { ...s, name: 'a' }], graph)).toThrow(/twice/);
    expect(() => scoreEdgeSets([], graph)).toThrow(/no edge scores/);
  });

  it('reproduces the NetRate reference recovery on the SNAP InfoPath example (reference file)', async () => {
    // ../shared/reference/netrate-infopath-example.json: the exact NetRate optimum's rates above 1e-6
    // (rates at or below it count as 0 = unlisted) and its recovery of the 57 true edges, computed
    // independently: precisionAt57 0.9649122807017544, aucAllOrderedPairs 0.9998874190824655.
    const ref = JSON.parse(readFileSync(path.join(referenceDir, 'netrate-infopath-example.json'), 'utf8')) as {
      'ratesAbove1e-6': Record<string, number>;
      recovery: { precisionAt57: number; aucAllOrderedPairs: number };
    };
    const src = await readMicroscopicSource(path.join(dataDir, 'micro/infopath-example'), 'infopath');
    const truth = src.graph!;
    const sources: number[] = [];
    const targets: number[] = [];
    const scores: number[] = [];
    for (const [pair, rate] of Object.entries(ref['ratesAbove1e-6'])) {
      const [a, b] = pair.split('->');
      sources.push(src.users.indexOf(a)!);
      targets.push(src.users.indexOf(b)!);
      scores.push(rate);
    }
    const model = { edgeScores: () => [{ name: 'rates', numNodes: src.users.size, sources, targets, scores }] };
    expect(hasEdgeScores(model)).toBe(true);
    const ev = await evaluateEdgeScores(model, truth);
    expect(ev.trueEdges).toBe(57);
    expect(ev.sets[0].precisionAtTrueEdges).toBeCloseTo(ref.recovery.precisionAt57, 12);
    expect(ev.sets[0].auc).toBeCloseTo(ref.recovery.aucAllOrderedPairs, 12);
    const keys = networkMetricValues(ev);
    expect(keys['test.network.rates.auc']).toBe(ev.sets[0].auc);
    expect(METRIC_CATALOGUE.unknownKeys(Object.keys(keys))).toEqual([]);
  });

  it('is part of the runner\'s microscopic protocol when the model has edge scores and the dataset a graph', async () => {
    const n = 6;
    const model: MicroscopicModel & { edgeScores(): EdgeScores[] } = {
      // every simulation infects user 3 then stops
      simulate: async (requests) => requests.map((r) => ({ simulations: r.simulations, budget: r.budget, sequences: Int32Array.from({ length: r.simulations * r.budget }, (_, i) => (i % r.budget === 0 ? 3 : -1)) })),
      edgeScores: () => [{ name: 'rates', numNodes: n, sources: [2, 3, 4, 5], targets: [3, 4, 2, 2], scores: [0.9, 0.8, 0.7, 0.6] }],
      save: async () => undefined,
      dispose: () => undefined,
    };
    const users = { size: n, indexOf: (s: string) => Number(s), rawIdOf: (i: number) => String(i) };
    const data: MicroscopicDataset = { name: 'toy', users, train: [], validation: [], test: [{ id: 'a', events: [{ user: 2, time: 0 }, { user: 3, time: 1 }] }], graph };
    const out = await runMicroscopicProtocol(model, data, { simulations: 4 }, { rng: Rng.fromSeed(1), progress: quietProgress, signal: new AbortController().signal });
    expect(out.metrics['test.macroF1']).toBe(1);
    expect(out.metrics['test.network.rates.precisionAtTrueEdges']).toBeCloseTo(2 / 3, 15);
    expect(out.metrics['test.network.users']).toBe(4);
    expect(out.summary).toMatch(/edge scores "rates" against the dataset's graph \(3 edges\): precision@3 0\.6667 {2}AUC 0\.9630/);
    expect(METRIC_CATALOGUE.unknownKeys(Object.keys(out.metrics))).toEqual([]);
  });
});
