import { CancelledError } from '../errors.js';
import { defaultPredictContext } from '../execution.js';
import type { MacroscopicDataset, MicroscopicDataset } from '../data-types.js';
import type { MacroscopicModel, MicroscopicModel, ModelPlugin, SimulationRequest, TrainContext } from '../plugin.js';
import { Rng } from '../rng.js';

/** Options of the cancellation checks (`ConformanceOptions.cancellation`). */
export interface CancellationOptions {
  /**
   * Hyperparameters that make training on the kit's dataset last well over a second (many epochs),
   * so that the abort lands in the middle of it.
   */
  hyperparameters: Record<string, unknown>;
  /** When to abort after training starts (ms; default 500). */
  abortAfterMs?: number;
  /** How soon after the abort training or prediction must have stopped (ms; default 1000: Ctrl-C "within a second"). */
  withinMs?: number;
  /** Simulations per request (microscopic) in the prediction check: enough to take longer than `abortAfterMs` (default 20000). */
  simulations?: number;
}

type Model = MicroscopicModel | MacroscopicModel;

/** How a promise settled after an abort, and how long after it. */
async function settleAfterAbort<T>(
  start: (signal: AbortSignal) => Promise<T>,
  abortAfterMs: number,
): Promise<{ outcome: 'resolved' | 'cancelled' | 'error'; value?: T; error?: unknown; settledBeforeAbort: boolean; msAfterAbort: number; totalMs: number }> {
  const started = Date.now();
  const controller = new AbortController();
  let abortedAt: number | undefined;
  const timer = setTimeout(() => {
    abortedAt = Date.now();
    controller.abort('interrupted by SIGINT (conformance check)');
  }, abortAfterMs);
  const promise = start(controller.signal);
  let result: { outcome: 'resolved' | 'cancelled' | 'error'; value?: T; error?: unknown };
  try {
    result = { outcome: 'resolved', value: await promise };
  } catch (error) {
    const cancelled = error instanceof CancelledError || (error as { code?: string })?.code === 'CANCELLED';
    result = { outcome: cancelled ? 'cancelled' : 'error', error };
  }
  clearTimeout(timer);
  return { ...result, settledBeforeAbort: abortedAt === undefined, msAfterAbort: abortedAt === undefined ? 0 : Date.now() - abortedAt, totalMs: Date.now() - started };
}

/**
 * The Ctrl-C contract (issue 21): SIGINT/SIGTERM abort `context.signal`; training and the
 * simulator/predictor must then stop within a second (throwing CancelledError: the run closes
 * KILLED), however long the work would still take. Opt-in, because it needs hyperparameters that
 * make training long.
 */
export function cancellationChecks(
  plugin: ModelPlugin,
  data: MicroscopicDataset | MacroscopicDataset,
  options: CancellationOptions,
  helpers: {
    context: (seed: number, signal: AbortSignal) => Promise<TrainContext>;
    trained: () => Promise<Model>;
    fail: (message: string) => never;
    keep: (model: Model) => void;
  },
): { name: string; run(): Promise<void> }[] {
  const { fail } = helpers;
  const abortAfterMs = options.abortAfterMs ?? 500;
  const withinMs = options.withinMs ?? 1000;
  const micro = plugin.task === 'microscopic';
  return [
    {
      name: `stops training within ${withinMs} ms of the abort signal (Ctrl-C, SIGTERM)`,
      run: async () => {
        const parsed = plugin.hyperparameters.safeParse(options.hyperparameters);
        if (!parsed.success) fail(`the cancellation hyperparameters ${JSON.stringify(options.hyperparameters)} do not validate`);
        const r = await settleAfterAbort(async (signal) => {
          const ctx = await helpers.context(5, signal);
          return micro ? plugin.train(data as MicroscopicDataset, parsed.data, ctx) : plugin.train(data as MacroscopicDataset, parsed.data, ctx);
        }, abortAfterMs);
        if (r.value) helpers.keep(r.value as Model);
        if (r.settledBeforeAbort) fail(`training finished before the abort at ${abortAfterMs} ms: give cancellation hyperparameters that train for several seconds`);
        if (r.outcome === 'error') fail(`after the abort, training failed with ${(r.error as Error)?.stack ?? r.error} instead of a CancelledError`);
        if (r.msAfterAbort > withinMs)
          fail(`training stopped ${r.msAfterAbort} ms after the abort (limit ${withinMs} ms): check context.signal (throwIfCancelled) between batches and yield to the event loop (await) so that SIGINT handlers run`);
        if (r.outcome === 'resolved') fail('training ran to its end after the abort instead of throwing CancelledError');
      },
    },
    {
      name: `stops ${micro ? 'simulating' : 'predicting'} within ${withinMs} ms of the abort signal`,
      run: async () => {
        const model = await helpers.trained();
        const r = await settleAfterAbort(async (signal) => {
          if (micro) {
            const d = data as MicroscopicDataset;
            const simulations = options.simulations ?? 20_000;
            const requests: SimulationRequest[] = d.test.map((c, i) => ({ seeds: [c.events[0].user], budget: Math.max(1, c.events.length - 1), simulations, label: `cancel:${i}` }));
            return (model as MicroscopicModel).simulate(requests, Rng.fromSeed(1), signal);
          }
          const d = data as MacroscopicDataset;
          // The same cascades many times over: long enough to be interrupted.
          const many = Array.from({ length: 200 }, () => d.test).flat();
          return (model as MacroscopicModel).predict(many, d.horizonsHours, { ...defaultPredictContext(1), signal });
        }, 50);
        // Done before the abort could fire: fine when it was quick; when it was not, it held the
        // event loop the whole time, so no SIGINT handler could have run.
        if (r.settledBeforeAbort) {
          if (r.totalMs > 50 + withinMs) fail(`${micro ? 'simulate' : 'predict'} blocked the event loop for ${r.totalMs} ms, so the abort could not fire: yield (await) between batches and check the signal`);
          return;
        }
        if (r.outcome === 'error') fail(`after the abort, ${micro ? 'simulate' : 'predict'} failed with ${(r.error as Error)?.message ?? r.error} instead of a CancelledError`);
        if (r.msAfterAbort > withinMs) fail(`${micro ? 'simulate' : 'predict'} stopped ${r.msAfterAbort} ms after the abort (limit ${withinMs} ms): check the signal between batches and yield to the event loop`);
      },
    },
  ];
}
