import { Rng, type Cascade } from '@cascade-lab/core';
import { keepFlags, type KeepFlagJob } from './dropout-flags.js';
import { DropoutThread } from './dropout-thread.js';
import { NdmNetwork } from './model.js';
import { smallHyperparameters, useBackend } from './testing.test-util.js';
import { tf } from './tf.js';
import { NdmTrainer } from './trainer.js';
import { architectureOf, initialWeights } from './weights.js';

beforeAll(() => useBackend('cpu'));

const jobs: KeepFlagJob[] = [
  { kind: 'attention', seed: 11, rate: 0.1, B: 3, h: 2, L: 5, rows: 4, length: 6 },
  { kind: 'attended', seed: 12, rate: 0.1, L: 5, d: 8, kept: Int32Array.from([4, 0, 2]) },
  { kind: 'blocked', seed: 13, rate: 0.3, B: 2, h: 2, L: 7, rows: 2, blocks: [[0, 3], [3, 5], [5, 7]] },
];

describe('dropout thread', () => {
  it('makes the same keep flags as the calling thread', async () => {
    const thread = new DropoutThread();
    expect(thread.request(jobs)).toBeNull(); // not started: the caller makes them
    expect(await thread.whenReady()).toBe(true);
    const got = await thread.request(jobs)!;
    expect(got.map((f) => Array.from(f))).toEqual(jobs.map((j) => Array.from(keepFlags(j))));
    await thread.close();
    expect(thread.request(jobs)).toBeNull();
  }, 30_000);

  it('leaves training unchanged: the same losses and weights with and without it', async () => {
    const U = 12;
    const cascades: Cascade[] = Array.from({ length: 40 }, (_, c) => ({
      id: `c${c}`,
      events: Array.from({ length: 2 + (c % 7) }, (_, t) => ({ user: 1 + ((c * 5 + t * 3) % (U - 1)), time: t })),
    }));
    const hp = smallHyperparameters({ batchSize: 8, dropout: 0.2 });
    const arch = architectureOf(hp, U);
    const train = async (dropoutThread: boolean) => {
      const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(2)));
      const trainer = new NdmTrainer(net, hp, 'manual', { dropoutThread });
      expect(trainer.dropoutThread !== null).toBe(dropoutThread);
      if (dropoutThread) expect(await trainer.dropoutThread!.whenReady()).toBe(true);
      const losses: number[] = [];
      for (let epoch = 0; epoch < 2; epoch++) {
        const plan = trainer.plan(cascades, Rng.fromSeed(7).derive(`epoch ${epoch}`));
        for (let i = 0; i < plan.batches.length; i++) losses.push((await plan.step(plan.batches[i], i)).loss);
      }
      const weights = net.readWeights();
      trainer.dispose();
      net.dispose();
      return { losses, weights };
    };
    const before = tf.memory().numTensors;
    const threaded = await train(true);
    const inline = await train(false);
    expect(tf.memory().numTensors).toBe(before);
    expect(threaded.losses).toEqual(inline.losses);
    expect(threaded.losses.length).toBe(10);
    for (const name of Object.keys(inline.weights) as (keyof typeof inline.weights)[]) expect(Array.from(threaded.weights[name] as Float32Array)).toEqual(Array.from(inline.weights[name] as Float32Array));
  }, 60_000);
});
