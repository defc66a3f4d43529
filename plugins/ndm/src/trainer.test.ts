import { CancelledError, END_USER, Rng } from '@cascade-lab/core';
import { batchOf, NdmNetwork, nextUserTargets, weightedCrossEntropySum } from './model.js';
import { chainDataset, smallModel, trainContext, useBackend } from './testing.test-util.js';
import { tf } from './tf.js';
import { fit as fitLoop } from '@cascade-lab/training';
import { fit, lengthSortedSubBatches, memoryChunks, monitorName, NdmTrainer, validate, validationMonitor } from './trainer.js';
import { initialWeights } from './weights.js';
import { simulatedF1 } from '@cascade-lab/evaluation';
import { NdmSimulator } from './simulator.js';

beforeAll(() => useBackend('cpu'));

const data = chainDataset();

async function train(seed: number, overrides = {}, epochs = 2) {
  const { arch, hp } = smallModel(12, { maxEpochs: epochs, ...overrides });
  const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(seed).derive('init')));
  const reports: number[] = [];
  const result = await fit(net, hp, data.train, data.validation, Rng.fromSeed(seed).derive('train'), trainContext(seed), (r) => reports.push(r.loss));
  const weights = net.readWeights();
  net.dispose();
  return { weights, reports, result };
}

describe('training', () => {
  it('is reproducible with a seed and differs with another seed', async () => {
    const a = await train(1);
    const b = await train(1);
    const c = await train(2);
    expect(Array.from(a.weights.windowProjection)).toEqual(Array.from(b.weights.windowProjection));
    expect(a.reports).toEqual(b.reports);
    expect(Array.from(a.weights.windowProjection)).not.toEqual(Array.from(c.weights.windowProjection));
  });

  it('learns the chains: validation loss falls far below ln(10 real users + </s>)', async () => {
    const { result, reports } = await train(3, { learningRate: 0.03 }, 12);
    expect(reports[reports.length - 1]).toBeLessThan(reports[0]);
    // A uniform guess over the 10 real users and </s> costs ln 11 = 2.398 nats per target.
    expect(result.best!.loss).toBeLessThan(1.6);
    expect(result.best!.hitsAt1).toBeGreaterThan(0.7);
  });

  it('keeps the live tensor count flat across epochs', async () => {
    const { arch, hp } = smallModel(12);
    const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(4)));
    const trainer = new NdmTrainer(net, hp);
    const counts: number[] = [];
    // Through the shared loop, with NDM's validation monitor and weight snapshots.
    await fitLoop({
      name: 'ndm',
      epochs: 4,
      rng: Rng.fromSeed(1),
      plan: (info) => trainer.plan(data.train, info.rng),
      monitors: [validationMonitor(net, data.validation, hp)],
      weights: { snapshot: () => net.readWeights(), restore: (w) => net.assignWeights(w) },
      context: trainContext(),
      onEpoch: () => void counts.push(tf.memory().numTensors),
    });
    // Epoch 1 creates Adam's moment variables; after that the count holds.
    expect(counts.slice(1)).toEqual([counts[1], counts[1], counts[1]]);
    trainer.dispose();
    net.dispose();
  });

  it('stops early after `patience` epochs without a better validation loss and restores the best epoch', async () => {
    // A large constant learning rate on noisy validation data makes validation loss rise soon.
    const { arch, hp } = smallModel(12, { learningRate: 0.3, maxEpochs: 30, patience: 2 });
    const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(5)));
    const noise = Rng.fromSeed(9);
    const validation = Array.from({ length: 10 }, (_, i) => ({ id: `v${i}`, events: [2 + noise.int(10), 2 + noise.int(10)].map((user, t) => ({ user, time: t })) })).filter((c) => c.events[0].user !== c.events[1].user);
    const losses: number[] = [];
    const result = await fit(net, hp, data.train, validation, Rng.fromSeed(5), trainContext(), (r) => losses.push(r.validation.loss));
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochs).toBe(result.bestEpoch + 2);
    expect(losses.length).toBe(result.epochs);
    const best = Math.min(...losses);
    expect(losses[result.bestEpoch - 1]).toBe(best);
    // The network holds the best epoch's weights again.
    expect(validate(net, validation, true).loss).toBeCloseTo(best, 5);
    net.dispose();
  });

  it('with earlyStoppingMetric none trains every epoch and keeps the last weights (authors\' code)', async () => {
    const { arch, hp } = smallModel(12, { learningRate: 0.3, maxEpochs: 6, patience: 2, earlyStoppingMetric: 'none' });
    const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(5)));
    const losses: number[] = [];
    const result = await fit(net, hp, data.train, data.validation, Rng.fromSeed(5), trainContext(), (r) => losses.push(r.validation.loss));
    expect(result.epochs).toBe(6);
    expect(result.bestEpoch).toBe(6);
    expect(result.stoppedEarly).toBe(false);
    expect(validate(net, data.validation, true).loss).toBeCloseTo(losses[5], 5);
    net.dispose();
  });

  it('selects by simulated Macro-F1 on the validation split (the task itself) and keeps that epoch', async () => {
    const { arch, hp } = smallModel(12, { learningRate: 0.05, maxEpochs: 5, earlyStoppingMetric: 'meanMacroF1', selectionSimulations: 20, selectionEvery: 2 });
    const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(8)));
    const ctx = trainContext();
    const seen: Record<string, number>[] = [];
    const rng = Rng.fromSeed(8).derive('train');
    const result = await fit(net, hp, data.train, data.validation, rng, ctx, (r) => seen.push(r.validation));
    // every 2 epochs and the last: epochs 2, 4, 5; the loss pass runs every epoch beside it
    expect(seen.map((v) => v.meanMacroF1 !== undefined)).toEqual([false, true, false, true, true]);
    expect(seen.every((v) => v.loss !== undefined)).toBe(true);
    const scores = seen.map((v) => v.meanMacroF1 ?? -1);
    expect(result.bestEpoch).toBe(scores.indexOf(Math.max(...scores)) + 1);
    expect(seen[1].meanMacroF1).toBeCloseTo((seen[1].macroF1 + seen[1].earlyMacroF1) / 2, 15);
    expect(ctx.logged.some((l) => l.key === 'validation.meanMacroF1' && l.step === 2)).toBe(true);
    // The kept weights give the kept value again: the protocol with the monitor's seed stream.
    const sim = new NdmSimulator(arch, net.readWeights());
    const again = await simulatedF1(sim, data.validation, { simulations: 20, seed: rng.derive('selection') });
    expect(again['validation.macroF1']).toBe(result.best!.macroF1);
    sim.dispose();
    net.dispose();
  });

  it('the validation monitor follows the early-stopping metric: loss lower is better, ranking higher', () => {
    const { arch, hp } = smallModel(12);
    const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(6)));
    expect(monitorName('map@10')).toBe('mapAt10');
    const byLoss = validationMonitor(net, data.validation, hp);
    const byMap = validationMonitor(net, data.validation, { ...hp, earlyStoppingMetric: 'map@10' });
    expect([byLoss.name, byLoss.direction, byMap.name, byMap.direction]).toEqual(['loss', 'min', 'mapAt10', 'max']);
    // Both carry the whole validation pass: the value and its companions are validate()'s numbers.
    const v = validate(net, data.validation, hp.learnEnd);
    const a = byLoss.evaluate({ epoch: 1, epochs: 1, rng: Rng.fromSeed(1) }) as { value: number; also: Record<string, number> };
    const b = byMap.evaluate({ epoch: 1, epochs: 1, rng: Rng.fromSeed(1) }) as { value: number; also: Record<string, number> };
    expect(a.value).toBe(v.loss);
    expect(a.also.mapAt10).toBe(v.ranking['map@10']);
    expect(b.value).toBe(v.ranking['map@10']);
    expect(b.also.loss).toBe(v.loss);
    expect(Object.keys(a.also).slice(0, 2)).toEqual(['hitsAt10', 'mapAt10']);
    net.dispose();
  });

  it('stops at a cancelled signal', async () => {
    const { arch, hp } = smallModel(12);
    const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(6)));
    const abort = new AbortController();
    abort.abort('stop');
    await expect(fit(net, hp, data.train, data.validation, Rng.fromSeed(1), trainContext(1, abort.signal), () => {})).rejects.toThrow(CancelledError);
    net.dispose();
  });
});

