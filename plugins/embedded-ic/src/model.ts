import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CascadeError,
  RESERVED_USERS,
  simulationRequestStream,
  throwIfCancelled,
  type Cascade,
  type MicroscopicModel,
  type Rng,
  type SimulationRequest,
  type SimulationResult,
} from '@cascade-lab/core';

/** Version tag of the saved file; `load` refuses anything else. */
export const FORMAT = 'cascade-lab/embedded-ic@1';
const FILE = 'embedded-ic.json';

/** Rejections before a draw falls back to renormalising over the users not yet infected. */
const MAX_REJECTIONS = 32;

/**
 * A first-order transition model of infections: the next infected user depends only on the last one
 * (a Markov chain over users, as the simplest sequential baseline of the NDM paper's task, §5.3).
 *
 * With c(u, v) the number of times v directly followed u in a training cascade, c(u) = sum_v c(u, v),
 * and a popularity prior p(v) = (n(v) + beta) / sum_w (n(w) + beta), where n(v) counts the infections
 * of v after a cascade's seed:
 *
 *     P(v | u) = (c(u, v) + alpha p(v)) / (c(u) + alpha)
 *
 * (Dirichlet smoothing of each row towards the prior; an unseen u falls back to the prior). Users
 * already infected are excluded and the rest renormalised. The model never predicts `</s>`, so a
 * simulation runs its whole budget unless nobody is left with a positive probability.
 */
export class EmbeddedIcModel implements MicroscopicModel {
  private readonly rows = new Map<number, Float64Array>();
  private readonly cumulative = new Map<number, Float64Array>();

  constructor(
    readonly numUsers: number,
    /** Sparse transition counts: `transitions.get(u).get(v)` = c(u, v). */
    readonly transitions: Map<number, Map<number, number>>,
    /** p(v) over every vocabulary index (reserved ones 0), summing to 1 (or all 0). */
    readonly prior: Float64Array,
    readonly alpha: number,
  ) {}

  /** Counts transitions and infections in `cascades` (alpha and beta as in the class comment). */
  static fit(cascades: Cascade[], numUsers: number, alpha: number, beta: number, signal?: AbortSignal): EmbeddedIcModel {
    const transitions = new Map<number, Map<number, number>>();
    const infections = new Float64Array(numUsers);
    for (const c of cascades) {
      throwIfCancelled(signal);
      for (let i = 1; i < c.events.length; i++) {
        const u = c.events[i - 1].user;
        const v = c.events[i].user;
        infections[v] += 1;
        let row = transitions.get(u);
        if (!row) transitions.set(u, (row = new Map()));
        row.set(v, (row.get(v) ?? 0) + 1);
      }
    }
    const prior = new Float64Array(numUsers);
    let total = 0;
    for (let v = RESERVED_USERS; v < numUsers; v++) total += prior[v] = infections[v] + beta;
    if (total > 0) for (let v = RESERVED_USERS; v < numUsers; v++) prior[v] /= total;
    return new EmbeddedIcModel(numUsers, transitions, prior, alpha);
  }

  /** P(. | last) over the vocabulary (not yet masked), cached per user. */
  distribution(last: number): Float64Array {
    let row = this.rows.get(last);
    if (row) return row;
    const counts = this.transitions.get(last);
    let total = this.alpha;
    for (const c of counts?.values() ?? []) total += c;
    row = new Float64Array(this.numUsers);
    if (total > 0) {
      for (let v = RESERVED_USERS; v < this.numUsers; v++) row[v] = (this.alpha * this.prior[v]) / total;
      for (const [v, c] of counts ?? []) row[v] += c / total;
    }
    this.rows.set(last, row);
    return row;
  }

