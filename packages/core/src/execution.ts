/**
 * Execution settings: how a run computes, never what. They come from the config's `execution`
 * section, reach plugins through TrainContext/InferenceContext/PredictContext, and are left out of
 * the hyperparameters and the config hash, so a sweep does not re-run a trial when only one of them
 * changed. Results may differ only by floating-point summation order (e.g. batch rows), never by
 * random streams (those are derived per unit of work, see CONTRIBUTING.md).
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { Rng } from './rng.js';
import { quietProgress } from './progress.js';
import type { PredictContext } from './plugin.js';

export const GRADIENT_MODES = ['manual', 'tape'] as const;
export type GradientMode = (typeof GRADIENT_MODES)[number];

export interface ExecutionSettings {
  /** Worker threads for simulations, samplers and per-target solvers, or evaluation processes for plugins with `inProcessSimulation` (default: the machine's cores). */
  workers: number;
  /** Rows (simulations, cascades) advanced together in one batched step; undefined: the plugin's default. */
  batchRows?: number;
  /** How trained plugins differentiate (`manual`: a hand-written backward pass where the plugin has one). Undefined: the plugin's default. */
  gradients?: GradientMode;
}

/** The `execution` section of an experiment or sweep config. */
export const executionConfigSchema = z
  .object({
    workers: z.number().int().min(1).optional().describe('worker threads for simulation and sampling, or evaluation processes for models that simulate in-process (ndm, lstm) (default: the number of cores)'),
    batchRows: z.number().int().min(1).optional().describe("rows advanced together in one batched simulation/prediction step (default: the plugin's)"),
    gradients: z.enum(GRADIENT_MODES).optional().describe("gradient computation of trained plugins: manual (hand-written backward pass) or tape (autodiff); default: the plugin's"),
  })
  .strict();

export type ExecutionConfig = z.output<typeof executionConfigSchema>;

/** Default worker count: every core (`os.availableParallelism()`). */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The parent's Node flags that make sense in a worker thread or a child process it starts: module
 * resolution conditions, source maps, warning switches and memory limits. Everything else (Jest's
 * `--experimental-vm-modules`, module hooks such as `--import tsx`, `--input-type`, `--eval`,
 * inspector flags) is left out: a worker or child registers what it needs itself.
 */
export function inheritedNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i];
    if (a === '--conditions' || a === '-C') {
      if (i + 1 < execArgv.length) out.push(a, execArgv[++i]);
    } else if (/^--(conditions=|enable-source-maps$|no-warnings|disable-warning=|max-old-space-size=|max-semi-space-size=|stack-size=)/.test(a)) out.push(a);
  }
  return out;
}

/** Settings from a parsed `execution` section (absent fields: defaults). */
export function executionSettings(config: Partial<ExecutionConfig> = {}): ExecutionSettings {
  const out: ExecutionSettings = { workers: config.workers ?? defaultWorkers() };
  if (config.batchRows !== undefined) out.batchRows = config.batchRows;
  if (config.gradients !== undefined) out.gradients = config.gradients;
  return out;
}

/** The context `predict` uses when its caller gives none (tests, scripts): seed 0, quiet, never aborted. */
export function defaultPredictContext(seed: number | string = 0): PredictContext {
  return { rng: Rng.fromSeed(seed), progress: quietProgress, signal: new AbortController().signal, execution: executionSettings() };
}
