import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyMicroscopicDataset } from '@cascade-lab/core/testing';
import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { MemoryLogger, quietProgress, Rng, type TrainContext } from '@cascade-lab/core';
import { type EmbeddedIcParameters } from './model.js';
import { embeddedIcHyperparameters, embeddedIcPlugin } from './plugin.js';
import type { WithinStepOrder } from '@cascade-lab/simulation';
import { EmbeddedIcModel } from './simulator.js';
import { meanLogLikelihood, negativesFor, trainEmbeddedIc } from './trainer.js';
import { cascadeUsers, initialParameters, transmissionProbability } from './model.js';

const fast = { dimension: 4, maxEpochs: 3, negativeSamples: 4 };

// The plugin contract: schema, reproducible training, save/load, well-formed simulations (packages/core/src/conformance).
describePluginConformance(embeddedIcPlugin, { hyperparameters: fast });

const context = (seed = 1): TrainContext => ({
  rng: Rng.fromSeed(seed),
  backend: { name: 'cpu', package: 'none', device: 'cpu' },
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics: { logMetric: () => undefined },
  signal: new AbortController().signal,
  workDir: mkdtempSync(join(tmpdir(), 'embedded-ic-')),
});

/**
 * A model whose p(u -> v) are set directly: d = 1, all vectors 0, so p(u -> v) = sigmoid(-z_v0)
 * depends on the receiver only. Users 2 (seed), 3, 4.
 */
function receiverOnlyModel(p3: number, p4: number, withinStepOrder: WithinStepOrder = 'random'): EmbeddedIcModel {
  const logit = (p: number) => Math.log(1 / p - 1);
  const parameters: EmbeddedIcParameters = {
    numUsers: 5,
    dimension: 1,
    senders: new Float64Array(5),
    receivers: new Float64Array(5),
    receiverBias: Float64Array.from([0, 0, 0, logit(p3), logit(p4)]),
  };
  return new EmbeddedIcModel(parameters, { minEdgeProbability: 0, workers: 0, withinStepOrder });
}

