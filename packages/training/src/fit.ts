/**
 * The one epoch loop of every trained plugin: epochs of batches, validation monitors with a
 * direction, early stopping with patience, restore-best weights, a seeded stream per epoch,
 * cancellation that also works while the steps are synchronous, progress, a non-finite-loss guard,
 * and the standard metric keys.
 *
 * Why the loop yields: a training step (a compiled graph, a tfjs kernel chain) is synchronous, so a
 * loop of them never lets Node run its event loop, and a SIGINT/SIGTERM handler (which aborts the
 * run's AbortSignal) cannot fire until training ends (issue 21 item 1: Ctrl-C was ignored for a
 * whole NDM run). Between batches, once `yieldEveryMs` of work has passed since the last yield,
 * the loop awaits a macrotask (`setImmediate`): signal handlers and timers run, and the next
 * `throwIfCancelled` sees the abort. A step longer than a second still delays the stop by itself.
 */
import { CascadeError, throwIfCancelled, type Logger, type MetricLogger, type ProgressReporter, type Rng } from '@cascade-lab/core';

export type Direction = 'min' | 'max';

/** What the loop passes to the plan and the monitors for one epoch. */
export interface EpochInfo {
  /** 1-based. */
  epoch: number;
  /** Epochs this fit runs at most. */
  epochs: number;
  /** The epoch's own seeded stream: `rng.derive(epochStream(epoch))` (default label `epoch:<e>`). */
  rng: Rng;
  signal?: AbortSignal;
}

/** One optimisation step's loss, summed over `weight` units (targets, rows); weight defaults to 1. */
export interface StepResult {
  loss: number;
  weight?: number;
}

/** An epoch's batches and the step that trains on one. */
export interface EpochPlan<B> {
  batches: readonly B[];
  step(batch: B, index: number): StepResult | Promise<StepResult>;
}

/** A monitored value and, optionally, companion values computed in the same pass. */
export interface MonitorValues {
  value: number;
  /** Logged beside the value as `validation.<key>`; keys in the key style (e.g. `hitsAt10`). */
  also?: Record<string, number>;
}

/**
 * A value watched after training epochs (validation loss, validation Macro-F1 from simulations,
 * ...), logged as `validation.<name>`. It may be any async function; with `every: k` it runs after
 * epochs k, 2k, ... and after the last epoch.
 */
export interface Monitor {
  /** Key segment(s) after `validation.`, lowerCamelCase: `loss`, `macroF1`, `hitsAt10`. */
  name: string;
  direction: Direction;
  /** Run after every k-th epoch (default 1) and after the last one. */
  every?: number;
  evaluate(info: EpochInfo): number | MonitorValues | Promise<number | MonitorValues>;
}

/** How the loop keeps and brings back the best epoch's weights (the model supplies them). */
export interface WeightSnapshots<S> {
  snapshot(): S;
  restore(snapshot: S): void;
  /** Frees a snapshot that is no longer needed (tensors); default: nothing. */
  release?(snapshot: S): void;
}

/** The run's services the loop uses (a plugin's TrainContext fits). */
export interface FitContext {
  signal?: AbortSignal;
  progress?: ProgressReporter;
  metrics?: MetricLogger;
  logger?: Logger;
}

export interface EpochReport {
  epoch: number;
  /** Training loss of the epoch: summed step losses over summed weights. */
  loss: number;
  /** Summed step weights (e.g. trained targets). */
  weight: number;
  /** Seconds spent in the epoch's training steps (monitors excluded). */
  seconds: number;
  /** Monitor values of this epoch by key after `validation.` (empty when none ran). */
  validation: Record<string, number>;
  /** Whether the selected monitor improved on its best at this epoch. */
  improved: boolean;
}

