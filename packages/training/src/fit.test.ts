import { CancelledError, CascadeError, Rng, type ProgressReporter } from '@cascade-lab/core';
import { initBackend, tf } from '@cascade-lab/tensor-ops';
import { Adam } from './adam.js';
import { fit, type EpochInfo, type Monitor } from './fit.js';

beforeAll(() => initBackend('cpu'));

/** A metrics recorder and a progress reporter that counts ticks. */
function recorder() {
  const logged: { key: string; value: number; step?: number }[] = [];
  let ticks = 0;
  const progress: ProgressReporter = { start: () => ({ tick: () => void ticks++, status: () => {}, done: () => {} }) };
  return { logged, progress, metrics: { logMetric: (key: string, value: number, step?: number) => void logged.push({ key, value, step }) }, ticks: () => ticks };
}

/**
 * A "model" whose weights are the number of epochs trained so far: a snapshot is that number, so
 * the restored state says which epoch's weights were kept.
 */
function counterModel() {
  const state = { weights: 0, released: 0, snapshots: 0 };
  return {
    state,
    plan: () => ({ batches: [1, 2], step: (b: number) => {
      if (b === 2) state.weights++;
      return { loss: 1, weight: 1 };
    } }),
    weights: {
      snapshot: () => (state.snapshots++, state.weights),
      restore: (s: number) => void (state.weights = s),
      release: () => void state.released++,
    },
  };
}

/** A monitor that returns `values[epoch - 1]`. */
function scripted(name: string, direction: 'min' | 'max', values: number[], every?: number): Monitor & { calls: number[] } {
  const calls: number[] = [];
  return { name, direction, every, calls, evaluate: (info: EpochInfo) => (calls.push(info.epoch), values[info.epoch - 1]) };
}

describe('fit: selection', () => {
  it('stops after `patience` epochs without improvement and restores the best epoch (min)', async () => {
    const m = counterModel();
    const rec = recorder();
    // Best (lowest) at epoch 2; epochs 3 and 4 are no better: with patience 2 it stops after epoch 4.
    const monitor = scripted('loss', 'min', [5, 3, 4, 3, 1, 1]);
    const r = await fit({ name: 't', epochs: 6, rng: Rng.fromSeed(1), plan: m.plan, monitors: [monitor], patience: 2, weights: m.weights, context: rec });
    expect(r).toMatchObject({ epochs: 4, bestEpoch: 2, stoppedEarly: true, best: { loss: 3 } });
    expect(m.state.weights).toBe(2);
    // Snapshots at epochs 1 and 2 (the improvements); both released.
    expect(m.state.snapshots).toBe(2);
    expect(m.state.released).toBe(2);
    // A tie (epoch 4: 3 again) is not an improvement.
    expect(r.history.map((h) => h.improved)).toEqual([true, true, false, false]);
  });

  it('follows the direction: the same values with max keep epoch 1', async () => {
    const m = counterModel();
    const r = await fit({ name: 't', epochs: 6, rng: Rng.fromSeed(1), plan: m.plan, monitors: [scripted('hitsAt10', 'max', [5, 3, 4, 3, 1, 1])], patience: 2, weights: m.weights });
    expect(r).toMatchObject({ epochs: 3, bestEpoch: 1, stoppedEarly: true, best: { hitsAt10: 5 } });
    expect(m.state.weights).toBe(1);
  });

  it('patience 0 trains every epoch and still restores the best; restoreBest false keeps the last', async () => {
    const m = counterModel();
    const r = await fit({ name: 't', epochs: 5, rng: Rng.fromSeed(1), plan: m.plan, monitors: [scripted('loss', 'min', [5, 1, 4, 3, 2])], weights: m.weights });
    expect(r).toMatchObject({ epochs: 5, bestEpoch: 2, stoppedEarly: false });
    expect(m.state.weights).toBe(2);
    const last = counterModel();
    const r2 = await fit({ name: 't', epochs: 5, rng: Rng.fromSeed(1), plan: last.plan, monitors: [scripted('loss', 'min', [5, 1, 4, 3, 2])], weights: last.weights, restoreBest: false });
    expect(r2.bestEpoch).toBe(5);
    expect(last.state.weights).toBe(5);
    expect(last.state.snapshots).toBe(0);
  });

  it('select null logs the monitors but keeps the last weights and never stops early', async () => {
    const m = counterModel();
    const rec = recorder();
    const r = await fit({ name: 't', epochs: 4, rng: Rng.fromSeed(1), plan: m.plan, monitors: [scripted('loss', 'min', [1, 2, 3, 4])], select: null, patience: 1, weights: m.weights, context: rec });
    expect(r).toMatchObject({ epochs: 4, bestEpoch: 4, stoppedEarly: false, best: undefined });
    expect(m.state.weights).toBe(4);
    expect(rec.logged.filter((l) => l.key === 'validation.loss').map((l) => l.value)).toEqual([1, 2, 3, 4]);
  });

  it('a NaN value never counts as the best', async () => {
    const m = counterModel();
    const r = await fit({ name: 't', epochs: 3, rng: Rng.fromSeed(1), plan: m.plan, monitors: [scripted('loss', 'min', [NaN, 2, 1])], weights: m.weights });
    expect(r.bestEpoch).toBe(3);
    expect(r.history[0].improved).toBe(false);
  });

  it('selects by a named monitor among several; companions are logged and kept with the best', async () => {
    const m = counterModel();
    const rec = recorder();
    const loss = scripted('loss', 'min', [3, 2, 1, 0.5]);
    // Macro-F1 peaks at epoch 2 while the loss keeps falling: selection follows macroF1.
    const f1: Monitor = { name: 'macroF1', direction: 'max', evaluate: (i) => ({ value: [0.1, 0.3, 0.2, 0.25][i.epoch - 1], also: { earlyMacroF1: i.epoch / 10 } }) };
    const r = await fit({ name: 't', epochs: 4, rng: Rng.fromSeed(1), plan: m.plan, monitors: [loss, f1], select: 'macroF1', weights: m.weights, context: rec });
    expect(r.bestEpoch).toBe(2);
    expect(r.best).toEqual({ loss: 2, macroF1: 0.3, earlyMacroF1: 0.2 });
    expect(rec.logged.filter((l) => l.key === 'validation.earlyMacroF1').map((l) => l.step)).toEqual([1, 2, 3, 4]);
  });
});