describe('embedded-ic simulation: infection frequencies against the closed form', () => {
  it('seed 2 on users {3, 4}: P(3 infected), P(4 infected) and P(3 listed first) (generation order, then a uniform tie break)', async () => {
    // p(. -> 3) = a = 0.3, p(. -> 4) = b = 0.6 from any sender.
    // 3 is infected by 2 at step 1 (a), or by 4 at step 2 after 4 at step 1 ((1 - a) b a):
    //   P(3) = a + (1 - a) b a = 0.3 + 0.7 * 0.6 * 0.3 = 0.426;  P(4) = b + (1 - b) a b = 0.6 + 0.4 * 0.3 * 0.6 = 0.672.
    // 3 is listed first when it is alone in step 1 (a (1 - b)), or in step 1 with 4 and wins the tie (a b / 2):
    //   P(first = 3) = 0.3 * 0.4 + 0.3 * 0.6 / 2 = 0.21.
    const model = receiverOnlyModel(0.3, 0.6);
    const S = 20000;
    const [r] = await model.simulate([{ seeds: [2], budget: 2, simulations: S, label: 'cascade:0' }], Rng.fromSeed(7));
    let n3 = 0;
    let n4 = 0;
    let first3 = 0;
    for (let s = 0; s < S; s++) {
      const row = [r.sequences[2 * s], r.sequences[2 * s + 1]];
      if (row.includes(3)) n3++;
      if (row.includes(4)) n4++;
      if (row[0] === 3) first3++;
    }
    // Binomial(20000, q): 5 standard deviations sqrt(S q (1 - q)).
    const bound = (q: number) => 5 * Math.sqrt(S * q * (1 - q));
    expect(Math.abs(n3 - S * 0.426)).toBeLessThan(bound(0.426));
    expect(Math.abs(n4 - S * 0.672)).toBeLessThan(bound(0.672));
    expect(Math.abs(first3 - S * 0.21)).toBeLessThan(bound(0.21));
    model.dispose();
  });

  it('withinStepOrder probability: the likelier receiver of a step is listed first; the knob reaches the engine and survives save/load', async () => {
    // p(. -> 3) = 0.3, p(. -> 4) = 0.6 (as above). Listed by probability, 4 comes first whenever step 1
    // activates it (0.6); 3 comes first only when step 1 activates 3 and not 4: 0.3 * 0.4 = 0.12 (hand).
    // (The random listing gives 0.21 for 3, the test above.)
    const model = receiverOnlyModel(0.3, 0.6, 'probability');
    const S = 20000;
    const count = (seq: Int32Array, u: number) => Array.from({ length: S }, (_, s) => seq[2 * s]).filter((x) => x === u).length;
    const bound = (q: number) => 5 * Math.sqrt(S * q * (1 - q));
    const [r] = await model.simulate([{ seeds: [2], budget: 2, simulations: S, label: 'cascade:0' }], Rng.fromSeed(7));
    expect(Math.abs(count(r.sequences, 3) - S * 0.12)).toBeLessThan(bound(0.12));
    expect(Math.abs(count(r.sequences, 4) - S * 0.6)).toBeLessThan(bound(0.6));
    const dir = mkdtempSync(join(tmpdir(), 'embedded-ic-order-'));
    await model.save(dir);
    const again = EmbeddedIcModel.load(dir);
    expect(again.prediction.withinStepOrder).toBe('probability');
    const [r2] = await again.simulate([{ seeds: [2], budget: 2, simulations: S, label: 'cascade:0' }], Rng.fromSeed(7));
    expect(Array.from(r2.sequences)).toEqual(Array.from(r.sequences));
    model.dispose();
    again.dispose();
    expect(embeddedIcHyperparameters.parse({}).withinStepOrder).toBe('random');
    expect(() => embeddedIcHyperparameters.parse({ withinStepOrder: 'latest' })).toThrow();
  });

  it('leaves pairs below minEdgeProbability out of the graph and reports the mass left out', async () => {
    const logit = (p: number) => Math.log(1 / p - 1);
    const parameters: EmbeddedIcParameters = {
      numUsers: 5,
      dimension: 1,
      senders: new Float64Array(5),
      receivers: new Float64Array(5),
      receiverBias: Float64Array.from([0, 0, 0, logit(0.5), logit(0.001)]),
    };
    const model = new EmbeddedIcModel(parameters, { minEdgeProbability: 0.01, workers: 0 });
    // Edges into 2 (bias 0: p = 1/2) and into 3 (p = 0.5) from the two other users are kept; the edges
    // into 4 from 2 and 3 (p = 0.001) are not: 4 edges, pruned mass (0.001 + 0.001) / 3 senders.
    expect(model.summaryMetrics()['simulationEdges']).toBe(4);
    expect(model.summaryMetrics()['meanPrunedMassPerSender']).toBeCloseTo(0.002 / 3, 12);
    const [r] = await model.simulate([{ seeds: [2], budget: 2, simulations: 200 }], Rng.fromSeed(1));
    expect(Array.from(r.sequences).includes(4)).toBe(false);
    model.dispose();
  });
});