describe('loss variants', () => {
  it('learnEnd (paper) trains </s>; the authors\' variant never sees it as a target', async () => {
    const withEnd = await train(7, { learnEnd: true, learningRate: 0.03 }, 8);
    const codeVariant = await train(7, { learnEnd: false, learningRate: 0.03 }, 8);
    // Probability of </s> after a full chain prefix: learned when it is a target, pushed down otherwise.
    const pEnd = (w: typeof withEnd.weights, learnEnd: boolean) => {
      const { arch } = smallModel(12, { learnEnd });
      const net = new NdmNetwork(arch, w);
      const p = tf.tidy(() => tf.softmax(net.maskedLogits(batchOf([[3, 4, 5, 6, 7, 8]]), { training: false })).dataSync());
      net.dispose();
      return p[5 * 12 + END_USER];
    };
    expect(pEnd(withEnd.weights, true)).toBeGreaterThan(0.2);
    expect(pEnd(codeVariant.weights, false)).toBeLessThan(0.05);
  });
});

describe('loss reduction', () => {
  it('sum (authors\' code) equals mean under Adam when batches have equal target counts, and differs when they do not', () => {
    const run = (lossReduction: 'mean' | 'sum', batches: number[][][]) => {
      const { arch, hp } = smallModel(12, { lossReduction, dropout: 0 });
      const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(11)));
      const trainer = new NdmTrainer(net, hp, 'tape');
      const losses = batches.map((b) => trainer.step(batchOf(b), Rng.fromSeed(1)).lossSum);
      const w = net.readWeights().windowProjection;
      trainer.dispose();
      net.dispose();
      return { w, losses };
    };
    // Two batches of 3 targets each (learnEnd: each sequence of n users has n targets).
    const equal = [[[2, 3, 4]], [[5, 6, 7]]];
    const a = run('mean', equal);
    const b = run('sum', equal);
    // Adam divides the step by the gradient's running scale: a constant factor 3 cancels (up to epsilon).
    b.w.forEach((x, i) => expect(x).toBeCloseTo(a.w[i], 5));
    b.losses.forEach((x, i) => expect(x).toBeCloseTo(a.losses[i], 5));
    // 2 targets, then 8: the sum weighs the second step 4 times as much relative to the first.
    const unequal = [[[2, 3]], [[4, 5, 6, 7], [8, 9, 10, 11]]];
    const c = run('mean', unequal);
    const d = run('sum', unequal);
    const diff = Math.max(...Array.from(c.w, (x, i) => Math.abs(x - d.w[i])));
    expect(diff).toBeGreaterThan(1e-4);
  });
});

