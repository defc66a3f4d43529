import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CascadeError, Rng, type SocialGraph } from '@cascade-lab/core';
import { ndmHyperparameters } from './hyperparameters.js';
import { ndmPlugin, NdmModel, socialLinkPrediction } from './plugin.js';
import { chainDataset, smallHyperparameters, trainContext, useBackend } from './testing.test-util.js';
import { architectureOf, initialWeights } from './weights.js';

beforeAll(() => useBackend('cpu'));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ndm-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('hyperparameters', () => {
  it('default to the paper: d 64, h 8, win 3, Finit 0, dropout 0.1, Adam, batch 32, </s> learned', () => {
    const hp = ndmHyperparameters.parse({});
    expect(hp).toMatchObject({ dimension: 64, heads: 8, window: 3, initialUser: false, dropout: 0.1, batchSize: 32, learnEnd: true, layerNorm: 'standard' });
    expect(hp.adamBeta2).toBe(0.98);
    expect(hp.adamEpsilon).toBe(1e-9);
  });

  it('reject unknown fields and out-of-range values with their key', () => {
    expect(ndmHyperparameters.safeParse({ head: 4 }).success).toBe(false);
    const bad = ndmHyperparameters.safeParse({ dropout: 1.5 });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0].path).toEqual(['dropout']);
  });
});

describe('ndm plugin', () => {
  const data = chainDataset();

  it('trains, logs loss and validation hits@k/MAP@k per epoch, and reports Table 4 norms', async () => {
    const ctx = trainContext(1);
    const model = (await ndmPlugin.train(data, smallHyperparameters({ maxEpochs: 2 }), ctx)) as NdmModel;
    const keys = new Set(ctx.logged.map((l) => l.key));
    for (const k of ['train.loss', 'train.epochSeconds', 'train.learningRate', 'train.tokensPerSecond', 'validation.loss', 'validation.hitsAt10', 'validation.mapAt10', 'train.epochs', 'train.bestEpoch']) expect(keys.has(k)).toBe(true);
    // Every key in the project's style: lowerCamelCase segments after a phase.
    for (const k of keys) expect(k).toMatch(/^(train|validation)(\.[a-z][a-zA-Z0-9]*)+$/);
    expect(ctx.logged.filter((l) => l.key === 'train.loss').map((l) => l.step)).toEqual([1, 2]);
    expect(ctx.logged.find((l) => l.key === 'train.epochs')!.value).toBe(2);
    expect(ctx.ticks).toBeGreaterThan(0);
    const summary = model.summaryMetrics();
    // ||W^C_n||_F^2 summed by hand from the weights.
    let w0 = 0;
    const { dimension: d, numUsers: U } = model.architecture;
    for (let i = 0; i < d * U; i++) w0 += model.weights.windowProjection[i] ** 2;
    expect(summary.windowProjection0SquaredFrobenius).toBeCloseTo(w0, 6);
    expect(summary.windowProjection2SquaredFrobenius).toBeGreaterThan(0);
    for (const k of Object.keys(summary)) expect(k).toMatch(/^[a-z][a-zA-Z0-9]*$/);
    model.dispose();
  });

  it('save -> load gives identical next-user scores and identical simulations', async () => {
    const model = (await ndmPlugin.train(data, smallHyperparameters({ maxEpochs: 1, initialUser: true }), trainContext(2))) as NdmModel;
    await model.save(dir);
    const loaded = (await ndmPlugin.load(dir, trainContext())) as NdmModel;
    const cascade = [3, 4, 5, 9];
    const a = await model.nextUserScores(cascade);
    const b = await loaded.nextUserScores(cascade);
    expect(a.length).toBe(3);
    expect(b.map((r) => Array.from(r))).toEqual(a.map((r) => Array.from(r)));
    // Infected users and padding are -Infinity.
    expect(a[1][0]).toBe(-Infinity);
    expect(a[1][3]).toBe(-Infinity);
    expect(a[1][4]).toBe(-Infinity);
    expect(Number.isFinite(a[1][5])).toBe(true);
    const request = [{ seeds: [3], budget: 4, simulations: 50 }];
    const sa = await model.simulate(request, Rng.fromSeed(4));
    const sb = await loaded.simulate(request, Rng.fromSeed(4));
    expect(Array.from(sb[0].sequences)).toEqual(Array.from(sa[0].sequences));
    expect(loaded.summaryMetrics()).toEqual(model.summaryMetrics());
    model.dispose();
    loaded.dispose();
  });

  it('fails to load a folder without a model', async () => {
    await expect(ndmPlugin.load(dir, trainContext())).rejects.toThrow(CascadeError);
  });

  it('retrain-all trains the final model on training + validation cascades for the best epoch count', async () => {
    const ctx = trainContext(3);
    const model = await ndmPlugin.train(data, smallHyperparameters({ maxEpochs: 2, finalFit: 'retrain-all' }), ctx);
    const best = ctx.logged.find((l) => l.key === 'train.bestEpoch')!.value;
    expect(ctx.logged.filter((l) => l.key === 'train.retrain.loss').length).toBe(best);
    expect(ctx.logged.find((l) => l.key === 'train.retrain.epochs')!.value).toBe(best);
    model.dispose();
  });
});