describe('fit: monitors every k epochs', () => {
  it('run after epochs k, 2k, ... and the last; patience counts epochs at those evaluations', async () => {
    const rec = recorder();
    const m = counterModel();
    const f1 = scripted('macroF1', 'max', [0, 0, 0.2, 0, 0, 0.1, 0.15], 3);
    const loss = scripted('loss', 'min', [7, 6, 5, 4, 3, 2, 1]);
    const r = await fit({ name: 't', epochs: 7, rng: Rng.fromSeed(1), plan: m.plan, monitors: [loss, f1], select: 'macroF1', weights: m.weights, context: rec });
    expect(f1.calls).toEqual([3, 6, 7]);
    expect(loss.calls).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(rec.logged.filter((l) => l.key === 'validation.macroF1').map((l) => [l.step, l.value])).toEqual([[3, 0.2], [6, 0.1], [7, 0.15]]);
    expect(r.bestEpoch).toBe(3);
    expect(m.state.weights).toBe(3);

    // Patience 3 with every 3: evaluated at 3 (best) and 6 (6 - 3 >= 3): stops after epoch 6.
    const again = counterModel();
    const f1b = scripted('macroF1', 'max', [0, 0, 0.2, 0, 0, 0.1, 0.15, 0, 0.9], 3);
    const r2 = await fit({ name: 't', epochs: 9, rng: Rng.fromSeed(1), plan: again.plan, monitors: [f1b], patience: 3, weights: again.weights });
    expect(f1b.calls).toEqual([3, 6]);
    expect(r2).toMatchObject({ epochs: 6, bestEpoch: 3, stoppedEarly: true });
  });

  it('awaits async monitors', async () => {
    const m = counterModel();
    const slow: Monitor = { name: 'loss', direction: 'min', evaluate: async (i) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return [3, 1, 2][i.epoch - 1];
    } };
    const r = await fit({ name: 't', epochs: 3, rng: Rng.fromSeed(1), plan: m.plan, monitors: [slow], weights: m.weights });
    expect(r.bestEpoch).toBe(2);
  });

  it('refuses names outside the key style and an unknown selection', async () => {
    const m = counterModel();
    await expect(fit({ name: 't', epochs: 1, rng: Rng.fromSeed(1), plan: m.plan, monitors: [scripted('hits@10', 'max', [1])] })).rejects.toThrow(/key style/);
    await expect(fit({ name: 't', epochs: 1, rng: Rng.fromSeed(1), plan: m.plan, monitors: [scripted('validation_loss', 'min', [1])] })).rejects.toThrow(/key style/);
    await expect(fit({ name: 't', epochs: 1, rng: Rng.fromSeed(1), plan: m.plan, monitors: [scripted('loss', 'min', [1])], select: 'macroF1' })).rejects.toThrow(/no monitor named "macroF1"/);
    await expect(fit({ name: 't', epochs: 1, rng: Rng.fromSeed(1), plan: m.plan, monitors: [scripted('loss', 'min', [1], 0)] })).rejects.toThrow(/positive integer/);
  });
});

