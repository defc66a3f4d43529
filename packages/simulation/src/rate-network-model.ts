import { join } from 'node:path';
import {
  MODEL_JSON_FILE,
  ModelLoadError,
  loadModelJson,
  saveModelJson,
  type EdgeScores,
  type MicroscopicModel,
  type ModelJsonFormat,
  type Rng,
  type SimulationRequest,
  type SimulationResult,
} from '@cascade-lab/core';
import { DELAY_DISTRIBUTIONS, type DelayDistribution } from './continuous-time.js';
import { transmissionGraph } from './graph.js';
import type { SimulationPool } from './pool.js';
import { ContinuousTimeSimulator } from './simulators.js';

/** What defines a fitted network besides its rates. */
export interface NetworkSettings {
  delay: DelayDistribution;
  /** delta of the power-law delay, in the dataset's time unit. */
  powerLawMinDelay: number;
  /** Simulations add no infection later than this after the seed (dataset time unit); Infinity: only the budget stops them. */
  simulationHorizon: number;
}

/** The saved parameters (core's `model.json`). */
export interface SavedRateNetwork {
  numUsers: number;
  settings: { delay: DelayDistribution; powerLawMinDelay: number; simulationHorizon: number | null };
  summary: Record<string, number>;
  sources: number[];
  targets: number[];
  rates: number[];
}

/** What is wrong with saved parameters, or undefined when they make a network. */
function problemOf(p: SavedRateNetwork): string | undefined {
  if (p === null || typeof p !== 'object') return 'no parameters';
  if (!Number.isInteger(p.numUsers) || p.numUsers < 0) return `numUsers ${String(p.numUsers)} is not a count`;
  const s = p.settings;
  if (!s || !DELAY_DISTRIBUTIONS.includes(s.delay)) return `unknown delay ${String(s?.delay)}`;
  if (!(s.powerLawMinDelay > 0)) return `powerLawMinDelay ${String(s.powerLawMinDelay)} is not positive`;
  if (s.simulationHorizon !== null && !(s.simulationHorizon > 0)) return `simulationHorizon ${String(s.simulationHorizon)} is not positive`;
  if (!Array.isArray(p.sources) || !Array.isArray(p.targets) || !Array.isArray(p.rates)) return 'sources, targets and rates must be arrays';
  if (p.sources.length !== p.rates.length || p.targets.length !== p.rates.length) return `${p.sources.length} sources, ${p.targets.length} targets and ${p.rates.length} rates differ in number`;
  for (let e = 0; e < p.rates.length; e++) {
    const [u, v, a] = [p.sources[e], p.targets[e], p.rates[e]];
    if (!Number.isInteger(u) || !Number.isInteger(v) || u < 0 || v < 0 || u >= p.numUsers || v >= p.numUsers) return `edge ${e} (${u} -> ${v}) is outside 0..${p.numUsers - 1}`;
    if (!(a >= 0 && Number.isFinite(a))) return `edge ${e} has rate ${a}`;
  }
  return undefined;
}

/** The model.json format of a plugin's network: `format` names the plugin, `version` its layout. */
export function rateNetworkFormat(format: string, version = 1): ModelJsonFormat<SavedRateNetwork> {
  return { format, version };
}

/** Options of a RateNetworkModel besides its rates. */
export interface RateNetworkOptions {
  /** Numbers `summaryMetrics` reports (e.g. the fit's negative log-likelihood). */
  summary?: Record<string, number>;
  /** Worker threads for the simulations; the model closes it on `dispose`. */
  pool?: SimulationPool;
  /** The format tag `save` writes (`rateNetworkFormat('cascade-lab/<plugin>')`). */
  saved?: ModelJsonFormat<SavedRateNetwork>;
}

/**
 * A fitted continuous-time diffusion network as a microscopic model, shared by the network inference
 * baselines (NetRate, InfoPath), which differ only in how they fit the rates: transmission rates
 * alpha_{j,i} > 0 (the edges a fit kept) that predict by continuous-time simulation from the seed
 * (NetRate §2's generative model, this package's engine). Infected users come out in infection-time
 * order, so the protocol's budget keeps the earliest ones.
 */
export class RateNetworkModel implements MicroscopicModel {
  readonly simulator: ContinuousTimeSimulator;

  constructor(
    readonly numUsers: number,
    readonly sources: Int32Array,
    readonly targets: Int32Array,
    readonly rates: Float64Array,
    readonly settings: NetworkSettings,
    private readonly options: RateNetworkOptions = {},
  ) {
    const graph = transmissionGraph(numUsers, sources, targets, rates);
    this.simulator = new ContinuousTimeSimulator({ graph, delay: settings.delay, powerLawMinDelay: settings.powerLawMinDelay }, { pool: options.pool, horizon: settings.simulationHorizon });
  }

  simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    return this.simulator.simulate(requests, rng, signal);
  }

  /**
   * The inferred network: without `candidates`, every edge with a positive rate scored by its rate
   * (pairs left out have rate 0, the lowest score); with them, the rate of each given pair (0 when
   * absent).
   */
  async edgeScores(candidates?: { sources: Int32Array; targets: Int32Array }): Promise<EdgeScores> {
    if (!candidates) return { sources: this.sources.slice(), targets: this.targets.slice(), scores: this.rates.slice(), directed: true };
    const index = new Map<number, number>();
    for (let e = 0; e < this.rates.length; e++) index.set(this.sources[e] * this.numUsers + this.targets[e], this.rates[e]);
    const scores = Float64Array.from(candidates.sources, (s, k) => index.get(s * this.numUsers + candidates.targets[k]) ?? 0);
    return { sources: candidates.sources.slice(), targets: candidates.targets.slice(), scores, directed: true };
  }

  summaryMetrics(): Record<string, number> {
    return { ...this.options.summary };
  }

  save(dir: string): Promise<void> {
    const spec = this.options.saved ?? rateNetworkFormat('cascade-lab/rate-network');
    return saveModelJson<SavedRateNetwork>(dir, spec, {
      numUsers: this.numUsers,
      settings: { ...this.settings, simulationHorizon: Number.isFinite(this.settings.simulationHorizon) ? this.settings.simulationHorizon : null },
      summary: this.options.summary ?? {},
      sources: Array.from(this.sources),
      targets: Array.from(this.targets),
      rates: Array.from(this.rates),
    });
  }

  /** Reads a network saved under `spec`; a missing, foreign or malformed file is a ModelLoadError (MODEL_LOAD). */
  static async load(dir: string, spec: ModelJsonFormat<SavedRateNetwork>, pool?: SimulationPool): Promise<RateNetworkModel> {
    const { parameters: p } = await loadModelJson(dir, spec);
    const problem = problemOf(p);
    if (problem) throw new ModelLoadError(join(dir, spec.file ?? MODEL_JSON_FILE), `not a saved network: ${problem}`);
    return new RateNetworkModel(
      p.numUsers,
      Int32Array.from(p.sources),
      Int32Array.from(p.targets),
      Float64Array.from(p.rates),
      { delay: p.settings.delay, powerLawMinDelay: p.settings.powerLawMinDelay, simulationHorizon: p.settings.simulationHorizon ?? Infinity },
      { summary: p.summary, pool, saved: spec },
    );
  }

  dispose(): void {
    // Idle workers do not keep the process alive; closing frees their threads now.
    void this.options.pool?.close();
  }
}