  /**
   * Simulations of every request (NDM paper §5.3 protocol): each request draws from its own stream
   * (`simulationRequestStream`), so results do not depend on how requests are batched.
   */
  async simulate(requests: SimulationRequest[], rng: Rng, signal?: AbortSignal): Promise<SimulationResult[]> {
    return requests.map((req, k) => {
      throwIfCancelled(signal);
      const stream = simulationRequestStream(rng, req, k);
      const sequences = new Int32Array(req.simulations * req.budget).fill(-1);
      for (let s = 0; s < req.simulations; s++) {
        const infected = new Set(req.seeds);
        let last = req.seeds[req.seeds.length - 1];
        for (let b = 0; b < req.budget; b++) {
          const next = this.draw(last, infected, stream);
          if (next < 0) break;
          infected.add(next);
          sequences[s * req.budget + b] = next;
          last = next;
        }
      }
      return { simulations: req.simulations, budget: req.budget, sequences };
    });
  }

  /**
   * One user from P(. | last) restricted to users not in `infected`: rejection sampling on the
   * cumulative distribution (exact: an accepted draw follows the restricted distribution), then an
   * explicit renormalisation after many rejections. -1 when nobody is left with a positive probability.
   */
  private draw(last: number, infected: Set<number>, rng: Rng): number {
    const p = this.distribution(last);
    let cdf = this.cumulative.get(last);
    if (!cdf) {
      cdf = new Float64Array(p.length);
      let acc = 0;
      for (let u = 0; u < p.length; u++) cdf[u] = acc += p[u];
      this.cumulative.set(last, cdf);
    }
    const total = cdf[cdf.length - 1];
    if (!(total > 0)) return -1;
    for (let attempt = 0; attempt < MAX_REJECTIONS; attempt++) {
      const x = rng.next() * total;
      // First index whose cumulative mass exceeds x (binary search).
      let lo = 0;
      let hi = cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid] > x) hi = mid;
        else lo = mid + 1;
      }
      if (cdf[lo] > x && !infected.has(lo)) return lo;
    }
    const rest = Float64Array.from(p, (w, u) => (infected.has(u) ? 0 : w));
    if (!rest.some((w) => w > 0)) return -1;
    return rng.categorical(rest);
  }

  /**
   * Row t: ln P(next = v | users 0..t), scoring the user at position t + 1; infected and reserved
   * users are -Infinity.
   */
  async nextUserScores(cascade: number[]): Promise<Float32Array[]> {
    const rows: Float32Array[] = [];
    for (let t = 0; t + 1 < cascade.length; t++) {
      const p = this.distribution(cascade[t]);
      const row = Float32Array.from(p, (w, u) => (u < RESERVED_USERS || w <= 0 ? -Infinity : Math.log(w)));
      for (let j = 0; j <= t; j++) row[cascade[j]] = -Infinity;
      rows.push(row);
    }
    return rows;
  }

  summaryMetrics(): Record<string, number> {
    let pairs = 0;
    for (const row of this.transitions.values()) pairs += row.size;
    return { transitionPairs: pairs };
  }

  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const transitions = [...this.transitions].flatMap(([u, row]) => [...row].map(([v, c]) => [u, v, c]));
    writeFileSync(join(dir, FILE), JSON.stringify({ format: FORMAT, numUsers: this.numUsers, alpha: this.alpha, prior: Array.from(this.prior), transitions }) + '\n');
  }

  static load(dir: string): EmbeddedIcModel {
    const file = join(dir, FILE);
    let saved: { format?: string; numUsers?: number; alpha?: number; prior?: number[]; transitions?: [number, number, number][] };
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CascadeError('MODEL', `cannot read ${file}: ${(e as Error).message}`);
    }
    if (saved.format !== FORMAT || !Number.isInteger(saved.numUsers) || !Array.isArray(saved.prior) || !Array.isArray(saved.transitions) || typeof saved.alpha !== 'number')
      throw new CascadeError('MODEL', `${file} is not a saved embedded-ic model (format ${String(saved.format)}, expected ${FORMAT})`);
    const transitions = new Map<number, Map<number, number>>();
    for (const [u, v, c] of saved.transitions) {
      if (!transitions.has(u)) transitions.set(u, new Map());
      transitions.get(u)!.set(v, c);
    }
    return new EmbeddedIcModel(saved.numUsers!, transitions, Float64Array.from(saved.prior), saved.alpha);
  }

  dispose(): void {}
}
