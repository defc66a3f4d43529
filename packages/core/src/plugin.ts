import type { z } from 'zod';
import type { Logger } from './logging.js';
import type { ProgressReporter } from './progress.js';
import type { Rng } from './rng.js';
import type { MacroscopicDataset, MicroscopicDataset, WindowedCascade } from './data-types.js';
import type { DataNeed } from './data-needs.js';
import type { ExecutionSettings } from './execution.js';

export type Task = 'microscopic' | 'macroscopic';

/** The tensor backend a run really uses (filled by `@cascade-lab/tensor-ops`). */
export interface BackendInfo {
  /** tfjs backend name: `tensorflow`, `wasm` or `cpu`. */
  name: string;
  /** Which npm package provides it, e.g. `@tensorflow/tfjs-node`. */
  package: string;
  /** Device actually computing: `cpu`, `gpu:0 (NVIDIA ...)`, `wasm-simd`. */
  device: string;
}

/** Where a plugin reports per-epoch numbers; the runner forwards them to the tracker. */
export interface MetricLogger {
  logMetric(key: string, value: number, step?: number): void;
}

/** Everything a plugin gets from the runner besides data and hyperparameters. */
export interface TrainContext {
  /** Seeded generator for this run; derive sub-streams (`rng.derive('init')`) rather than sharing. */
  rng: Rng;
  backend: BackendInfo;
  progress: ProgressReporter;
  logger: Logger;
  metrics: MetricLogger;
  /** Fires on Ctrl-C / SIGTERM; check it between batches and throw CancelledError. */
  signal: AbortSignal;
  /** A scratch directory owned by this run. */
  workDir: string;
  /**
   * How to run, not what to compute: worker threads, batch rows, gradient mode (the config's
   * `execution` section). Never part of the hyperparameters or the config hash: results must not
   * depend on it beyond floating-point summation order.
   */
  execution: ExecutionSettings;
  /**
   * Directory that relative file paths among the hyperparameters are taken from: the experiment
   * config file's directory when the runner trains (as for the dataset path); absent, the working
   * directory.
   */
  baseDir?: string;
}

/** Context for loading a saved model or running inference (the model keeps `execution` for its simulator). */
export type InferenceContext = Pick<TrainContext, 'backend' | 'logger' | 'signal' | 'execution'>;

/** What `MacroscopicModel.predict` gets besides the cascades and horizons. */
export interface PredictContext {
  /** Seeded generator: the only source of randomness of a prediction (sampling models, walks). */
  rng: Rng;
  progress: ProgressReporter;
  /** Check it between units of work and throw CancelledError. */
  signal: AbortSignal;
  execution: ExecutionSettings;
}

/**
 * A request to simulate cascades from seed users. The evaluation protocol (NDM paper §5.3) seeds
 * with the first infected user and lets each simulation predict at most `budget` further users.
 */
export interface SimulationRequest {
  /** Already-infected users, in infection order (at least one). */
  seeds: number[];
  /** Most users one simulation may add. */
  budget: number;
  /**
   * Infection time of the (last) seed, in the dataset's time unit, when known: continuous-time
   * simulators start their clocks here (the harness fills it from the test cascade).
   */
  startTime?: number;
  /** Number of independent simulations. */
  simulations: number;
  /**
   * Names this request's random stream (the harness uses `cascade:<index>`): a simulator draws the
   * request's randomness from `simulationRequestStream(rng, request, k)` only, so the outcome of a
   * request does not depend on which other requests share the `simulate` call or on scheduling.
   */
  label?: string;
}

/**
 * The simulations' outcome: `sequences[s * budget + k]` is the k-th user added by simulation s,
 * or -1 once that simulation has stopped (the `</s>` user, or nobody left to infect).
 */
export interface SimulationResult {
  simulations: number;
  budget: number;
  sequences: Int32Array;
}

/** The part of a trained microscopic model the evaluation harness talks to. */
export interface InfectionSimulator {
  /**
   * Runs the simulations of every request and returns one result per request, in order. `rng` is the
   * only source of randomness, and request k must take its randomness from
   * `simulationRequestStream(rng, requests[k], k)` alone. Rows may end early (`-1`), never repeat a
   * user and never contain a seed.
   */
  simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]>;
}

/**
 * The random stream of `requests[index]` in a `simulate(requests, rng)` call: `rng.derive(label)`,
 * or `rng.derive('request:<index>')` for a request without a label. `rng` is not advanced.
 */
export function simulationRequestStream(rng: Rng, request: SimulationRequest, index: number): Rng {
  return rng.derive(request.label ?? `request:${index}`);
}

/**
 * Candidate edges of a social or diffusion network with a score each (higher: more likely an
 * edge), index-aligned arrays over vocabulary indices. Scored by the evaluation package's
 * link-prediction/network-recovery metrics.
 */
export interface EdgeScores {
  sources: Int32Array;
  targets: Int32Array;
  scores: Float64Array;
  /** Whether (u, v) and (v, u) are different edges (inferred transmission networks: yes). */
  directed: boolean;
  /**
   * What the scores are, a lowerCamelCase word (`rates`, `embedding`, `attention`): the `<name>` of
   * the logged keys `test.network.<name>.*`. Default `edges`; needed when a model returns several
   * sets (NDM scores users by embedding similarity and by attention, §5.4).
   */
  name?: string;
}