describe('fit: metrics, progress, guard', () => {
  it('logs the standard keys (step = epoch) and ticks once per batch', async () => {
    const rec = recorder();
    // Two batches of losses 3 (over 2 targets) and 1 (over 1 target): epoch loss 4 / 3.
    const plan = () => ({ batches: [[3, 2], [1, 1]], step: (b: number[]) => ({ loss: b[0], weight: b[1] }) });
    const r = await fit({ name: 't', epochs: 2, rng: Rng.fromSeed(1), plan, monitors: [scripted('loss', 'min', [2, 1])], weights: counterModel().weights, context: rec });
    const keys = [...new Set(rec.logged.map((l) => l.key))];
    expect(keys.sort()).toEqual(['train.bestEpoch', 'train.epochSeconds', 'train.epochs', 'train.loss', 'validation.loss']);
    expect(rec.logged.filter((l) => l.key === 'train.loss').map((l) => [l.step, l.value])).toEqual([[1, 4 / 3], [2, 4 / 3]]);
    expect(rec.logged.find((l) => l.key === 'train.bestEpoch')!.value).toBe(2);
    expect(rec.ticks()).toBe(4);
    expect(r.weight).toBe(6);
  });

  it('a scope names a second stage: train.retrain.loss', async () => {
    const rec = recorder();
    await fit({ name: 't', epochs: 1, rng: Rng.fromSeed(1), plan: counterModel().plan, scope: 'retrain', context: rec });
    expect(rec.logged.map((l) => l.key).sort()).toEqual(['train.retrain.bestEpoch', 'train.retrain.epochSeconds', 'train.retrain.epochs', 'train.retrain.loss']);
  });

  it('stops with a clear error when a step\'s loss is not finite', async () => {
    const plan = (i: EpochInfo) => ({ batches: [1, 2, 3], step: (b: number) => ({ loss: i.epoch === 2 && b === 3 ? Infinity : 1 }) });
    const run = fit({ name: 'toy', epochs: 3, rng: Rng.fromSeed(1), plan, nonFiniteHint: 'lower learningRate' });
    await expect(run).rejects.toThrow(CascadeError);
    await expect(fit({ name: 'toy', epochs: 3, rng: Rng.fromSeed(1), plan, nonFiniteHint: 'lower learningRate' })).rejects.toMatchObject({
      code: 'MODEL',
      message: expect.stringContaining('toy: the training loss became Infinity in epoch 2, batch 3 of 3'),
      hint: 'lower learningRate',
    });
    const nan = () => ({ batches: [1], step: () => ({ loss: NaN }) });
    await expect(fit({ name: 'toy', epochs: 1, rng: Rng.fromSeed(1), plan: nan })).rejects.toThrow(/became NaN/);
  });
});

describe('fit: seeded streams', () => {
  it('each epoch gets rng.derive(`epoch:<e>`): reproducible, different per epoch and per seed', async () => {
    const draws = async (seed: number, epochStream?: (e: number) => string) => {
      const out: number[][] = [];
      const plan = (i: EpochInfo) => {
        out.push([i.rng.next(), i.rng.next()]);
        return { batches: [0], step: () => ({ loss: 0 }) };
      };
      await fit({ name: 't', epochs: 3, rng: Rng.fromSeed(seed), plan, epochStream });
      return out;
    };
    const a = await draws(1);
    expect(await draws(1)).toEqual(a);
    expect(new Set(a.map((d) => d[0])).size).toBe(3);
    expect((await draws(2))[0]).not.toEqual(a[0]);
    // Exactly the derived stream (a plugin can rely on the label).
    const base = Rng.fromSeed(1);
    const d = base.derive('epoch:2');
    expect(a[1]).toEqual([d.next(), d.next()]);
    // A plugin that kept its own labels before the shared loop can keep them.
    const legacy = await draws(1, (e) => `epoch-${e - 1}`);
    expect(legacy[0][0]).toBe(Rng.fromSeed(1).derive('epoch-0').next());
  });
});

