import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { executionSettings, MemoryLogger, quietProgress, Rng, type MacroscopicDataset, type TrainContext } from '@cascade-lab/core';
import { initBackend, tf } from '@cascade-lab/tensor-ops';
import { SimulationPool } from '@cascade-lab/simulation';
import {
  deepcasHyperparameters,
  deepcasPlugin,
  HorizonNetwork,
  logIncrement,
  networkLearningRate,
  NodeVocabulary,
  prepareCascade,
  cascadeWalks,
  preparedFromWalks,
  sizesFromLogIncrements,
  trainingVocabulary,
  type DeepCasHyperparameters,
  type DeepCasModel,
  DeepCasModel as DeepCasModelClass,
} from './plugin.js';
import { DeepCasNetwork, PAD_NODE, RESERVED_NODES, UNKNOWN_NODE, type DeepCasArchitecture } from './model.js';
import { tinyGraphDataset } from './graphs.test-util.js';

/** Small dimensions for the tiny dataset. */
const SMALL = { walksPerGraph: 8, walkLength: 4, blockSize: 2, embeddingDim: 6, gruUnits: 4, dense1: 6, dense2: 4, skipGramEpochs: 1, batchSize: 8, epochs: 2 };

// The plugin contract (core's kit) on the tiny macroscopic dataset with cascade graphs.
describePluginConformance(deepcasPlugin, {
  hyperparameters: SMALL,
  dataset: tinyGraphDataset(),
  setup: () => initBackend('wasm'),
  numTensors: () => tf.memory().numTensors,
});

const context = (seed = 1, logged: { key: string; value: number }[] = []): TrainContext => ({
  rng: Rng.fromSeed(seed),
  backend: { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'wasm-simd' },
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics: { logMetric: (key, value) => void logged.push({ key, value }) },
  signal: new AbortController().signal,
  workDir: mkdtempSync(join(tmpdir(), 'deepcas-')),
  execution: executionSettings({ workers: 1 }),
});

