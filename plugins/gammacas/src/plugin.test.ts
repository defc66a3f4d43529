import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, MemoryLogger, Rng, createContainer, PluginRegistry, type MacroscopicDataset, type TrainContext } from '@cascade-lab/core';
import { initBackend, tf } from '@cascade-lab/tensor-ops';
import { gammaCasHyperparameters, gammaCasModule, gammaCasPlugin, GammaCasModel, type GammaCasHyperparameters } from './index.js';
import { packCascades } from './inputs.js';
import { evaluateLoss } from './plugin.js';
import { syntheticDataset } from './synthetic.test-util.js';

const work = mkdtempSync(join(tmpdir(), 'gammacas-test-'));

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Recorded {
  metrics: { key: string; value: number; step?: number; tensors: number }[];
  logger: MemoryLogger;
}

function context(seed = 1, signal = new AbortController().signal): { ctx: TrainContext; rec: Recorded } {
  const rec: Recorded = { metrics: [], logger: new MemoryLogger() };
  const ctx: TrainContext = {
    rng: Rng.fromSeed(seed),
    backend: { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'wasm-simd' },
    progress: { start: () => ({ tick() {}, status() {}, done() {} }) },
    logger: rec.logger,
    metrics: { logMetric: (key, value, step) => rec.metrics.push({ key, value, step, tensors: tf.memory().numTensors }) },
    signal,
    workDir: work,
  };
  return { ctx, rec };
}

/** Small settings so that a test trains in about a second on the cpu backend. */
function small(overrides: Partial<GammaCasHyperparameters> = {}): GammaCasHyperparameters {
  return gammaCasHyperparameters.parse({ stateSize: 8, embeddingDim: 8, maxTextTokens: 8, maxNewsTokens: 6, maxNewsItems: 3, batchSize: 16, epochs: 3, ...overrides });
}

const data = syntheticDataset({ cascades: 64, validation: 16, test: 16, bins: 12 });

describe('defaults and registration', () => {
  it('parses {} into the paper\'s settings (GammaCas §4.2)', () => {
    const hp = gammaCasHyperparameters.parse({});
    expect(hp).toMatchObject({
      variant: 'full',
      cell: 'follower-gated',
      gateActivation: 'sigmoid',
      stateSize: 16,
      embeddingDim: 256,
      maxTextTokens: 30,
      maxNewsTokens: 36,
      integrator: 'rk4',
      rk4Steps: 1000,
      zeta: 0.25,
      learningRate: 0.0025,
      batchSize: 256,
      epochs: 40,
    });
    expect(() => gammaCasHyperparameters.parse({ variant: 'no-text' })).toThrow();
  });

  it('is found by name through its ContainerModule', () => {
    const registry = createContainer([gammaCasModule]).get(PluginRegistry);
    expect(registry.get('gammacas')).toBe(gammaCasPlugin);
    expect(gammaCasPlugin.task).toBe('macroscopic');
  });
});