describe('NDM+SN', () => {
  // Two 5-cliques over users 2..6 and 7..11.
  const edges: number[] = [];
  for (const group of [[2, 3, 4, 5, 6], [7, 8, 9, 10, 11]]) for (const a of group) for (const b of group) if (a < b) edges.push(a, b);
  const graph: SocialGraph = { directed: false, numNodes: 12, edges: Int32Array.from(edges) };

  it('needs a graph', async () => {
    await expect(ndmPlugin.train(chainDataset(), smallHyperparameters({ socialEmbedding: true }), trainContext())).rejects.toThrow(/needs a social graph/);
  });

  it('keeps the DeepWalk half fixed while training the other half, and reports link prediction', async () => {
    const data = { ...chainDataset(), graph };
    const model = (await ndmPlugin.train(data, smallHyperparameters({ maxEpochs: 2, socialEmbedding: true }), trainContext(5))) as NdmModel;
    const untrained = initialWeights(model.architecture, Rng.fromSeed(5).derive('init'), new Float32Array(12 * 4));
    const d = model.architecture.dimension;
    // The DeepWalk columns equal a fresh DeepWalk run with the same seed; the rest moved.
    const again = (await ndmPlugin.train(data, smallHyperparameters({ maxEpochs: 1, socialEmbedding: true }), trainContext(5))) as NdmModel;
    let trainedMoved = 0;
    for (let u = 2; u < 12; u++) {
      for (let e = 0; e < d / 2; e++) expect(model.weights.embedding[u * d + e]).toBe(again.weights.embedding[u * d + e]);
      for (let e = d / 2; e < d; e++) trainedMoved += Math.abs(model.weights.embedding[u * d + e] - untrained.embedding[u * d + e]);
    }
    expect(trainedMoved).toBeGreaterThan(0);
    const summary = model.summaryMetrics();
    expect(summary.linkPredictionUsers).toBe(10);
    expect(summary.linkPredictionAccuracyEmbedding).toBeGreaterThanOrEqual(0);
    model.dispose();
    again.dispose();
  });

  it('link prediction: the closest user by inner product counts when it is a neighbour', () => {
    const hp = smallHyperparameters({ dimension: 4, heads: 1 });
    const arch = architectureOf(hp, 6);
    const w = initialWeights(arch, Rng.fromSeed(1));
    // Users 2,3 point one way, 4,5 the other: each one's closest user is its twin.
    w.embedding.set([1, 0, 0, 0, 1, 0.1, 0, 0, -1, 0, 0, 0, -1, -0.1, 0, 0], 8);
    const twins: SocialGraph = { directed: false, numNodes: 6, edges: Int32Array.from([2, 3, 4, 5]) };
    const crossed: SocialGraph = { directed: false, numNodes: 6, edges: Int32Array.from([2, 4, 3, 5]) };
    const q = new Float32Array(6 * 4);
    expect(socialLinkPrediction(arch, w, twins, q).linkPredictionAccuracyEmbedding).toBe(1);
    expect(socialLinkPrediction(arch, w, crossed, q).linkPredictionAccuracyEmbedding).toBe(0);
  });
});
