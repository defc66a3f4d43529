/**
 * The kit's Ctrl-C checks (issue 21, item 1): a toy macroscopic plugin whose training loop checks
 * the signal and yields passes; one whose loop never yields (the signal handlers cannot run: the
 * bug NDM had) fails with a message saying so.
 */
import { z } from 'zod';
import { throwIfCancelled } from '../errors.js';
import type { WindowedCascade } from '../data-types.js';
import type { MacroscopicModel, MacroscopicPlugin } from '../plugin.js';
import { conformanceChecks } from './index.js';

const schema = z.strictObject({ epochs: z.number().int().positive().default(1).describe('training epochs of 10 ms each') });

class Flat implements MacroscopicModel {
  async predict(cascades: WindowedCascade[], horizonsHours: number[], signal?: AbortSignal) {
    const sizes: Float64Array[] = [];
    for (let i = 0; i < cascades.length; i++) {
      if (i % 50 === 0) {
        throwIfCancelled(signal);
        await new Promise((r) => setImmediate(r));
      }
      sizes.push(Float64Array.from(horizonsHours, () => cascades[i].observedSize));
    }
    return { sizes };
  }
  async save(): Promise<void> {}
  dispose(): void {}
}

/** Busy work of `ms` without yielding (a synchronous epoch). */
const busy = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

const plugin = (yields: boolean): MacroscopicPlugin<z.output<typeof schema>> => ({
  name: yields ? 'toy-yields' : 'toy-blocks',
  task: 'macroscopic',
  description: 'Toy macroscopic plugin for the cancellation checks.',
  hyperparameters: schema,
  async train(_data, hp, ctx) {
    for (let e = 0; e < hp.epochs; e++) {
      if (yields) {
        throwIfCancelled(ctx.signal);
        await new Promise((r) => setTimeout(r, 0));
      }
      busy(10);
      ctx.metrics.logMetric('train.loss', 1 / (e + 1), e + 1);
    }
    return new Flat();
  },
  async load() {
    throw new Error('nothing saved');
  },
});

const run = async (p: MacroscopicPlugin<z.output<typeof schema>>, name: RegExp) => {
  const suite = conformanceChecks(p, { cancellation: { hyperparameters: { epochs: 300 }, abortAfterMs: 200 } });
  try {
    const check = suite.checks.find((c) => name.test(c.name))!;
    expect(check).toBeDefined();
    return await check.run().then(
      () => undefined,
      (e: Error) => e,
    );
  } finally {
    suite.dispose();
  }
};

describe('conformance: the Ctrl-C checks', () => {
  it('a training loop that checks the signal and yields stops in time (300 epochs of 10 ms, abort at 200 ms)', async () => {
    expect(await run(plugin(true), /stops training/)).toBeUndefined();
    expect(await run(plugin(true), /stops predicting/)).toBeUndefined();
  });

  it('a prediction that holds the event loop for seconds fails', async () => {
    const blocking = { ...plugin(true), name: 'toy-blocking-predict' };
    blocking.train = async () => ({
      async predict(cascades: WindowedCascade[], horizonsHours: number[]) {
        busy(1500);
        return { sizes: cascades.map((c) => Float64Array.from(horizonsHours, () => c.observedSize)) };
      },
      async save() {},
      dispose() {},
    });
    const err = await run(blocking, /stops predicting/);
    expect(err?.message).toMatch(/predict blocked the event loop for \d+ ms/);
  });

  it('a loop that never yields fails: SIGINT cannot even be seen', async () => {
    const err = await run(plugin(false), /stops training/);
    expect(err?.message).toMatch(/training (stopped \d+ ms after the abort|ran to its end after the abort|finished before the abort)/);
  });
});
