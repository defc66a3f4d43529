import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, quietProgress, type EdgeScores, type MicroscopicDataset, type MicroscopicModel, type SocialGraph } from '@cascade-lab/core';
import { readMicroscopicSource } from '@cascade-lab/data';
import { METRIC_CATALOGUE } from '@cascade-lab/metrics';
import { networkMetricValues } from './keys.js';
import { evaluateEdgeScores, hasEdgeScores, scoreEdgeSets } from './network.js';
import { runMicroscopicProtocol } from './protocols.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = path.resolve(repoRoot, process.env.CASCADE_DATA_DIR ?? '../shared/data');
const referenceDir = path.resolve(dataDir, '../reference');

// Users 2..5; directed edges 2 -> 3, 3 -> 4, 5 -> 2 (user 0 and 1 reserved).
const graph: SocialGraph = { directed: true, numNodes: 6, edges: Int32Array.from([2, 3, 3, 4, 5, 2]) };

describe('edge scores against a ground-truth graph', () => {
  const set = (name: string, pairs: [number, number, number][], directed = true): EdgeScores => ({
    name,
    directed,
    sources: Int32Array.from(pairs, (p) => p[0]),
    targets: Int32Array.from(pairs, (p) => p[1]),
    scores: Float64Array.from(pairs, (p) => p[2]),
  });

  it('gives precision@|E|, AUC and closest-user accuracy per score set (hand)', () => {
    // closest users: 2 -> 3 (edge 2->3: hit), 3 -> 4 (hit), 4 -> 2 (no edge 4->2: miss), 5 -> 2 (hit)
    const ev = scoreEdgeSets([set('rates', [[2, 3, 0.9], [3, 4, 0.8], [4, 2, 0.7], [5, 2, 0.6]])], graph);
    // 12 ordered pairs, 3 true edges; the 8 unlisted pairs score lowest (a tie).
    // The top 3 scores 0.9, 0.8, 0.7 hold 2 true edges: precision 2/3.
    // AUC: positives 0.9, 0.8, 0.6 against negatives 0.7 and eight unlisted: (9 + 9 + 8) / 27 = 26/27
    expect(ev.sets[0]).toEqual({ name: 'rates', precisionAtTrueEdges: expect.closeTo(2 / 3, 15), auc: expect.closeTo(26 / 27, 15), closestUserAccuracy: 0.75 });
    // users with an edge: 2, 3, 4, 5 (all four); 3 of 4 closest users are followers
    expect(ev).toMatchObject({ trueEdges: 3, users: 4 });
  });

  it('reads an undirected set both ways and an unnamed set as "edges"', () => {
    // symmetric scores listed once: {2,3} 0.9, {4,5} 0.5
    const ev = scoreEdgeSets([{ ...set('x', [[2, 3, 0.9], [4, 5, 0.5]], false), name: undefined }], graph);
    // ordered pairs: (2,3) 0.9 +, (3,2) 0.9 -, (4,5) 0.5 -, (5,4) 0.5 -, 8 unlisted (3->4 + and 5->2 + among them).
    // precision@3: the 0.9 pair {+,-} then one of the 0.5 pair {-,-}: 1/3.
    // AUC: (2,3) beats 0.5 x 2 and the 6 unlisted negatives, ties (3,2): 8.5; the two unlisted positives
    // tie the 6 unlisted negatives: 3 each. (8.5 + 3 + 3) / (3 x 9) = 14.5/27
    expect(ev.sets[0]).toMatchObject({ name: 'edges', precisionAtTrueEdges: expect.closeTo(1 / 3, 15), auc: expect.closeTo(14.5 / 27, 15) });
    // closest: 2 -> 3 (hit), 3 -> 2 (no edge 3->2: miss), 4 -> 5 (miss), 5 -> 4 (miss): 1/4
    expect(ev.sets[0].closestUserAccuracy).toBe(0.25);
  });

  it('counts a user that lists no pair as naming nobody', () => {
    const ev = scoreEdgeSets([set('rates', [[2, 3, 1]])], graph);
    // only user 2 names a closest user (3, a hit): 1 of 4
    expect(ev.sets[0].closestUserAccuracy).toBe(0.25);
  });

  it('checks names and shapes', () => {
    const s = set('a', [[2, 3, 1]]);
    expect(() => scoreEdgeSets([{ ...s, name: 'link_scores' }], graph)).toThrow(/lowerCamelCase/);
    expect(() => scoreEdgeSets([s, s], graph)).toThrow(/twice/);
    expect(() => scoreEdgeSets([], graph)).toThrow(/no edge scores/);
    expect(() => scoreEdgeSets([{ ...s, scores: new Float64Array(2) }], graph)).toThrow(/1 sources, 1 targets and 2 scores/);
    expect(() => scoreEdgeSets([set('a', [[2, 3, 1], [2, 3, 2]])], graph)).toThrow(/listed twice/);
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
    const model = { edgeScores: async (): Promise<EdgeScores> => ({ name: 'rates', directed: true, sources: Int32Array.from(sources), targets: Int32Array.from(targets), scores: Float64Array.from(scores) }) };
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
    const model: MicroscopicModel = {
      // every simulation infects user 3 then stops
      simulate: async (requests) => requests.map((r) => ({ simulations: r.simulations, budget: r.budget, sequences: Int32Array.from({ length: r.simulations * r.budget }, (_, i) => (i % r.budget === 0 ? 3 : -1)) })),
      edgeScores: async () => set('rates', [[2, 3, 0.9], [3, 4, 0.8], [4, 2, 0.7], [5, 2, 0.6]]),
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
