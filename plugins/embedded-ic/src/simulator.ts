/**
 * The trained Embedded IC as a `MicroscopicModel`: prediction is Monte-Carlo independent-cascade
 * simulation from the seed with the learned p(u -> v) (NDM paper §5.3), run by the simulation
 * package's IC engine (optionally on its worker pool). The engine lists the users activated in one
 * step in a uniformly random order drawn from the simulation's own seeded stream, so a row is
 * ordered by generation, then by that seeded tie break.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CascadeError, RESERVED_USERS, type MicroscopicModel, type Rng, type SimulationRequest, type SimulationResult } from '@cascade-lab/core';
import { IndependentCascadeSimulator, SimulationPool, transmissionGraph, type TransmissionGraph, type WithinStepOrder } from '@cascade-lab/simulation';
import { sigmoid, softplus, transmissionScore, type EmbeddedIcParameters } from './model.js';

const FORMAT = 'cascade-lab/embedded-ic@1';

export interface PredictionOptions {
  /** Pairs with p(u -> v) below this are left out of the simulation graph (0 keeps every pair). */
  minEdgeProbability: number;
  /** Worker threads for the simulations (0: the calling thread). */
  workers: number;
  /** How the users activated in one IC step are listed (default 'random'; see `WithinStepOrder`). */
  withinStepOrder?: WithinStepOrder;
}

export interface GraphSummary {
  edges: number;
  /** Mean over senders of the probability mass left out by `minEdgeProbability` (sum of pruned p). */
  meanPrunedMassPerSender: number;
}

/**
 * The IC graph of every pair of real users u != v with p(u -> v) >= minEdgeProbability (two passes:
 * count, then fill; rows come out sorted by target).
 */
export function simulationGraph(p: EmbeddedIcParameters, minEdgeProbability: number): { graph: TransmissionGraph; summary: GraphSummary } {
  const n = p.numUsers;
  let edges = 0;
  let pruned = 0;
  const keep = (prob: number) => prob > 0 && prob >= minEdgeProbability;
  for (let u = RESERVED_USERS; u < n; u++) {
    for (let v = RESERVED_USERS; v < n; v++) {
      if (u === v) continue;
      const prob = sigmoid(-transmissionScore(p, u, v));
      if (keep(prob)) edges++;
      else pruned += prob;
    }
  }
  const sources = new Int32Array(edges);
  const targets = new Int32Array(edges);
  const weights = new Float64Array(edges);
  let e = 0;
  for (let u = RESERVED_USERS; u < n; u++) {
    for (let v = RESERVED_USERS; v < n; v++) {
      if (u === v) continue;
      const prob = sigmoid(-transmissionScore(p, u, v));
      if (keep(prob)) {
        sources[e] = u;
        targets[e] = v;
        weights[e++] = prob;
      }
    }
  }
  const senders = Math.max(1, n - RESERVED_USERS);
  return { graph: transmissionGraph(n, sources, targets, weights), summary: { edges, meanPrunedMassPerSender: pruned / senders } };
}

export class EmbeddedIcModel implements MicroscopicModel {
  private simulator: IndependentCascadeSimulator | undefined;
  private pool: SimulationPool | undefined;
  private summary: GraphSummary | undefined;

  constructor(
    readonly parameters: EmbeddedIcParameters,
    readonly prediction: PredictionOptions,
  ) {}

  /** Builds the simulation graph once (U^2 d work), on first use. */
  private engine(): IndependentCascadeSimulator {
    if (!this.simulator) {
      const { graph, summary } = simulationGraph(this.parameters, this.prediction.minEdgeProbability);
      this.summary = summary;
      if (this.prediction.workers > 0) this.pool = new SimulationPool({ workers: this.prediction.workers });
      this.simulator = new IndependentCascadeSimulator(graph, { pool: this.pool, withinStepOrder: this.prediction.withinStepOrder ?? 'random' });
    }
    return this.simulator;
  }

  simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    return this.engine().simulate(requests, rng, signal);
  }

  /**
   * Row t scores each user by ln P(infected by at least one of users 0..t) = ln(1 - prod(1 - p));
   * infected users -Infinity. Incremental: O(n numUsers d) for a cascade of n users.
   */
  async nextUserScores(cascade: number[]): Promise<Float32Array[]> {
    const n = this.parameters.numUsers;
    const logEscape = new Float64Array(n);
    const infected = new Uint8Array(n);
    const rows: Float32Array[] = [];
    for (let t = 0; t + 1 < cascade.length; t++) {
      const u = cascade[t];
      infected[u] = 1;
      for (let v = RESERVED_USERS; v < n; v++) if (v !== u) logEscape[v] -= softplus(-transmissionScore(this.parameters, u, v));
      const row = new Float32Array(n).fill(-Infinity);
      for (let v = RESERVED_USERS; v < n; v++) if (!infected[v]) row[v] = Math.log(-Math.expm1(logEscape[v]));
      rows.push(row);
    }
    return rows;
  }

  summaryMetrics(): Record<string, number> {
    this.engine();
    // The runner logs these as model.<key>.
    return { simulationEdges: this.summary!.edges, meanPrunedMassPerSender: this.summary!.meanPrunedMassPerSender };
  }

  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const p = this.parameters;
    const meta = { format: FORMAT, numUsers: p.numUsers, dimension: p.dimension, prediction: this.prediction };
    writeFileSync(join(dir, 'embedded-ic.json'), JSON.stringify(meta) + '\n');
    // Little-endian float64: senders, receivers, receiver biases.
    const all = new Float64Array(p.senders.length + p.receivers.length + p.receiverBias.length);
    all.set(p.senders, 0);
    all.set(p.receivers, p.senders.length);
    all.set(p.receiverBias, p.senders.length + p.receivers.length);
    writeFileSync(join(dir, 'embedded-ic.f64'), new Uint8Array(all.buffer));
  }

  static load(dir: string): EmbeddedIcModel {
    const file = join(dir, 'embedded-ic.json');
    let meta: { format?: string; numUsers?: number; dimension?: number; prediction?: PredictionOptions };
    let bytes: Buffer;
    try {
      meta = JSON.parse(readFileSync(file, 'utf8'));
      bytes = readFileSync(join(dir, 'embedded-ic.f64'));
    } catch (e) {
      throw new CascadeError('MODEL', `cannot read a saved embedded-ic model in ${dir}: ${(e as Error).message}`);
    }
    const { numUsers, dimension, prediction } = meta;
    if (meta.format !== FORMAT || !Number.isInteger(numUsers) || !Number.isInteger(dimension) || !prediction) {
      throw new CascadeError('MODEL', `${file} is not a saved embedded-ic model (format ${String(meta.format)})`);
    }
    const nd = numUsers! * dimension!;
    const expected = (2 * nd + numUsers!) * 8;
    if (bytes.byteLength !== expected) throw new CascadeError('MODEL', `${join(dir, 'embedded-ic.f64')} has ${bytes.byteLength} bytes, expected ${expected}`);
    const all = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const parameters: EmbeddedIcParameters = {
      numUsers: numUsers!,
      dimension: dimension!,
      senders: all.slice(0, nd),
      receivers: all.slice(nd, 2 * nd),
      receiverBias: all.slice(2 * nd),
    };
    return new EmbeddedIcModel(parameters, prediction);
  }

  dispose(): void {
    const pool = this.pool;
    this.pool = undefined;
    this.simulator = undefined;
    if (pool) void pool.close();
  }
}