export interface FitOptions<B, S = unknown> {
  /** Names the model in progress labels, log lines and errors (`ndm`). */
  name: string;
  epochs: number;
  /** Base stream; each epoch gets `rng.derive(epochStream(epoch))`. */
  rng: Rng;
  /** Label of an epoch's stream (default `epoch:<e>`). */
  epochStream?: (epoch: number) => string;
  plan(info: EpochInfo): EpochPlan<B>;
  monitors?: readonly Monitor[];
  /**
   * The monitor that early stopping and restore-best follow, by name (default: the first
   * monitor); null: none (train every epoch, keep the last weights).
   */
  select?: string | null;
  /** Stop after this many epochs without improvement of the selected monitor; 0 never stops early. */
  patience?: number;
  /** With `weights`: bring back the best epoch's weights at the end (default true). */
  restoreBest?: boolean;
  weights?: WeightSnapshots<S>;
  context?: FitContext;
  /**
   * A segment between the phase and the name for a second stage of training (`retrain` logs
   * `train.retrain.loss`, `train.retrain.epochs`); default none.
   */
  scope?: string;
  /** What to tell the user when the loss is not finite (e.g. "lower learningRate"). */
  nonFiniteHint?: string;
  /** Work between two yields to the event loop (default 20 ms). */
  yieldEveryMs?: number;
  /** Called after each epoch's monitors and metrics, before the stopping decision. */
  onEpoch?(report: EpochReport): void | Promise<void>;
}

export interface FitResult {
  /** Epochs trained. */
  epochs: number;
  /** Epoch whose weights the model holds (the best with a selected monitor, else the last). */
  bestEpoch: number;
  /** Monitor values of the best epoch (`validation.` keys without the phase); absent without selection. */
  best?: Record<string, number>;
  stoppedEarly: boolean;
  /** Seconds in training steps over all epochs. */
  seconds: number;
  /** Summed step weights over all epochs (e.g. targets: weight / seconds is the throughput). */
  weight: number;
  history: EpochReport[];
}

/** A metric key segment path in the project's style: lowerCamelCase words joined by dots. */
const KEY_SEGMENTS = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)*$/;

/** Awaits one macrotask: signal handlers, timers and I/O callbacks get their turn. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function better(direction: Direction, value: number, best: number): boolean {
  return direction === 'min' ? value < best : value > best;
}

function checkName(what: string, name: string): void {
  if (!KEY_SEGMENTS.test(name)) throw new CascadeError('INTERNAL', `${what} "${name}" is not in the metric key style (lowerCamelCase segments joined by dots, e.g. macroF1, h24.mape)`);
}

/**
 * Trains for up to `epochs` epochs. After each epoch the due monitors run; with a selected monitor
 * the loop remembers the best epoch (its weights, with `weights`), stops once `patience` epochs
 * passed without improvement, and restores the best weights at the end (`restoreBest`).
 *
 * Metrics (through `context.metrics`, step = epoch): `train.loss`, `train.epochSeconds`, and each
 * monitor's `validation.<name>` (and its companions); at the end `train.epochs` and
 * `train.bestEpoch`. With `scope: s` the train keys read `train.s.loss` etc.
 */