/** A trained microscopic model. */
export interface MicroscopicModel extends InfectionSimulator {
  /**
   * Optional: scores of every user as the next infected one after each prefix of a cascade, for
   * hits@k and MAP@k. For a cascade of n users it returns n - 1 rows: row t scores the user at
   * position t+1 given users 0..t; infected users should already be excluded (score -Infinity).
   */
  nextUserScores?(cascade: number[]): Promise<Float32Array[]>;
  /**
   * Optional: the network the model inferred or learned, as scored candidate edges. Without
   * `candidates` the model returns its own candidates (e.g. every pair with a positive rate; pairs
   * it leaves out count as the lowest score); with them, one score per given pair, in order. Several
   * named sets (an array) when the model has more than one notion of closeness.
   */
  edgeScores?(candidates?: { sources: Int32Array; targets: Int32Array }): Promise<EdgeScores | EdgeScores[]>;
  /** Extra numbers the model wants logged at the end (e.g. NDM's window-projection norms). */
  summaryMetrics?(): Record<string, number>;
  /** Writes everything needed by the plugin's `load` into `dir`. */
  save(dir: string): Promise<void>;
  /** Frees tensors. */
  dispose(): void;
}

/** Predicted sizes of a batch of cascades. */
export interface SizePredictions {
  /** `sizes[c][h]`: predicted size (root included) of cascade c at horizon h; may be Infinity. */
  sizes: Float64Array[];
  /** Optional per-cascade interpretable quantities (e.g. GammaCas' A, gamma, lambda). */
  details?: Record<string, number | number[] | string>[];
}

/** A trained macroscopic model. */
export interface MacroscopicModel {
  /**
   * Sizes at each horizon. `context` carries the seeded generator, progress, abort signal and
   * execution settings; callers that omit it (tests) get `defaultPredictContext()`'s.
   */
  predict(cascades: WindowedCascade[], horizonsHours: number[], context?: PredictContext): Promise<SizePredictions>;
  summaryMetrics?(): Record<string, number>;
  save(dir: string): Promise<void>;
  dispose(): void;
}

interface PluginBase<Hp> {
  /** Unique name used in configs (`model.name`), lower-case with dashes. */
  readonly name: string;
  /** One sentence for `cascade plugins`. */
  readonly description: string;
  /** Paper or reference the model comes from. */
  readonly reference?: string;
  /**
   * Hyperparameters: a zod object whose every field has a default and a `.describe()`; parsing `{}`
   * yields the paper's defaults.
   */
  readonly hyperparameters: z.ZodType<Hp>;
  /**
   * What the model reads from a dataset beyond the task's basics (see `DATA_NEEDS`). `cascade
   * validate` and `cascade run` refuse a dataset that lacks one, naming the config line; the
   * conformance kit checks the declaration against the fixture data, and trains on that data with
   * everything undeclared removed. A function when the needs depend on the hyperparameters
   * (GammaCas' counts-only variant reads no text).
   */
  readonly dataNeeds?: readonly DataNeed[] | ((hyperparameters: Hp) => readonly DataNeed[]);
  /**
   * `data` (default): `train` learns from the training cascades. `none`: the model is defined by its
   * hyperparameters alone (SEISMIC, per-cascade fits); `train` must not read the training
   * cascades, and `nothingToFit()` (model-files.ts) gives train/save/load without a fitted file.
   * The conformance kit checks that training on other data predicts the same.
   */
  readonly fitting?: 'data' | 'none';
  /**
   * Metric keys the plugin logs itself beyond the project's metric catalogue (`@cascade-lab/metrics`):
   * `model.<name>` summary numbers (from `summaryMetrics`, which the runner logs under `model.`) and
   * curves of its own under `train.` / `validation.`. The conformance kit of
   * `@cascade-lab/evaluation/testing` fails a plugin that logs a key that is neither here nor in the
   * catalogue.
   */
  readonly metrics?: readonly PluginMetricDeclaration[];
}

/**
 * One key a plugin declares (the shape of `MetricDeclaration` in `@cascade-lab/metrics`, which
 * checks it: key style, phase, unit, no clash with the project's keys). Placeholders `<n>`, `<k>`,
 * `<hours>`, `<name>` are allowed in the key and the label.
 */
export interface PluginMetricDeclaration {
  /** e.g. `model.windowProjection<n>SqFrobenius`, `train.tokensPerSecond`. */
  key: string;
  label: string;
  /** One of the catalogue's units: fraction, percent, correlation, count, seconds, perSecond, epoch, flag, loss, squaredLog, rate, value. */
  unit: string;
  direction: 'higher' | 'lower' | 'none';
  description: string;
}

export interface MicroscopicPlugin<Hp = unknown> extends PluginBase<Hp> {
  readonly task: 'microscopic';
  /**
   * `true` when the trained model's `simulate` runs on the calling thread (tensor ops of one
   * process, as NDM's and the LSTM's samplers): the runner then splits a microscopic evaluation
   * into `execution.workers` shards run by child processes, each loading the saved model with
   * `load` (issue 22), and merges them into the numbers of the single-process evaluation. Leave it
   * unset when `simulate` already spreads over worker threads (a `SimulationPool`).
   */
  readonly inProcessSimulation?: boolean;
  train(data: MicroscopicDataset, hyperparameters: Hp, context: TrainContext): Promise<MicroscopicModel>;
  load(dir: string, context: InferenceContext): Promise<MicroscopicModel>;
}

export interface MacroscopicPlugin<Hp = unknown> extends PluginBase<Hp> {
  readonly task: 'macroscopic';
  train(data: MacroscopicDataset, hyperparameters: Hp, context: TrainContext): Promise<MacroscopicModel>;
  load(dir: string, context: InferenceContext): Promise<MacroscopicModel>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ModelPlugin = MicroscopicPlugin<any> | MacroscopicPlugin<any>;