describe('fit: cancellation', () => {
  /** Blocks the thread for `ms` like a synchronous compiled training step. */
  function busy(ms: number): void {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // spin
    }
  }

  it('stops within a second of an abort fired by a timer while synchronous steps run', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    let steps = 0;
    // Each step blocks 40 ms; an epoch of 1000 steps would take 40 s. The timer (like a SIGINT
    // handler) can only run when the loop yields to the event loop.
    const plan = () => ({ batches: Array.from({ length: 1000 }, (_, i) => i), step: () => {
      busy(40);
      steps++;
      return { loss: 1 };
    } });
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort('interrupted');
    }, 300);
    const started = performance.now();
    await expect(fit({ name: 't', epochs: 5, rng: Rng.fromSeed(1), plan, context: { signal: controller.signal } })).rejects.toThrow(CancelledError);
    const stopped = performance.now();
    expect(abortedAt).toBeGreaterThan(0);
    expect(stopped - abortedAt).toBeLessThan(1000);
    expect(stopped - started).toBeLessThan(2000);
    expect(steps).toBeLessThan(60);
  });

  it('stops inside monitors\' turn too, and before any work on an already aborted signal', async () => {
    const controller = new AbortController();
    controller.abort('stop');
    let planned = 0;
    const plan = () => (planned++, { batches: [1], step: () => ({ loss: 1 }) });
    await expect(fit({ name: 't', epochs: 2, rng: Rng.fromSeed(1), plan, context: { signal: controller.signal } })).rejects.toThrow(CancelledError);
    expect(planned).toBe(0);
    const later = new AbortController();
    const monitor: Monitor = { name: 'loss', direction: 'min', evaluate: () => (later.abort('stop'), 1) };
    const m = counterModel();
    await expect(fit({ name: 't', epochs: 3, rng: Rng.fromSeed(1), plan: m.plan, monitors: [monitor], weights: m.weights, context: { signal: later.signal } })).rejects.toThrow(CancelledError);
    // The snapshot taken at epoch 1 was released on the way out.
    expect(m.state.released).toBe(m.state.snapshots);
  });
});

describe('fit with tensors', () => {
  it('trains a linear model with Adam, restores the best weights as tensors, and keeps the live tensor count flat', async () => {
    // y = 2x - 1 from 32 points; w, b start at 0.
    const xs = Array.from({ length: 32 }, (_, i) => i / 16 - 1);
    const w = tf.variable(tf.scalar(0), true, 'fit-test/w');
    const b = tf.variable(tf.scalar(0), true, 'fit-test/b');
    const variables = [w, b];
    const adam = new Adam({ learningRate: 0.05 });
    const counts: number[] = [];
    const x = tf.tensor1d(xs);
    const y = tf.tensor1d(xs.map((v) => 2 * v - 1));
    const lossOf = () => tf.mean(tf.square(tf.sub(tf.add(tf.mul(x, w), b), y))) as tf.Scalar;
    const r = await fit({
      name: 'linear',
      epochs: 8,
      rng: Rng.fromSeed(3),
      plan: (info) => ({
        batches: info.rng.shuffle([0, 1, 2, 3]),
        step: () => {
          const { value, grads } = tf.variableGrads(lossOf, variables);
          adam.applyGradients(variables, grads);
          const loss = value.dataSync()[0];
          tf.dispose([value, ...Object.values(grads)]);
          return { loss };
        },
      }),
      monitors: [{ name: 'loss', direction: 'min', evaluate: () => tf.tidy(() => lossOf().dataSync()[0]) }],
      weights: {
        snapshot: () => variables.map((v) => tf.keep(v.clone())),
        restore: (s) => variables.forEach((v, i) => v.assign(s[i])),
        release: (s) => tf.dispose(s),
      },
      onEpoch: () => void counts.push(tf.memory().numTensors),
    });
    // Adam's moments appear in epoch 1; from then on the count holds (one snapshot alive at a time).
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(r.history[r.history.length - 1].loss).toBeLessThan(r.history[0].loss);
    const final = tf.tidy(() => lossOf().dataSync()[0]);
    expect(final).toBeCloseTo(r.best!.loss, 6);
    adam.dispose();
    tf.dispose([w, b, x, y]);
  });
});