describe('training', () => {
  it('lowers the loss, keeps the number of tensors flat across epochs and logs validation numbers', async () => {
    const { ctx, rec } = context();
    const model = await gammaCasPlugin.train(data, small({ epochs: 6 }), ctx);
    const train = rec.metrics.filter((m) => m.key === 'train.loss');
    expect(train.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(train[5].value).toBeLessThan(train[0].value);
    // After the first epoch (Adam's moment estimates are created by the first step) nothing grows.
    expect(new Set(train.slice(1).map((m) => m.tensors)).size).toBe(1);
    expect(rec.metrics.filter((m) => m.key === 'validation.mapePercent')).toHaveLength(6);
    model.dispose();
  });

  it('learns the content signal: texts with the popular word get a larger mu and attend to that word', async () => {
    // In the synthetic data word 2 triples A (synthetic.test-util.ts).
    const big = syntheticDataset({ cascades: 256, test: 64, bins: 12 });
    const model = await gammaCasPlugin.train(big, small({ variant: 'no-news', epochs: 15, batchSize: 32 }), context(3).ctx);
    const p = await model.predict(big.test, [16]);
    const popular = big.test.map((c) => c.textTokens!.includes(2));
    const meanMu = (flag: boolean) => {
      const mus = p.details!.filter((_, i) => popular[i] === flag).map((d) => d.mu as number);
      return mus.reduce((a, b) => a + b, 0) / mus.length;
    };
    // The true factor on A is 3, but the counts reveal part of it to the LSTM (A = mu relu(...)), so
    // mu takes only part of it: 1.2 to 1.5 with training seeds 1 to 4.
    expect(meanMu(true)).toBeGreaterThan(1.15 * meanMu(false));
    // On texts with word 2 it is the most attended token in most of them (86% to 100% of them with
    // training seeds 1 to 4).
    let top = 0;
    let total = 0;
    big.test.forEach((c, i) => {
      if (!popular[i]) return;
      const w = p.details![i].wordAttention as number[];
      const tokens = [...c.textTokens!].slice(0, 8);
      total++;
      if (tokens[w.indexOf(Math.max(...w))] === 2) top++;
    });
    expect(top / total).toBeGreaterThan(0.75);
    model.dispose();
  });

  it('trains every variant and option to a finite loss', async () => {
    const cases: Partial<GammaCasHyperparameters>[] = [
      { variant: 'no-news' },
      { variant: 'counts-only' },
      { cell: 'lstm' },
      { gateActivation: 'hard-sigmoid' },
      { inputNormalization: 'layer-norm' },
      { integrator: 'closed-form' },
      { integrator: 'dopri5' },
      { zeta: 1 },
    ];
    for (const c of cases) {
      const { ctx, rec } = context();
      const model = await gammaCasPlugin.train(data, small({ epochs: 1, ...c }), ctx);
      const loss = rec.metrics.find((m) => m.key === 'train.loss')!.value;
      expect(Number.isFinite(loss)).toBe(true);
      model.dispose();
    }
  });

  it('changes the computation when an option changes (the switches are wired)', async () => {
    const predictFirst = async (c: Partial<GammaCasHyperparameters>) => {
      const model = await gammaCasPlugin.train(data, small({ epochs: 1, ...c }), context().ctx);
      const p = await model.predict(data.test.slice(0, 1), [24]);
      model.dispose();
      return p.sizes[0][0];
    };
    const base = await predictFirst({});
    for (const c of [{ gateActivation: 'hard-sigmoid' as const }, { cell: 'lstm' as const }, { inputNormalization: 'layer-norm' as const }, { variant: 'no-news' as const }, { embeddingInitRange: 0.5 }]) {
      expect(await predictFirst(c)).not.toBeCloseTo(base, 6);
    }
    // Same settings, same seed: same model.
    expect(await predictFirst({})).toBe(base);
  });

  it('keeps the epoch with the lowest validation loss when asked to', async () => {
    const { ctx, rec } = context(2);
    // A large learning rate makes the validation loss go up and down (67, 69, 59, 61, 53, 65 with
    // this seed), so the best epoch (5) is not the last and the weights must really be restored.
    const hp = small({ epochs: 6, keepBestEpoch: true, learningRate: 0.1 });
    const model = (await gammaCasPlugin.train(data, hp, ctx)) as GammaCasModel;
    const losses = rec.metrics.filter((m) => m.key === 'validation.loss').map((m) => m.value);
    const bestEpoch = rec.metrics.find((m) => m.key === 'train.bestEpoch')!.value;
    expect(losses[bestEpoch - 1]).toBe(Math.min(...losses));
    expect(bestEpoch).toBeLessThan(6);
    // The returned weights give that loss again on the validation cascades.
    const arch = model.architecture;
    const validation = packCascades(data.validation, { bins: arch.bins, withText: true, withNews: true, maxTextTokens: arch.maxTextTokens, maxNewsItems: arch.maxNewsItems, maxNewsTokens: arch.maxNewsTokens, vocabularySize: arch.vocabularySize, horizons: 4 });
    expect(evaluateLoss(model.network, validation, hp, data.horizonsHours, model.integrator).loss).toBeCloseTo(Math.min(...losses), 4);
    model.dispose();
    await expect(gammaCasPlugin.train({ ...data, validation: [] }, hp, context().ctx)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('refuses a variant whose signals the dataset lacks, naming the fix', async () => {
    const noText = syntheticDataset({ cascades: 16, bins: 12, withText: false });
    await expect(gammaCasPlugin.train(noText, small(), context().ctx)).rejects.toMatchObject({ code: 'CONFIG_INVALID', hint: expect.stringContaining('counts-only') });
    const noNews: MacroscopicDataset = { ...data, train: data.train.map((c) => ({ ...c, newsTokens: undefined })) };
    await expect(gammaCasPlugin.train(noNews, small(), context().ctx)).rejects.toMatchObject({ code: 'CONFIG_INVALID', hint: expect.stringContaining('no-news') });
    const model = await gammaCasPlugin.train(noText, small({ variant: 'counts-only', epochs: 1 }), context().ctx);
    model.dispose();
  });

  it('stops with CancelledError when the signal fires, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const { ctx } = context(1, controller.signal);
    ctx.progress = { start: () => ({ tick: () => controller.abort(), status() {}, done() {} }) };
    await expect(gammaCasPlugin.train(data, small(), ctx)).rejects.toBeInstanceOf(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('textLearningRate moves the content path (and only it) at its own rate', async () => {
    const weightsAfter = async (textLearningRate: number | null) => {
      const model = (await gammaCasPlugin.train(data, small({ epochs: 1, learningRate: 1e-9, textLearningRate }), context().ctx)) as GammaCasModel;
      const all = Object.fromEntries(Object.entries(model.network.allWeights()).map(([k, t]) => [k, Array.from(t.dataSync())]));
      model.dispose();
      return all;
    };
    const slow = await weightsAfter(null);
    const fast = await weightsAfter(0.01);
    const moved = (k: string) => Math.max(...slow[k].map((x, i) => Math.abs(x - fast[k][i])));
    const content = Object.keys(slow).filter((k) => /(^|\/)(text|mu)\//.test(k));
    expect(content.sort()).toEqual(expect.arrayContaining(['mu/kernel', 'text/embedding']));
    // (The word attention's bias gets no gradient: a softmax ignores a shift shared by all words.)
    for (const k of content.filter((k) => !k.endsWith("wordAttentionBias"))) if (!(moved(k) > 1e-4)) throw new Error(`${k} moved ${moved(k)}`);
    for (const k of Object.keys(slow).filter((k) => !content.includes(k))) expect(moved(k)).toBeLessThan(1e-6);
  });

  it('draws random embeddings in [-embeddingInitRange, embeddingInitRange]', async () => {
    for (const r of [0.05, 0.5]) {
      const model = (await gammaCasPlugin.train(data, small({ epochs: 1, learningRate: 1e-9, embeddingInitRange: r }), context().ctx)) as GammaCasModel;
      const values = (model.network.allWeights()['text/embedding'].arraySync() as number[][]).slice(1).flat();
      const largest = Math.max(...values.map(Math.abs));
      expect(largest).toBeLessThanOrEqual(r + 1e-6);
      expect(largest).toBeGreaterThan(0.9 * r);
      model.dispose();
    }
  });

  it('initialises the embeddings from a word2vec text file', async () => {
    const words = ['<pad>', '<unk>', ...Array.from({ length: 18 }, (_, i) => `w${i + 2}`)];
    const file = join(work, 'vectors.txt');
    // Header "count dim", then two known words and one the vocabulary lacks.
    writeFileSync(file, '3 8\nw2 1 2 3 4 5 6 7 8\nnot-in-vocab 0 0 0 0 0 0 0 0\nw5 -1 -1 -1 -1 -1 -1 -1 -1\n');
    const { ctx, rec } = context();
    // A learning rate of 1e-9 moves no weight by more than about 1e-9 in one epoch (Adam's step is
    // bounded by the learning rate), so the trained embeddings still show their starting values.
    const model = (await gammaCasPlugin.train({ ...data, words }, small({ epochs: 1, learningRate: 1e-9, pretrainedEmbeddings: file }), ctx)) as GammaCasModel;
    const embedding = model.network.allWeights()['text/embedding'].arraySync() as number[][];
    for (let k = 0; k < 8; k++) {
      expect(embedding[2][k]).toBeCloseTo(k + 1, 5);
      expect(embedding[5][k]).toBeCloseTo(-1, 5);
      expect(Math.abs(embedding[3][k])).toBeLessThanOrEqual(0.05 + 1e-6); // U(-0.05, 0.05)
    }
    expect(rec.logger.lines.some((l) => l.message.includes('pre-trained vectors for 2 of 19 words'))).toBe(true);
    model.dispose();
    // A relative path is taken from the context's baseDir (the runner passes the config file's directory).
    const relative = (await gammaCasPlugin.train({ ...data, words }, small({ epochs: 1, learningRate: 1e-9, pretrainedEmbeddings: 'vectors.txt' }), { ...context().ctx, baseDir: work })) as GammaCasModel;
    expect((relative.network.allWeights()['text/embedding'].arraySync() as number[][])[2][0]).toBeCloseTo(1, 5);
    relative.dispose();
    await expect(gammaCasPlugin.train(data, small({ pretrainedEmbeddings: file }), context().ctx)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('trained model', () => {
  let model: GammaCasModel;
  beforeAll(async () => {
    model = (await gammaCasPlugin.train(data, small({ epochs: 4 }), context().ctx)) as GammaCasModel;
  });
  afterAll(() => model.dispose());

  it('reports A, gamma, lambda, mu and the attention weights of each cascade', async () => {
    const p = await model.predict(data.test, [12, 24]);
    expect(p.sizes).toHaveLength(16);
    for (let i = 0; i < 16; i++) {
      const d = p.details![i];
      expect(d.A).toBeGreaterThanOrEqual(0);
      expect(d.gamma).toBeGreaterThan(0);
      expect(d.lambda).toBeGreaterThanOrEqual(0);
      expect(d.mu).toBeGreaterThanOrEqual(0);
      const tokens = Math.min(8, data.test[i].textTokens!.length);
      expect((d.wordAttention as number[]).length).toBe(tokens);
      expect((d.wordAttention as number[]).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect((d.newsAttention as number[]).length).toBe(Math.min(3, data.test[i].newsTokens!.length));
    }
  });

  it('predicts at horizons it was not trained on, with sizes monotone in the horizon', async () => {
    // Trained on 2, 4, 8, 16 h; asked for other horizons, in a scrambled order, and far beyond.
    const horizons = [30, 1.25, 3, 700, 7.5, 100, 2.5, 12];
    const sorted = horizons.map((h, j) => ({ h, j })).sort((a, b) => a.h - b.h);
    for (const integrator of ['rk4', 'closed-form'] as const) {
      model.integrator = { ...model.integrator, integrator };
      const p = await model.predict(data.test, horizons);
      for (const sizes of p.sizes) {
        for (let k = 1; k < sorted.length; k++) expect(sizes[sorted[k].j]).toBeGreaterThanOrEqual(sizes[sorted[k - 1].j]);
        expect(sizes.every(Number.isFinite)).toBe(true);
      }
    }
    model.integrator = { ...model.integrator, integrator: 'rk4' };
  });

  it('saves and loads to the same predictions and details', async () => {
    const dir = join(work, 'saved');
    await model.save(dir);
    const loaded = await gammaCasPlugin.load(dir, { backend: { name: 'cpu', package: '', device: 'cpu' }, logger: new MemoryLogger(), signal: new AbortController().signal });
    const horizons = [6, 24, 360];
    const a = await model.predict(data.test, horizons);
    const b = await loaded.predict(data.test, horizons);
    expect(b.sizes).toEqual(a.sizes);
    expect(b.details).toEqual(a.details);
    loaded.dispose();
    await expect(gammaCasPlugin.load(join(work, 'nothing-here'), { backend: { name: 'cpu', package: '', device: 'cpu' }, logger: new MemoryLogger(), signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'DATA_NOT_FOUND',
    });
  });

  it('predicts nothing for no cascades, and refuses cascades with another number of bins', async () => {
    expect((await model.predict([], [24])).sizes).toEqual([]);
    const other = syntheticDataset({ cascades: 2, bins: 6 });
    await expect(model.predict(other.train, [24])).rejects.toMatchObject({ code: 'DATA_FORMAT' });
    await expect(model.predict(data.test, [0])).rejects.toMatchObject({ code: 'USAGE' });
  });
});
