import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CascadeError, type MicroscopicModel, type Rng, type SimulationRequest, type SimulationResult } from '@cascade-lab/core';
import { DELAY_DISTRIBUTIONS, type DelayDistribution } from './continuous-time.js';
import { transmissionGraph } from './graph.js';
import type { SimulationPool } from './pool.js';
import { ContinuousTimeSimulator } from './simulators.js';

/**
 * Candidate edges with a score each (contract v2's `EdgeScores`, issue 14): index-aligned arrays over
 * vocabulary indices; a transmission network is directed.
 */
export interface EdgeScores {
  sources: Int32Array;
  targets: Int32Array;
  scores: Float64Array;
  directed: boolean;
}

/** What defines a fitted network besides its rates. */
export interface NetworkSettings {
  delay: DelayDistribution;
  /** delta of the power-law delay, in the dataset's time unit. */
  powerLawMinDelay: number;
  /** Simulations add no infection later than this after the seed (dataset time unit); Infinity: only the budget stops them. */
  simulationHorizon: number;
}

/** Options of a RateNetworkModel besides its rates. */
export interface RateNetworkOptions {
  /** Numbers `summaryMetrics` reports (e.g. the fit's negative log-likelihood). */
  summary?: Record<string, number>;
  /** Worker threads for the simulations. */
  pool?: SimulationPool;
  /** File `save` writes and the format tag it carries (`load` checks the tag): one per plugin. */
  saved?: { format: string; file: string };
}

/**
 * A fitted continuous-time diffusion network as a microscopic model, shared by the network inference
 * baselines (NetRate, InfoPath), which differ only in how they fit the rates.
 *
 * A diffusion network of transmission rates alpha_{j,i} > 0 (the edges a fit kept) that predicts by
 * continuous-time simulation from the seed (NetRate §2's generative model, the simulation package's
 * engine): the infected users come out in infection-time order, so the protocol's budget keeps the
 * earliest ones.
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
    const pool = options.pool;
    const graph = transmissionGraph(numUsers, sources, targets, rates);
    this.simulator = new ContinuousTimeSimulator(
      { graph, delay: settings.delay, powerLawMinDelay: settings.powerLawMinDelay },
      { pool, horizon: settings.simulationHorizon },
    );
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

  /** Rate of j -> i (0 when the fit kept no such edge). */
  rate(j: number, i: number): number {
    for (let e = 0; e < this.rates.length; e++) if (this.sources[e] === j && this.targets[e] === i) return this.rates[e];
    return 0;
  }

  summaryMetrics(): Record<string, number> {
    return { ...this.options.summary };
  }

  /** Writes `file` in `dir`, tagged with `format`. */
  async saveAs(dir: string, format: string, file: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const saved = {
      format,
      numUsers: this.numUsers,
      settings: { ...this.settings, simulationHorizon: Number.isFinite(this.settings.simulationHorizon) ? this.settings.simulationHorizon : null },
      summary: this.options.summary ?? {},
      sources: Array.from(this.sources),
      targets: Array.from(this.targets),
      rates: Array.from(this.rates),
    };
    writeFileSync(join(dir, file), JSON.stringify(saved) + '\n');
  }

  save(dir: string): Promise<void> {
    const { format, file } = this.options.saved ?? { format: 'cascade-lab/rate-network@1', file: 'rate-network.json' };
    return this.saveAs(dir, format, file);
  }

  /** Reads a network saved by `saveAs(dir, format, file)`; throws CascadeError('MODEL') for anything else. */
  static load(dir: string, format: string, file: string, pool?: SimulationPool): RateNetworkModel {
    const path = join(dir, file);
    let saved: {
      format?: string;
      numUsers?: number;
      settings?: { delay?: string; powerLawMinDelay?: number; simulationHorizon?: number | null };
      summary?: Record<string, number>;
      sources?: number[];
      targets?: number[];
      rates?: number[];
    };
    try {
      saved = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new CascadeError('MODEL', `cannot read ${path}: ${(e as Error).message}`);
    }
    const s = saved.settings;
    if (
      saved.format !== format ||
      !Number.isInteger(saved.numUsers) ||
      !s ||
      !DELAY_DISTRIBUTIONS.includes(s.delay as DelayDistribution) ||
      typeof s.powerLawMinDelay !== 'number' ||
      !Array.isArray(saved.sources) ||
      !Array.isArray(saved.targets) ||
      !Array.isArray(saved.rates) ||
      saved.sources.length !== saved.rates.length ||
      saved.targets.length !== saved.rates.length
    )
      throw new CascadeError('MODEL', `${path} is not a saved network (format ${String(saved.format)}, expected ${format})`);
    return new RateNetworkModel(
      saved.numUsers!,
      Int32Array.from(saved.sources),
      Int32Array.from(saved.targets),
      Float64Array.from(saved.rates),
      { delay: s.delay as DelayDistribution, powerLawMinDelay: s.powerLawMinDelay, simulationHorizon: s.simulationHorizon ?? Infinity },
      { summary: saved.summary ?? {}, pool, saved: { format, file } },
    );
  }

  dispose(): void {}
}