describe('deepcas plugin', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('sizes at any horizon: observed + 2^y - 1, y running-max over trained horizons, linear in h between them (hand-computed)', () => {
    // Trained at 12 h (y = 2) and 24 h (y = 1, raised to 2 by the running max); window 6 h.
    // 6 h: y = 0 -> 10; 9 h: y = 1 -> 11; 12 h: 13; 18 h: y = 2 -> 13; 48 h: 13.
    expect(Array.from(sizesFromLogIncrements(10, [12, 24], [2, 1], 6, [6, 9, 12, 18, 48]))).toEqual([10, 11, 13, 13, 13]);
    // y = 3 at 24 h: 18 h is halfway from 2 to 3 -> 2^2.5 - 1 + 10.
    expect(sizesFromLogIncrements(10, [24, 12], [3, 2], 6, [18])[0]).toBeCloseTo(10 + 2 ** 2.5 - 1, 12);
    // A negative predicted y counts as 0 (no shrinking).
    expect(Array.from(sizesFromLogIncrements(5, [12], [-0.7], 6, [3, 12, 100]))).toEqual([5, 5, 5]);
  });

  it('network step size: learningRate 0.5^floor(e / n) in epoch e (1-based), constant with n = 0 (hand-computed)', () => {
    // 13 steps an epoch, n = 3: steps 1-26 (epochs 1, 2) 0.01; step 27 (epoch 3) 0.005; step 65 (epoch 5) 0.005; step 66 (epoch 6) 0.0025.
    const lr = networkLearningRate({ learningRate: 0.01, learningRateHalvingEpochs: 3 }, 13);
    expect([1, 26, 27, 65, 66].map(lr)).toEqual([0.01, 0.01, 0.005, 0.005, 0.0025]);
    expect([1, 1000].map(networkLearningRate({ learningRate: 0.01, learningRateHalvingEpochs: 0 }, 13))).toEqual([0.01, 0.01]);
  });

  it('labels are log2(increment + 1), NaN where the size is unknown (hand-computed)', () => {
    const c = { ...tinyGraphDataset().train[0], observedSize: 5, targets: Float64Array.from([5, 12, NaN]) };
    expect(logIncrement(c, 0)).toBe(0);
    expect(logIncrement(c, 1)).toBeCloseTo(3, 12);
    expect(logIncrement(c, 2)).toBeNaN();
  });

  it('prepared walks: vocabulary indices of the training nodes, UNKNOWN for others, PAD after a walk ends, the size bucket', () => {
    const data = tinyGraphDataset();
    const vocabulary = new NodeVocabulary(['u1', 'u2']);
    const hp = deepcasHyperparameters.parse(SMALL);
    const c = data.test[0];
    const p = prepareCascade(c, vocabulary, hp, Rng.fromSeed(1));
    expect(p.walks).toHaveLength(hp.walksPerGraph * hp.walkLength);
    expect(p.bucket).toBe(Math.min(hp.sizeBuckets - 1, Math.floor(Math.log2(c.cascadeGraph!.numNodes))));
    for (const v of p.walks) expect([PAD_NODE, UNKNOWN_NODE, 2, 3]).toContain(v);
    // The same stream gives the same walks regardless of the other cascades prepared.
    expect(prepareCascade(c, vocabulary, hp, Rng.fromSeed(1)).walks).toEqual(p.walks);
  });

  it('learns: on graphs whose increment grows with the root out-degree, the trained network beats predicting the training mean', async () => {
    // Increment label = 2^(root out-degree / 2) - 1 for every horizon: a function of the graph.
    const base = tinyGraphDataset();
    const relabel = (c: MacroscopicDataset['train'][number]) => {
      const g = c.cascadeGraph!;
      let deg = 0;
      for (let k = 0; k < g.edges.length; k += 2) if (g.edges[k] === 0) deg++;
      return { ...c, targets: Float64Array.from(base.horizonsHours, () => c.observedSize + 2 ** (deg / 2) - 1) };
    };
    const data: MacroscopicDataset = { ...base, horizonsHours: [12], train: base.train.map(relabel), validation: base.validation.map(relabel), test: base.test.map(relabel) };
    const hp: DeepCasHyperparameters = deepcasHyperparameters.parse({ ...SMALL, walksPerGraph: 20, blockSize: 10, epochs: 60, patience: 0, learningRate: 0.01 });
    const model = await deepcasPlugin.train(data, hp, context(3));
    const y = (c: MacroscopicDataset['train'][number]) => logIncrement(c, 0);
    const mean = data.train.reduce((a, c) => a + y(c), 0) / data.train.length;
    const predicted = await (model as import('./plugin.js').DeepCasModel).predictLogIncrements(data.test);
    let mseModel = 0;
    let mseMean = 0;
    data.test.forEach((c, i) => {
      mseModel += (predicted[i][0] - y(c)) ** 2;
      mseMean += (mean - y(c)) ** 2;
    });
    model.dispose();
    expect(mseModel).toBeLessThan(0.5 * mseMean);
  });

  it('graphSizeInput and graphSizeSkip (the defaults): trains, saves and loads with the size row of its first layer and the slope, and the loaded model predicts the same', async () => {
    const data = tinyGraphDataset();
    const hp = deepcasHyperparameters.parse(SMALL);
    const model = (await deepcasPlugin.train(data, hp, context(4))) as DeepCasModel;
    expect(model.architecture.graphSizeInput).toBe(true);
    expect(model.architecture.graphSizeSkip).toBe(true);
    expect(model.horizonNetworks[0].network.w1.shape).toEqual([2 * SMALL.gruUnits + 1, SMALL.dense1]);
    expect(model.horizonNetworks[0].network.sizeSlope!.dataSync()[0]).not.toBe(0); // trained from 0
    const dir = mkdtempSync(join(tmpdir(), 'deepcas-size-'));
    await model.save(dir);
    const loaded = await DeepCasModelClass.load(dir);
    const predictContext = () => ({ rng: Rng.fromSeed(5), signal: new AbortController().signal, progress: quietProgress, execution: executionSettings({ workers: 1 }) });
    const a = await model.predictLogIncrements(data.test, predictContext());
    const b = await loaded.predictLogIncrements(data.test, predictContext());
    expect(b.map((r) => Array.from(r))).toEqual(a.map((r) => Array.from(r)));
    // The size is read: the same walks and buckets with another log2 |V_c| give other predictions.
    const rows = data.test.map((c) => prepareCascade(c, model.vocabulary, hp, Rng.fromSeed(6)));
    const net = model.horizonNetworks[0];
    const same = net.predict(rows, hp.batchSize);
    const moved = net.predict(rows.map((r) => ({ ...r, logSize: r.logSize + 3 })), hp.batchSize);
    expect(same.some((v, i) => Math.abs(v - moved[i]) > 1e-6)).toBe(true);
    expect(rows.map((r) => r.logSize)).toEqual(data.test.map((c) => Math.log2(c.cascadeGraph!.numNodes)));
    model.dispose();
    loaded.dispose();
  });

  it('no tensor left behind across epochs: 1 and 4 epochs leave the same tensor count while the model lives (one network per horizon)', async () => {
    const data = tinyGraphDataset();
    const counts: number[] = [];
    for (const epochs of [1, 4]) {
      const before = tf.memory().numTensors;
      const model = await deepcasPlugin.train(data, deepcasHyperparameters.parse({ ...SMALL, epochs, ensembleEpochs: 1 }), context(2));
      counts.push(tf.memory().numTensors - before);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(counts[1]).toBe(counts[0]);
  });

  it('logs per-horizon keys in the project style and refuses cascades without a graph', async () => {
    const logged: { key: string; value: number }[] = [];
    const data = tinyGraphDataset();
    const model = await deepcasPlugin.train(data, deepcasHyperparameters.parse({ ...SMALL, epochs: 1 }), context(4, logged));
    model.dispose();
    const keys = new Set(logged.map((l) => l.key));
    for (const k of ['train.h12.loss', 'validation.h12.loss', 'train.h48.bestEpoch']) expect(keys).toContain(k);
    const bare = { ...data, train: data.train.map(({ cascadeGraph: _, ...c }) => c) };
    await expect(deepcasPlugin.train(bare, deepcasHyperparameters.parse(SMALL), context())).rejects.toThrow(/cascade graph/);
  });
});