export async function fit<B, S = unknown>(options: FitOptions<B, S>): Promise<FitResult> {
  const { name, epochs, context = {} } = options;
  const monitors = options.monitors ?? [];
  for (const m of monitors) {
    checkName('monitor name', m.name);
    if (m.every !== undefined && !(Number.isInteger(m.every) && m.every >= 1)) throw new CascadeError('INTERNAL', `monitor ${m.name}: every must be a positive integer, got ${m.every}`);
  }
  if (options.scope !== undefined) checkName('scope', options.scope);
  const selectName = options.select === undefined ? (monitors[0]?.name ?? null) : options.select;
  const selected = selectName === null ? null : monitors.find((m) => m.name === selectName);
  if (selectName !== null && !selected) throw new CascadeError('INTERNAL', `${name}: no monitor named "${selectName}" to select the best epoch by`);
  const patience = options.patience ?? 0;
  const restoreBest = options.restoreBest ?? true;
  const yieldEveryMs = options.yieldEveryMs ?? 20;
  const epochStream = options.epochStream ?? ((e: number) => `epoch:${e}`);
  const trainKey = (key: string) => (options.scope ? `train.${options.scope}.${key}` : `train.${key}`);
  const log = (key: string, value: number, step?: number) => context.metrics?.logMetric(key, value, step);

  let lastYield = performance.now();
  /** Yields when enough work has passed, then stops on an aborted signal. */
  const checkpoint = async () => {
    if (performance.now() - lastYield >= yieldEveryMs) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
    throwIfCancelled(context.signal);
  };

  let best: { epoch: number; value: number; values: Record<string, number>; snapshot?: S } | null = null;
  const history: EpochReport[] = [];
  let seconds = 0;
  let totalWeight = 0;
  let stoppedEarly = false;
  let epoch = 0;
  try {
    for (epoch = 1; epoch <= epochs; epoch++) {
      await checkpoint();
      const info: EpochInfo = { epoch, epochs, rng: options.rng.derive(epochStream(epoch)), signal: context.signal };
      const start = performance.now();
      const plan = options.plan(info);
      const task = context.progress?.start(`${name}${options.scope ? ` ${options.scope}` : ''} epoch ${epoch}/${epochs}`, plan.batches.length);
      let lossSum = 0;
      let weight = 0;
      try {
        for (let i = 0; i < plan.batches.length; i++) {
          await checkpoint();
          const r = await plan.step(plan.batches[i], i);
          if (!Number.isFinite(r.loss)) {
            throw new CascadeError('MODEL', `${name}: the training loss became ${r.loss} in epoch ${epoch}, batch ${i + 1} of ${plan.batches.length}`, {
              hint: options.nonFiniteHint ?? 'lower the learning rate',
            });
          }
          lossSum += r.loss;
          weight += r.weight ?? 1;
          task?.tick(1, `loss ${(lossSum / Math.max(1, weight)).toFixed(3)}`);
        }
      } finally {
        task?.done();
      }
      const epochSeconds = (performance.now() - start) / 1000;
      seconds += epochSeconds;
      totalWeight += weight;
      const loss = lossSum / Math.max(1, weight);
      log(trainKey('loss'), loss, epoch);
      log(trainKey('epochSeconds'), epochSeconds, epoch);

      const validation: Record<string, number> = {};
      let improved = false;
      for (const m of monitors) {
        const every = m.every ?? 1;
        if (epoch % every !== 0 && epoch !== epochs) continue;
        await checkpoint();
        const out = await m.evaluate(info);
        const values = typeof out === 'number' ? { value: out } : out;
        validation[m.name] = values.value;
        for (const [k, v] of Object.entries(values.also ?? {})) {
          checkName(`monitor ${m.name} companion`, k);
          validation[k] = v;
        }
        if (m === selected && !Number.isNaN(values.value) && (best === null || better(m.direction, values.value, best.value))) {
          improved = true;
          if (best?.snapshot !== undefined) options.weights?.release?.(best.snapshot);
          best = { epoch, value: values.value, values: {}, snapshot: restoreBest ? options.weights?.snapshot() : undefined };
        }
      }
      if (improved && best) best.values = { ...validation };
      for (const [k, v] of Object.entries(validation)) log(`validation.${k}`, v, epoch);

      const report: EpochReport = { epoch, loss, weight, seconds: epochSeconds, validation, improved };
      history.push(report);
      if (context.logger) {
        const parts = Object.entries(validation).slice(0, 4).map(([k, v]) => `${k} ${v.toFixed(4)}`);
        context.logger.info(`${name}${options.scope ? ` ${options.scope}` : ''} epoch ${epoch}/${epochs}: train loss ${loss.toFixed(4)} (${epochSeconds.toFixed(1)} s)${parts.length > 0 ? `, validation ${parts.join(', ')}` : ''}`);
      }
      await options.onEpoch?.(report);
      const evaluatedNow = selected !== null && selected !== undefined && validation[selected.name] !== undefined;
      if (best && evaluatedNow && patience > 0 && epoch - best.epoch >= patience) {
        stoppedEarly = true;
        break;
      }
    }
    const trained = Math.min(epoch, epochs);
    if (best?.snapshot !== undefined && restoreBest) {
      options.weights!.restore(best.snapshot);
      if (best.epoch !== trained) context.logger?.info(`${name}: keeping the weights of epoch ${best.epoch} (best validation.${selected!.name} ${best.value.toFixed(4)})`);
    }
    const bestEpoch = best && restoreBest && options.weights ? best.epoch : trained;
    log(trainKey('epochs'), trained);
    log(trainKey('bestEpoch'), bestEpoch);
    return { epochs: trained, bestEpoch, best: best?.values, stoppedEarly, seconds, weight: totalWeight, history };
  } finally {
    if (best?.snapshot !== undefined) options.weights?.release?.(best.snapshot);
  }
}