describe('embedded-ic training', () => {
  const data = tinyMicroscopicDataset({ users: 14, train: 80 });

  it('is reproducible from the seed, and another seed gives other parameters', async () => {
    const hp = embeddedIcHyperparameters.parse(fast);
    const a = (await embeddedIcPlugin.train(data, hp, context(3))) as EmbeddedIcModel;
    const b = (await embeddedIcPlugin.train(data, hp, context(3))) as EmbeddedIcModel;
    const c = (await embeddedIcPlugin.train(data, hp, context(4))) as EmbeddedIcModel;
    expect(Array.from(b.parameters.senders)).toEqual(Array.from(a.parameters.senders));
    expect(Array.from(b.parameters.receiverBias)).toEqual(Array.from(a.parameters.receiverBias));
    expect(Array.from(c.parameters.senders)).not.toEqual(Array.from(a.parameters.senders));
    const [ra] = await a.simulate([{ seeds: [2], budget: 4, simulations: 50, label: 'x' }], Rng.fromSeed(9));
    const [rb] = await b.simulate([{ seeds: [2], budget: 4, simulations: 50, label: 'x' }], Rng.fromSeed(9));
    expect(Array.from(rb.sequences)).toEqual(Array.from(ra.sequences));
    for (const m of [a, b, c]) m.dispose();
  });

  it('raises the validation log-likelihood above the initial parameters and keeps the best epoch', async () => {
    const train = data.train.map((c) => cascadeUsers(c.events));
    const validation = data.validation.map((c) => cascadeUsers(c.events));
    const rng = Rng.fromSeed(5);
    const result = await trainEmbeddedIc(data.users.size, train, validation, { dimension: 4, learningRate: 0.5, maxEpochs: 15, patience: 3, negativeSamples: 0, rng });
    const negatives = negativesFor(data.users.size, validation, 0, Rng.fromSeed(0));
    const before = meanLogLikelihood(initialParameters(data.users.size, 4, rng.derive('init')), validation, negatives);
    const after = meanLogLikelihood(result.parameters, validation, negatives);
    expect(after).toBeGreaterThan(before);
    // negativeSamples 0: the monitor is the exact likelihood, so the kept epoch is the best one logged.
    const best = Math.max(...result.fit.history.map((e) => e.validation.logLikelihood));
    expect(after).toBeCloseTo(best, 10);
    expect(result.fit.history[result.fit.bestEpoch - 1].validation.logLikelihood).toBe(best);
  });

  it('negativeWeight: the monitor is the weighted objective, and weighting the never-infected users less raises the transmission mass', async () => {
    const train = data.train.map((c) => cascadeUsers(c.events));
    const validation = data.validation.map((c) => cascadeUsers(c.events));
    const fitWith = (negativeWeight: number) =>
      trainEmbeddedIc(data.users.size, train, validation, { dimension: 4, learningRate: 0.5, maxEpochs: 8, patience: 8, negativeSamples: 0, negativeWeight, rng: Rng.fromSeed(5) });
    const [full, light] = [await fitWith(1), await fitWith(0.25)];
    // negativeSamples 0: weight 1 per never-infected user, times negativeWeight.
    const weighted = negativesFor(data.users.size, validation, 0, Rng.fromSeed(0)).map((n) => ({ negatives: n.negatives, weight: 0.25 }));
    const best = Math.max(...light.fit.history.map((e) => e.validation.logLikelihood));
    expect(meanLogLikelihood(light.parameters, validation, weighted)).toBeCloseTo(best, 10);
    const mass = (q: EmbeddedIcParameters) => {
      let sum = 0;
      for (let u = 2; u < q.numUsers; u++) for (let v = 2; v < q.numUsers; v++) if (u !== v) sum += transmissionProbability(q, u, v);
      return sum;
    };
    expect(mass(light.parameters)).toBeGreaterThan(mass(full.parameters));
  });

  it('retrain-all: a second fit on training + validation cascades for the best epoch count (train.retrain.* keys)', async () => {
    const logged: [string, number][] = [];
    const ctx = { ...context(2), metrics: { logMetric: (k: string, v: number) => void logged.push([k, v]) } };
    const model = (await embeddedIcPlugin.train(data, embeddedIcHyperparameters.parse({ ...fast, finalFit: 'retrain-all' }), ctx)) as EmbeddedIcModel;
    const bestEpoch = logged.filter(([k]) => k === 'train.bestEpoch');
    expect(bestEpoch).toHaveLength(1);
    // One retraining epoch per epoch the validation monitor chose.
    expect(logged.filter(([k]) => k === 'train.retrain.loss')).toHaveLength(bestEpoch[0][1]);
    model.dispose();
  });

  it('earlyStoppingMetric microF1: the shared protocol on the validation cascades picks the kept epoch', async () => {
    const logged: [string, number, number | undefined][] = [];
    const ctx = { ...context(2), metrics: { logMetric: (k: string, v: number, step?: number) => void logged.push([k, v, step]) } };
    const hp = embeddedIcHyperparameters.parse({ ...fast, maxEpochs: 4, earlyStoppingMetric: 'microF1', monitorSimulations: 20 });
    const model = (await embeddedIcPlugin.train(data, hp, ctx)) as EmbeddedIcModel;
    const perEpoch = logged.filter(([k]) => k === 'validation.microF1');
    expect(perEpoch.length).toBeGreaterThanOrEqual(1);
    expect(logged.some(([k]) => k === 'validation.macroF1')).toBe(true);
    const bestEpoch = logged.find(([k]) => k === 'train.bestEpoch')![1];
    const best = Math.max(...perEpoch.map(([, v]) => v));
    // The kept epoch is the first with the highest validation Micro-F1, which is also logged at the end.
    expect(perEpoch.find(([, v]) => v === best)![2]).toBe(bestEpoch);
    expect(logged.find(([k]) => k === 'validation.bestMicroF1')![1]).toBe(best);
    model.dispose();
  });

  it('stops on cancellation', async () => {
    const ac = new AbortController();
    ac.abort();
    const train = data.train.map((c) => cascadeUsers(c.events));
    await expect(trainEmbeddedIc(data.users.size, train, [], { dimension: 2, learningRate: 0.1, maxEpochs: 2, patience: 1, negativeSamples: 2, rng: Rng.fromSeed(1), signal: ac.signal })).rejects.toThrow(/cancel/);
  });
});