describe('ensemble of epochs', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('a horizon with several networks predicts the mean of their predictions', () => {
    const arch: DeepCasArchitecture = { vocabularySize: 6, embeddingDim: 3, gruUnits: 2, dense1: 3, dense2: 2, walksPerGraph: 4, walkLength: 3, blockSize: 2, sizeBuckets: 4 };
    // initStd 0.5: outputs far enough apart that a wrong average would show.
    const nets = [1, 2, 3].map((seed) => new DeepCasNetwork(arch, Rng.fromSeed(seed), { initStd: 0.5 }));
    const rows = [0, 1, 2].map((i) => ({ walks: Int32Array.from({ length: 12 }, (_, k) => (i + k) % 6), bucket: i, logSize: i + 1 }));
    const singles = nets.map((n) => new HorizonNetwork(n).predict(rows, 2));
    const together = new HorizonNetwork(nets);
    const mean = rows.map((_, i) => (singles[0][i] + singles[1][i] + singles[2][i]) / 3);
    expect(Math.abs(singles[0][0] - singles[1][0])).toBeGreaterThan(1e-4);
    together.predict(rows, 2).forEach((v, i) => expect(v).toBeCloseTo(mean[i], 5));
    together.dispose();
  });

  it('keeps the networks of the epochs with the lowest validation losses, the best first', async () => {
    const logged: { key: string; value: number }[] = [];
    const ctx = context(5, logged);
    const model = (await deepcasPlugin.train(tinyGraphDataset(), deepcasHyperparameters.parse({ ...SMALL, epochs: 5, patience: 0, ensembleEpochs: 3 }), ctx)) as DeepCasModel;
    try {
      expect(model.membersPerHorizon).toEqual(model.trainedHorizonsHours.map(() => 3));
      const summary = model.summaryMetrics();
      for (const h of model.trainedHorizonsHours) {
        // Validation losses in epoch order (one per epoch, patience 0: all 5 epochs run).
        const losses = logged.filter((l) => l.key === `validation.h${h}.loss`).map((l) => l.value);
        expect(losses).toHaveLength(5);
        const lowest = losses
          .map((v, i) => ({ v, epoch: i + 1 }))
          .sort((a, b) => a.v - b.v || a.epoch - b.epoch)
          .slice(0, 3)
          .map((e) => e.epoch);
        const line = (ctx.logger as MemoryLogger).lines.find((l) => l.message.startsWith(`deepcas h${h}: epochs`))!.message;
        expect(line).toContain(`epochs ${lowest.join(', ')} averaged`);
        expect(summary[`h${h}.bestEpoch`]).toBe(lowest[0]);
        expect(summary[`h${h}.ensembleEpochs`]).toBe(3);
        expect(summary[`h${h}.bestValidationLoss`]).toBeCloseTo(losses[lowest[0] - 1], 6);
        expect(Number.isFinite(summary[`h${h}.ensembleValidationLoss`])).toBe(true);
      }
    } finally {
      model.dispose();
    }
  });

  it('ensembleEpochs 1 keeps the best epoch alone', async () => {
    const model = (await deepcasPlugin.train(tinyGraphDataset(), deepcasHyperparameters.parse({ ...SMALL, epochs: 3, patience: 0, ensembleEpochs: 1 }), context(6))) as DeepCasModel;
    expect(model.membersPerHorizon).toEqual(model.trainedHorizonsHours.map(() => 1));
    model.dispose();
  });
});