describe('memory chunks', () => {
  it('split a long batch; the summed gradients equal the whole batch\'s', () => {
    const { arch } = smallModel(12, { dropout: 0 });
    const rows = Array.from({ length: 6 }, (_, b) => Array.from({ length: 40 }, (_, t) => 2 + ((b + t) % 10)).slice(0, 10 + b));
    // Sequences longer than the vocabulary would repeat users; keep them distinct per row.
    const batch = batchOf(rows.map((r) => [...new Set(r)]));
    const chunks = memoryChunks(batch, 1 << 20, 12);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.reduce((s, c) => s + c.batchSize, 0)).toBe(batch.batchSize);
    const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(8)));
    const gradsOf = (b: typeof batch) => {
      const t = nextUserTargets(b, true);
      const { grads, value } = tf.variableGrads(() => weightedCrossEntropySum(net.maskedLogits(b, { training: false }), t) as tf.Scalar);
      value.dispose();
      return grads;
    };
    const whole = gradsOf(batch);
    const parts = chunks.map(gradsOf);
    for (const name of Object.keys(whole)) {
      const sum = tf.tidy(() => tf.addN(parts.map((p) => p[name])).dataSync());
      const ref = whole[name].dataSync();
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(sum[i] - ref[i]));
      expect(worst).toBeLessThan(1e-4);
    }
    for (const g of [whole, ...parts]) for (const t of Object.values(g)) t.dispose();
    net.dispose();
  });
});

describe('length-sorted sub-batches', () => {
  it('partition a random batch into groups of similar length that pad less than the whole batch', () => {
    const lengths = [2, 30, 3, 2, 4, 28, 2, 3, 5, 2, 31, 2];
    const batch = lengths.map((n, i) => ({ id: `c${i}`, events: Array.from({ length: n }, (_, t) => ({ user: 2 + t, time: t })) }));
    const groups = lengthSortedSubBatches(batch);
    expect(groups.flat().map((c) => c.id).sort()).toEqual(batch.map((c) => c.id).sort());
    // Cost = rows * longest + 256 per group; one group costs 12 * 31 + 256 = 628, the split
    // [2..5] (9 rows, longest 5) + [28..31] (3 rows, longest 31) costs 45 + 256 + 93 + 256 = 650,
    // so the whole batch stays one group; with longer tails the split wins.
    expect(groups.length).toBe(1);
    const long = batch.map((c, i) => (c.events.length > 20 ? { ...c, events: Array.from({ length: 200 + i }, (_, t) => ({ user: 2 + (t % 10), time: t })) } : c));
    const split = lengthSortedSubBatches(long);
    expect(split.length).toBe(2);
    expect(split[0].every((c) => c.events.length <= 5)).toBe(true);
  });
});