describe('walks on worker threads', () => {
  it('the walks of 100 cascades drawn on two worker threads (cascadeWalks with a pool) are prepareCascade\'s, cascade by cascade', async () => {
    const base = tinyGraphDataset().train;
    const cascades = Array.from({ length: 100 }, (_, i) => ({ ...base[i % base.length], id: `c${i}` }));
    const hp = deepcasHyperparameters.parse(SMALL);
    const vocabulary = trainingVocabulary({ train: cascades, validation: [], test: [] }, hp);
    const pool = new SimulationPool({ workers: 2 });
    try {
      const local = await cascadeWalks(cascades, hp, Rng.fromSeed(7), pool);
      cascades.forEach((c, i) => expect(preparedFromWalks(c, local[i], vocabulary, hp, true)).toEqual(prepareCascade(c, vocabulary, hp, Rng.fromSeed(7), true)));
      // Different cascades (ids) get different walks.
      expect(local[0]).not.toEqual(local[base.length]);
    } finally {
      await pool.close();
    }
  });
});

describe('leave-one-out node reading', () => {
  it('a training cascade reads nodes no other training cascade holds as UNKNOWN; new cascades read every training node', () => {
    // u1 in two training graphs, u2 in one.
    const g = (ids: string[]) => ({ numNodes: ids.length, edges: Int32Array.from(ids.slice(1).flatMap((_, v) => [0, v + 1])), nodeIds: ids });
    const vocabulary = NodeVocabulary.fromGraphs([g(['u1', 'u2']), g(['u1', 'u3'])]);
    expect(vocabulary.ids).toEqual(['u1', 'u2', 'u3']);
    expect([vocabulary.indexInTraining('u1'), vocabulary.indexInTraining('u2'), vocabulary.indexInTraining('x')]).toEqual([2, UNKNOWN_NODE, UNKNOWN_NODE]);
    expect([vocabulary.indexOf('u1'), vocabulary.indexOf('u2'), vocabulary.indexOf('x')]).toEqual([2, 3, UNKNOWN_NODE]);
  });
});

describe('vocabulary: all (the nodes of every split\'s graphs, the authors\' preprocess.py)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  /** The tiny dataset with two nodes that only the first test graph holds (its last two). */
  const withTestOnlyNodes = (): MacroscopicDataset => {
    const data = tinyGraphDataset();
    const [first, ...rest] = data.test;
    const g = first.cascadeGraph!;
    expect(g.numNodes).toBeGreaterThanOrEqual(3);
    const ids = [...g.nodeIds!];
    ids[g.numNodes - 2] = 'test-only-a';
    ids[g.numNodes - 1] = 'test-only-b';
    return { ...data, test: [{ ...first, cascadeGraph: { ...g, nodeIds: ids } }, ...rest] };
  };
  /** The same cascades with a `targets` that throws when read: a label that is read fails the test. */
  const unreadable = (cs: MacroscopicDataset['test']) =>
    cs.map((c) =>
      Object.defineProperty({ ...c }, 'targets', {
        get() {
          throw new Error(`test label of ${c.id} read`);
        },
      }),
    );

  it('a node of a test graph alone gets its own row with all, UNKNOWN with training; the vocabulary does not depend on the test labels', () => {
    const data = withTestOnlyNodes();
    const all = trainingVocabulary(data, { vocabulary: 'all' });
    const training = trainingVocabulary(data, { vocabulary: 'training' });
    const a = all.indexOf('test-only-a');
    const b = all.indexOf('test-only-b');
    expect(a).toBeGreaterThanOrEqual(RESERVED_NODES);
    expect(b).toBeGreaterThanOrEqual(RESERVED_NODES);
    expect(a).not.toBe(b);
    expect([training.indexOf('test-only-a'), training.indexOf('test-only-b')]).toEqual([UNKNOWN_NODE, UNKNOWN_NODE]);
    // Every node of every split's graphs is known with all; the training vocabulary is its first part.
    for (const c of [...data.train, ...data.validation, ...data.test]) for (const id of c.cascadeGraph!.nodeIds!) expect(all.indexOf(id)).not.toBe(UNKNOWN_NODE);
    expect(all.ids.slice(0, training.ids.length)).toEqual(training.ids);
    // Other test labels, and labels that cannot be read at all: the same vocabulary.
    const relabelled = { ...data, test: data.test.map((c) => ({ ...c, targets: c.targets.map((t) => 7 * t + 3) })) };
    expect(trainingVocabulary(relabelled, { vocabulary: 'all' }).ids).toEqual(all.ids);
    expect(trainingVocabulary({ ...data, test: unreadable(data.test) }, { vocabulary: 'all' }).ids).toEqual(all.ids);
  });

  it('trains without reading a test label; each test-only node keeps a row of its own in the trained model', async () => {
    const data = withTestOnlyNodes();
    const model = (await deepcasPlugin.train({ ...data, test: unreadable(data.test) }, deepcasHyperparameters.parse({ ...SMALL, vocabulary: 'all' }), context(7))) as DeepCasModel;
    try {
      const a = model.vocabulary.indexOf('test-only-a');
      const b = model.vocabulary.indexOf('test-only-b');
      expect(a).toBeGreaterThanOrEqual(RESERVED_NODES);
      expect(model.architecture.vocabularySize).toBe(model.vocabulary.size);
      const rows = model.horizonNetworks[0].network.embedding.arraySync() as number[][];
      // Two rows of their own: not UNKNOWN's, not each other's (skip-gram vectors of different nodes).
      expect(rows[a]).not.toEqual(rows[b]);
      expect(rows[a]).not.toEqual(rows[UNKNOWN_NODE]);
      const y = await model.predictLogIncrements(data.test);
      for (const r of y) for (const v of r) expect(Number.isFinite(v)).toBe(true);
    } finally {
      model.dispose();
    }
    // The default reads them as UNKNOWN.
    const trained = (await deepcasPlugin.train({ ...data, test: unreadable(data.test) }, deepcasHyperparameters.parse({ ...SMALL, epochs: 1 }), context(7))) as DeepCasModel;
    expect(trained.vocabulary.indexOf('test-only-a')).toBe(UNKNOWN_NODE);
    trained.dispose();
  });

  it('shared: rows only for nodes that two or more graphs of any split hold, with the skip-gram vectors all gives them', async () => {
    // 'test-pair' in the first two test graphs (and no other), 'test-only-a' in the first alone.
    const base = withTestOnlyNodes();
    const second = base.test[1].cascadeGraph!;
    const ids = [...second.nodeIds!];
    ids[second.numNodes - 1] = 'test-pair';
    const first = base.test[0].cascadeGraph!;
    const firstIds = [...first.nodeIds!];
    firstIds[first.numNodes - 1] = 'test-pair';
    const data = { ...base, test: [{ ...base.test[0], cascadeGraph: { ...first, nodeIds: firstIds } }, { ...base.test[1], cascadeGraph: { ...second, nodeIds: ids } }, ...base.test.slice(2)] };
    const shared = trainingVocabulary(data, { vocabulary: 'shared' });
    const every = trainingVocabulary(data, { vocabulary: 'all' });
    const holders = new Map<string, number>();
    for (const c of [...data.train, ...data.validation, ...data.test]) for (const id of new Set(c.cascadeGraph!.nodeIds!)) holders.set(id, (holders.get(id) ?? 0) + 1);
    expect(shared.ids).toEqual(every.ids.filter((id) => holders.get(id)! >= 2));
    expect(shared.indexOf('test-pair')).toBeGreaterThanOrEqual(RESERVED_NODES);
    expect(shared.indexOf('test-only-a')).toBe(UNKNOWN_NODE);
    expect(shared.ids.length).toBeLessThan(every.ids.length);
    // Embeddings not fine-tuned (step 0): every shared node's row is the row all gives it (same walks, same skip-gram stream).
    const hp = { ...SMALL, epochs: 1, embeddingLearningRate: 0 };
    const m = (await deepcasPlugin.train({ ...data, test: unreadable(data.test) }, deepcasHyperparameters.parse({ ...hp, vocabulary: 'shared' }), context(8))) as DeepCasModel;
    const a = (await deepcasPlugin.train({ ...data, test: unreadable(data.test) }, deepcasHyperparameters.parse({ ...hp, vocabulary: 'all' }), context(8))) as DeepCasModel;
    try {
      expect(m.vocabulary.ids).toEqual(shared.ids);
      const rowsShared = m.horizonNetworks[0].network.embedding.arraySync() as number[][];
      const rowsAll = a.horizonNetworks[0].network.embedding.arraySync() as number[][];
      expect(rowsShared).toHaveLength(m.vocabulary.size);
      for (const id of ['test-pair', ...shared.ids]) expect(rowsShared[m.vocabulary.indexOf(id)]).toEqual(rowsAll[a.vocabulary.indexOf(id)]);
      expect(rowsShared.slice(0, RESERVED_NODES)).toEqual(rowsAll.slice(0, RESERVED_NODES));
    } finally {
      m.dispose();
      a.dispose();
    }
  });
});
