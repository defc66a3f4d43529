/**
 * The papers' comparison tables with uncertainty (issue 19): models as columns, datasets (and
 * horizons) as rows, each number the mean over seeds with its spread, a 95% bootstrap interval over
 * test cascades and the p-value of a paired permutation test against the best model on the same
 * cascades. Read from the per-cascade rows every run keeps (`predictions.jsonl`), so any metric of
 * the protocol can be recomputed on a resample.
 *
 * Statistics (from @cascade-lab/metrics):
 * - seed spread: mean and sample std (ddof 1) of the per-seed values;
 * - interval: percentile bootstrap, 1000 resamples of the test cascades (seeded, `--ci-seed`); a
 *   resample draws cascades, and the statistic is the mean over seeds of the metric of each seed's
 *   rows for those cascades: drawn jointly for all seeds when they share the test split, within
 *   each seed when the split depends on the seed (see `Group`);
 * - p-value: paired sign-flip permutation test of (statistic of the best model) - (statistic of the
 *   other), each cascade's results swapped between the two models at random, 10^4 sign patterns.
 *
 * Microscopic: Macro-/Micro-F1 of the full cascade and of its first users (NDM Tables 2 and 3),
 * the paper's values beside ours, the improvement of NDM over the best baseline (ours and the
 * paper's), marks where our order of the models differs from the paper's, and F1 against the
 * number of simulations (prefixes of the kept per-simulation counts). Macroscopic: MAPE, Kendall's
 * tau and Spearman's rho at every horizon, plus the observed-size baseline (no growth, computed
 * from the rows: it has no parameters), and error-against-horizon plots.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CascadeError, Rng, type Logger } from '@cascade-lab/core';
import { simulationCountCurve, type PerSimulationCounts } from '@cascade-lab/evaluation';
import { intervalFromDistribution, isBetter, kendallTau, metricDirection, pairedPermutationTest, seedSpread, sizePredictionMetrics, spearmanRho } from '@cascade-lab/metrics';
import { renderPng, type VegaLiteSpec } from '../plots.js';
import type { RunRecord, RunSource } from './runs.js';

export const DEFAULT_PAPER_TABLES = fileURLToPath(new URL('../../../../configs/reference/ndm-paper-tables.json', import.meta.url));
export const SIMULATION_COUNTS = [10, 30, 100, 300, 1000];
export const DEFAULT_ORDER = {
  microscopic: ['netrate', 'infopath', 'embedded-ic', 'lstm', 'ndm'],
  macroscopic: ['observed-size', 'mean-log-growth', 'hawkes', 'seismic', 'deepcas', 'gammacas-co', 'gammacas'],
};

type Row = Record<string, unknown>;

/** One run with its per-cascade rows. */
export interface RunRows {
  run: RunRecord;
  /** Column of the tables: the model (or a run name for `cascade compare`). */
  method: string;
  dataset: string;
  seed: number;
  task: 'microscopic' | 'macroscopic';
  rows: Row[];
  /** What must agree for two runs to be compared cascade by cascade. */
  protocol: string;
}

/** Which settings define the test split and the protocol (the rest, e.g. the model, may differ). */
const PROTOCOL_PARAMS = /^(dataset\.|evaluation\.)/;
/** Evaluation settings that say how to compute, not what: a sharded evaluation gives the local numbers (issue 20). */
const NOT_PROTOCOL = new Set(['evaluation.shards']);

/** The identity of a run's test split and protocol: dataset and evaluation settings and the test cascades' ids. */
export function protocolOf(run: RunRecord, rows: Row[]): string {
  const params = Object.entries(run.params)
    .filter(([k]) => PROTOCOL_PARAMS.test(k) && !NOT_PROTOCOL.has(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return JSON.stringify({ params, cascades: rows.map((r) => String(r.id)) });
}

/** What differs between two protocols, in words (for the refusal). */
export function protocolDifference(a: string, b: string): string {
  const pa = JSON.parse(a) as { params: string[]; cascades: string[] };
  const pb = JSON.parse(b) as { params: string[]; cascades: string[] };
  const sa = new Set(pa.params);
  const sb = new Set(pb.params);
  const diff = [...pa.params.filter((p) => !sb.has(p)).map((p) => `${p} (first)`), ...pb.params.filter((p) => !sa.has(p)).map((p) => `${p} (second)`)];
  if (diff.length) return `settings differ: ${diff.join(', ')}`;
  return `the test cascades differ (${pa.cascades.length} and ${pb.cascades.length} cascades, ${pa.cascades.filter((c) => !pb.cascades.includes(c)).length} of the first not in the second)`;
}

/** Method name of a sweep trial: its label without the dataset name, else the model name. */
export function methodOf(run: RunRecord): string {
  const dataset = run.params['dataset.name'] ?? '';
  const label = run.tags['cascade.trial.label'];
  if (label) {
    const words = label.split(/\s+/).filter((w) => w !== dataset);
    if (words.length) return words.join(' ');
  }
  return run.params['model.name'] ?? run.name;
}

/** Reads every run's `predictions.jsonl`; runs without it are left out with a warning. */
export async function loadRunRows(source: RunSource, runs: RunRecord[], methodFor: (r: RunRecord) => string = methodOf, logger?: Logger): Promise<RunRows[]> {
  const out: RunRows[] = [];
  for (const run of runs) {
    const buf = await source.readArtifact(run.runId, 'predictions.jsonl');
    if (!buf) {
      logger?.warn(`run ${run.name} (${run.runId}) has no predictions.jsonl artifact: left out of the comparison`);
      continue;
    }
    const rows = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Row);
    if (rows.length === 0) continue;
    const task = 'horizonsHours' in rows[0] ? 'macroscopic' : 'microscopic';
    if (task === 'microscopic' && !('hitMass' in rows[0])) {
      logger?.warn(`run ${run.name} (${run.runId}) predates the per-cascade counts (hitMass): left out of the comparison; rerun it`);
      continue;
    }
    out.push({ run, method: methodFor(run), dataset: run.params['dataset.name'] ?? run.params['dataset.path'] ?? '?', seed: Number(run.params.seed ?? 0), task, rows, protocol: protocolOf(run, rows) });
  }
  return out;
}

// ---------------------------------------------------------------- metrics on rows

const mean = (xs: readonly number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;

/** A metric of one run's rows (a subset or resample of them). */
export interface RowMetric {
  key: string;
  label: string;
  horizonIndex?: number;
  of(rows: readonly Row[]): number;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : v === null ? NaN : Number(v));

function microF1Of(rows: readonly Row[], hit: string, predicted: string, truth: string): number {
  let h = 0;
  let p = 0;
  let g = 0;
  for (const r of rows) {
    h += num(r[hit]);
    p += num(r[predicted]);
    g += num(r[truth]);
  }
  const pre = p > 0 ? h / p : 0;
  const rec = h / g;
  return pre + rec > 0 ? (2 * pre * rec) / (pre + rec) : 0;
}

export const MICRO_METRICS: RowMetric[] = [
  { key: 'test.macroF1', label: 'Macro-F1', of: (rows) => mean(rows.map((r) => num(r.f1))) },
  { key: 'test.microF1', label: 'Micro-F1', of: (rows) => microF1Of(rows, 'hitMass', 'predictedMass', 'truthSize') },
  { key: 'test.earlyMacroF1', label: 'early Macro-F1', of: (rows) => mean(rows.map((r) => num(r.earlyF1))) },
  { key: 'test.earlyMicroF1', label: 'early Micro-F1', of: (rows) => microF1Of(rows, 'earlyHitMass', 'earlyPredictedMass', 'earlyTruthSize') },
];

/**
 * Actual and predicted sizes at `hours` (NaN where a row has no such horizon). Looked up by the
 * hours in each row's own `horizonsHours`: datasets of one report have different horizon lists
 * (deepcas-test-net 24 and 48 h, weibo-sample 12, 18 and 24 h), so a position in the union of
 * every run's horizons is not a position in a row's arrays.
 */
function horizonValues(rows: readonly Row[], hours: number): { y: Float64Array; yHat: Float64Array } {
  const at = (r: Row, field: 'actual' | 'predicted') => {
    const i = (r.horizonsHours as number[]).indexOf(hours);
    return i < 0 ? NaN : num((r[field] as unknown[])[i]);
  };
  return { y: Float64Array.from(rows, (r) => at(r, 'actual')), yHat: Float64Array.from(rows, (r) => at(r, 'predicted')) };
}

/** MAPE (finite predictions, the protocol's `test.h<hours>.mape`), tau-b and rho at each horizon. */
export function macroMetrics(horizonsHours: readonly number[]): RowMetric[] {
  return horizonsHours.flatMap((hours, h) => {
    const seg = `h${String(hours).replace('.', 'p')}`;
    const known = (rows: readonly Row[]) => {
      const { y, yHat } = horizonValues(rows, hours);
      const keep: number[] = [];
      for (let i = 0; i < y.length; i++) if (!Number.isNaN(y[i]) && !Number.isNaN(yHat[i])) keep.push(i);
      return { y: keep.map((i) => y[i]), yHat: keep.map((i) => yHat[i]) };
    };
    return [
      { key: `test.${seg}.mape`, label: `MAPE ${hours} h`, horizonIndex: h, of: (rows) => { const v = horizonValues(rows, hours); return sizePredictionMetrics(v.y, v.yHat).mape; } },
      { key: `test.${seg}.kendallTau`, label: `Kendall tau ${hours} h`, horizonIndex: h, of: (rows) => { const k = known(rows); return k.y.length >= 2 ? kendallTau(k.y, k.yHat) : NaN; } },
      { key: `test.${seg}.spearmanRho`, label: `Spearman rho ${hours} h`, horizonIndex: h, of: (rows) => { const k = known(rows); return k.y.length >= 2 ? spearmanRho(k.y, k.yHat) : NaN; } },
    ];
  });
}

// ---------------------------------------------------------------- statistics per (dataset, method)

export interface Cell {
  dataset: string;
  method: string;
  metric: string;
  /** Mean over seeds. */
  mean: number;
  std: number;
  seeds: number;
  ciLow: number;
  ciHigh: number;
  /** Paired test against the best method of the row (undefined for the best itself, or when unpaired). */
  pVsBest?: number;
  best: boolean;
  paper?: number;
}

/**
 * One method's runs on one dataset as strata of paired items. When every seed evaluated the same
 * test cascades (a fixed split: the NDM datasets), one stratum whose item c holds cascade c's row of
 * each seed, so a resample draws cascades jointly for all seeds. When the split depends on the seed
 * (a random split: the macroscopic datasets), one stratum per seed with its own cascades, resampled
 * within the seed. The statistic is the metric of each seed's rows, averaged over seeds.
 */
interface Group {
  dataset: string;
  method: string;
  runs: RunRows[];
  shared: boolean;
  strata: Row[][][];
  /** Which cascades (and seeds) the items are: two groups pair item by item when equal. */
  pairKey: string;
}

const settingsOf = (protocol: string): string => JSON.stringify((JSON.parse(protocol) as { params: string[] }).params);
const idsOf = (r: RunRows): string => r.rows.map((row) => String(row.id)).join('\u0000');

function groupRuns(all: RunRows[], logger?: Logger): Group[] {
  const groups = new Map<string, RunRows[]>();
  for (const r of all) {
    const k = `${r.dataset}\u0000${r.method}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: Group[] = [];
  for (const runs of groups.values()) {
    runs.sort((a, b) => a.seed - b.seed);
    const first = runs[0];
    const same = runs.filter((r) => settingsOf(r.protocol) === settingsOf(first.protocol));
    if (same.length < runs.length) logger?.warn(`${first.method} on ${first.dataset}: ${runs.length - same.length} run(s) with other dataset or evaluation settings than seed ${first.seed}'s left out (${protocolDifference(first.protocol, runs.find((r) => settingsOf(r.protocol) !== settingsOf(first.protocol))!.protocol)})`);
    const shared = same.every((r) => idsOf(r) === idsOf(first));
    const strata = shared ? [first.rows.map((_, c) => same.map((r) => r.rows[c]))] : same.map((r) => r.rows.map((row) => [row]));
    const pairKey = shared ? `shared\u0001${idsOf(first)}` : same.map((r) => `${r.seed}\u0001${idsOf(r)}`).join('\u0002');
    out.push({ dataset: first.dataset, method: first.method, runs: same, shared, strata, pairKey });
  }
  return out;
}

/** The statistic on strata of items: the metric of each seed's rows, averaged over all seeds. */
const seedMean = (metric: RowMetric) => (strata: readonly (readonly Row[][])[]): number => {
  let sum = 0;
  let n = 0;
  for (const items of strata) {
    const k = items[0]?.length ?? 0;
    for (let j = 0; j < k; j++) {
      sum += metric.of(items.map((it) => it[j]));
      n++;
    }
  }
  return sum / n;
};

/** Percentile bootstrap over the items of each stratum (resampled within it). */
function stratifiedInterval(strata: readonly Row[][][], statistic: (s: readonly Row[][][]) => number, rng: Rng, resamples: number): { low: number; high: number } {
  const distribution = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    const sample = strata.map((items) => {
      const n = items.length;
      const out: Row[][] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = items[rng.int(n)];
      return out;
    });
    distribution[b] = statistic(sample);
  }
  const finite = distribution.filter((v) => !Number.isNaN(v));
  return finite.length ? intervalFromDistribution(finite, 0.95) : { low: NaN, high: NaN };
}

interface FlatItem {
  stratum: number;
  rows: Row[];
}

const flatten = (strata: readonly Row[][][], k?: number): FlatItem[] => strata.flatMap((items, stratum) => items.map((rows) => ({ stratum, rows: k === undefined ? rows : rows.slice(0, k) })));
const unflatten = (items: readonly FlatItem[]): Row[][][] => {
  const strata: Row[][][] = [];
  for (const it of items) (strata[it.stratum] ??= []).push(it.rows);
  return strata;
};

export interface ComparisonOptions {
  ciSeed?: number;
  resamples?: number;
  permutations?: number;
  paperTables?: string;
  /** Method the improvement column is about (default ndm when present). */
  ours?: string;
  order?: string[];
  logger?: Logger;
}

export interface ComparisonResult {
  task: 'microscopic' | 'macroscopic';
  datasets: string[];
  methods: string[];
  metrics: RowMetric[];
  cells: Cell[];
  /** F1 against simulations (microscopic): dataset, method, simulations, metric -> mean over seeds. */
  simulationCurve: { dataset: string; method: string; simulations: number; metric: string; value: number }[];
  notes: string[];
}

function readPaper(file: string | undefined): Record<string, Record<string, Record<string, number | null>>> {
  const path = file ?? DEFAULT_PAPER_TABLES;
  if (!existsSync(path)) return {};
  const t = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, Record<string, Record<string, number | null>>>>;
  // metric key -> dataset -> model
  return {
    'test.macroF1': t.table2_full?.macroF1 ?? {},
    'test.microF1': t.table2_full?.microF1 ?? {},
    'test.earlyMacroF1': t.table3_early_first5?.macroF1 ?? {},
    'test.earlyMicroF1': t.table3_early_first5?.microF1 ?? {},
  };
}

/** Observed-size baseline rows (predict no growth) from any run's rows on the dataset. */
function observedSizeRun(from: RunRows): RunRows {
  const rows = from.rows.map((r) => ({ ...r, predicted: (r.actual as unknown[]).map(() => num(r.observedSize)) }));
  return { ...from, method: 'observed-size', rows };
}

export function compareRuns(all: RunRows[], options: ComparisonOptions = {}): ComparisonResult {
  if (all.length === 0) throw new CascadeError('USAGE', 'no runs with per-cascade rows to compare');
  const tasks = new Set(all.map((r) => r.task));
  if (tasks.size > 1) throw new CascadeError('USAGE', 'the runs mix microscopic and macroscopic tasks; compare each task on its own');
  const task = all[0].task;
  const notes: string[] = [];
  let runs = all;
  if (task === 'macroscopic') {
    const extra: RunRows[] = [];
    for (const d of new Set(all.map((r) => r.dataset))) {
      if (all.some((r) => r.dataset === d && r.method === 'observed-size')) continue;
      // one per seed of a model on this dataset: the same cascades as that seed, so it pairs with every model
      const first = all.find((r) => r.dataset === d)!;
      extra.push(...all.filter((r) => r.dataset === d && r.method === first.method).map(observedSizeRun));
    }
    runs = [...all, ...extra];
    notes.push('observed-size: predicts the size at the end of the observation window at every horizon (no growth); computed from the rows, no parameters.');
  }
  const groups = groupRuns(runs, options.logger);
  const datasets = [...new Set(groups.map((g) => g.dataset))];
  // the papers' column order unless told otherwise (NDM Table 2; GammaCas Table 2 with the plain baseline first)
  const order = options.order?.length ? options.order : DEFAULT_ORDER[task];
  const methods = [...new Set(groups.map((g) => g.method))].sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || a.localeCompare(b);
  });
  let metrics: RowMetric[];
  if (task === 'microscopic') metrics = MICRO_METRICS;
  else {
    const horizons = [...new Set(runs.flatMap((r) => (r.rows[0].horizonsHours as number[]) ?? []))].sort((a, b) => a - b);
    metrics = macroMetrics(horizons);
  }
  const paper = task === 'microscopic' ? readPaper(options.paperTables) : {};
  const resamples = options.resamples ?? 1000;
  const root = Rng.fromSeed(options.ciSeed ?? 1);
  const cells: Cell[] = [];
  for (const dataset of datasets) {
    const inDataset = groups.filter((g) => g.dataset === dataset);
    for (const metric of metrics) {
      // horizon metrics only for groups that have the horizon
      const usable = inDataset.filter((g) => metric.horizonIndex === undefined || sameHorizonIndex(g, metric));
      const stat = seedMean(metric);
      const made = usable.map((g) => {
        const perSeed = g.runs.map((r) => metric.of(r.rows));
        const spread = seedSpread(perSeed);
        const ci = stratifiedInterval(g.strata, stat, root.derive(`ci:${dataset}:${g.method}:${metric.key}`), resamples);
        const paperValue = paper[metric.key]?.[dataset]?.[g.method];
        return { g, cell: { dataset, method: g.method, metric: metric.key, mean: spread.mean, std: spread.std, seeds: spread.n, ciLow: ci.low, ciHigh: ci.high, best: false, paper: paperValue ?? undefined } as Cell };
      });
      const direction = metricDirection(metric.key);
      const finite = made.filter((m) => Number.isFinite(m.cell.mean));
      const best = finite.reduce<(typeof made)[number] | undefined>((b, m) => (!b || (direction ? isBetter(metric.key, m.cell.mean, b.cell.mean) : false) ? m : b), undefined);
      if (best) {
        best.cell.best = true;
        for (const m of made) {
          if (m === best) continue;
          if (m.g.pairKey !== best.g.pairKey) continue;
          // the same number of seeds on both sides of a shared split, so that a swapped cascade carries as many rows
          const k = best.g.shared ? Math.min(best.g.runs.length, m.g.runs.length) : undefined;
          const test = pairedPermutationTest(flatten(best.g.strata, k), flatten(m.g.strata, k), (x, y) => stat(unflatten(x)) - stat(unflatten(y)), {
            rng: root.derive(`test:${dataset}:${m.g.method}:${metric.key}`),
            resamples: options.permutations ?? 10_000,
          });
          m.cell.pVsBest = test.pValue;
        }
      }
      cells.push(...made.map((m) => m.cell));
    }
  }
  const simulationCurve: ComparisonResult['simulationCurve'] = [];
  if (task === 'microscopic') {
    for (const g of groups) {
      const kept = Math.min(...g.runs.flatMap((r) => r.rows.map((row) => ((row.perSimulation as { added?: unknown[] } | undefined)?.added?.length ?? 0))));
      const counts = SIMULATION_COUNTS.filter((m) => m <= kept);
      if (kept > 0 && !counts.includes(kept)) counts.push(kept);
      if (!counts.length) continue;
      const perSeed = g.runs.map((r) => simulationCountCurve(r.rows as unknown as PerSimulationCounts[], counts));
      counts.forEach((m, i) => {
        for (const key of ['macroF1', 'microF1', 'earlyMacroF1', 'earlyMicroF1'] as const)
          simulationCurve.push({ dataset: g.dataset, method: g.method, simulations: m, metric: `test.${key}`, value: mean(perSeed.map((p) => p[i][key])) });
      });
    }
  }
  return { task, datasets, methods, metrics, cells, simulationCurve, notes };
}

/** Whether the group's runs predicted the metric's horizon (by hours, wherever it is in their list). */
function sameHorizonIndex(g: Group, metric: RowMetric): boolean {
  const hours = Number(metric.key.split('.')[1].slice(1).replace('p', '.'));
  return (g.runs[0].rows[0].horizonsHours as number[]).includes(hours);
}

// ---------------------------------------------------------------- rendering

const f = (v: number | undefined, d = 3): string => (v === undefined || Number.isNaN(v) ? '-' : Number.isFinite(v) ? v.toFixed(d) : String(v));
const pText = (p: number | undefined): string => (p === undefined ? '' : p < 0.001 ? 'p<0.001' : `p=${p.toFixed(3)}`);

function cellText(c: Cell | undefined, digits: number): string {
  if (!c) return '';
  const spread = c.seeds > 1 ? ` ± ${f(c.std, digits)}` : '';
  const bold = c.best ? '**' : '';
  const p = pText(c.pVsBest);
  return `${bold}${f(c.mean, digits)}${bold}${spread} [${f(c.ciLow, digits)}, ${f(c.ciHigh, digits)}]${p ? ` ${p}` : ''}${c.paper !== undefined ? ` (paper ${f(c.paper, 3)})` : ''}`;
}

/** Order of methods by a row's values, best first (ties keep the order given). */
function rankOrder(values: [string, number][], key: string): string[] {
  return values
    .filter(([, v]) => Number.isFinite(v))
    .sort((a, b) => (isBetter(key, a[1], b[1]) ? -1 : isBetter(key, b[1], a[1]) ? 1 : 0))
    .map(([m]) => m);
}

export function renderComparisonMarkdown(result: ComparisonResult, title: string, options: { ours?: string; digits?: number; notes?: string[] } = {}): string {
  const digits = options.digits ?? 3;
  const ours = options.ours ?? (result.methods.includes('ndm') ? 'ndm' : undefined);
  const out: string[] = [`# ${title}`, ''];
  out.push(
    'Each cell: mean over seeds ± std (ddof 1) [95% percentile bootstrap interval over test cascades, 1000 resamples] and the p-value of a paired sign-flip permutation test against the row\'s best model (**bold**) on the same cascades' +
      (result.cells.some((c) => c.paper !== undefined) ? '; (paper X): the NDM paper\'s Table 2/3 value.' : '.'),
    '',
  );
  const cell = (d: string, m: string, k: string) => result.cells.find((c) => c.dataset === d && c.method === m && c.metric === k);
  for (const metric of result.task === 'microscopic' ? result.metrics : groupByKind(result.metrics)) {
    const keys = Array.isArray(metric) ? metric : [metric];
    const heading = Array.isArray(metric) ? metric[0].label.replace(/ [\d.]+ h$/, '') : metric.label;
    out.push(`## ${heading}`, '');
    const improvement = result.task === 'microscopic' && ours && result.methods.includes(ours);
    const header = [result.task === 'microscopic' ? 'dataset' : 'dataset @ horizon', ...result.methods, ...(improvement ? [`${ours} vs best baseline`, 'paper', 'order'] : [])];
    out.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
    for (const d of result.datasets)
      for (const m of keys) {
        const rowCells = result.methods.map((meth) => cell(d, meth, m.key));
        if (rowCells.every((c) => !c || Number.isNaN(c.mean))) continue; // e.g. a horizon past the data
        const label = result.task === 'microscopic' ? d : `${d} @ ${m.label.split(' ').slice(-2).join(' ')}`;
        const line = [label, ...rowCells.map((c) => cellText(c, digits))];
        if (improvement) {
          const imp = improvementOf(result, d, m.key, ours!, (c) => c.mean);
          const impPaper = improvementOf(result, d, m.key, ours!, (c) => c.paper ?? NaN);
          const withPaper = rowCells.filter((c): c is Cell => !!c && c.paper !== undefined);
          const oursOrder = rankOrder(withPaper.map((c) => [c.method, c.mean]), m.key);
          const paperOrder = rankOrder(withPaper.map((c) => [c.method, c.paper!]), m.key);
          const differs = oursOrder.join('>') !== paperOrder.join('>');
          line.push(imp, impPaper, withPaper.length < 2 ? '' : differs ? `≠ ours ${oursOrder.join(' > ')}; paper ${paperOrder.join(' > ')}` : 'same');
        }
        out.push(`| ${line.join(' | ')} |`);
      }
    out.push('');
  }
  if (result.simulationCurve.length) {
    const counts = [...new Set(result.simulationCurve.map((p) => p.simulations))].sort((a, b) => a - b);
    out.push('## F1 against the number of simulations', '', 'Macro-F1 (mean over seeds) from the first m simulations of the largest evaluation (its per-simulation counts; no re-simulation).', '');
    out.push(`| dataset | model | ${counts.map((c) => `m=${c}`).join(' | ')} |`, `|---|---|${counts.map(() => '---').join('|')}|`);
    for (const d of result.datasets)
      for (const meth of result.methods) {
        const pts = counts.map((c) => result.simulationCurve.find((p) => p.dataset === d && p.method === meth && p.simulations === c && p.metric === 'test.macroF1'));
        if (pts.every((p) => !p)) continue;
        out.push(`| ${d} | ${meth} | ${pts.map((p) => f(p?.value, 4)).join(' | ')} |`);
      }
    out.push('');
  }
  const notes = [...result.notes, ...(options.notes ?? [])];
  if (notes.length) out.push(...notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

function groupByKind(metrics: RowMetric[]): RowMetric[][] {
  const kinds = new Map<string, RowMetric[]>();
  for (const m of metrics) {
    const kind = m.key.split('.').pop()!;
    kinds.set(kind, [...(kinds.get(kind) ?? []), m]);
  }
  return [...kinds.values()];
}

/** Relative improvement (%) of `ours` over the best other method, by `value` (ours or the paper's). */
function improvementOf(result: ComparisonResult, dataset: string, key: string, ours: string, value: (c: Cell) => number): string {
  const row = result.cells.filter((c) => c.dataset === dataset && c.metric === key && Number.isFinite(value(c)));
  const mine = row.find((c) => c.method === ours);
  const others = row.filter((c) => c.method !== ours);
  if (!mine || !others.length) return '-';
  const best = others.reduce((b, c) => (isBetter(key, value(c), value(b)) ? c : b));
  const higher = metricDirection(key) === 'higher';
  const gain = ((higher ? value(mine) - value(best) : value(best) - value(mine)) / Math.abs(value(best))) * 100;
  return `${gain >= 0 ? '+' : ''}${gain.toFixed(1)}% (vs ${best.method})`;
}

export function renderComparisonCsv(result: ComparisonResult): string {
  const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = ['dataset,method,metric,mean,std,seeds,ciLow,ciHigh,best,pVsBest,paper'];
  for (const c of result.cells) lines.push([c.dataset, c.method, c.metric, c.mean, c.std, c.seeds, c.ciLow, c.ciHigh, c.best, c.pVsBest ?? '', c.paper ?? ''].map((v) => esc(String(v))).join(','));
  return lines.join('\n') + '\n';
}

export function renderSimulationCurveCsv(result: ComparisonResult): string {
  return ['dataset,method,metric,simulations,value', ...result.simulationCurve.map((p) => [p.dataset, p.method, p.metric, p.simulations, p.value].join(','))].join('\n') + '\n';
}

/** Error (or correlation) against horizon, one line per model with its bootstrap interval, a panel per dataset. */
export function horizonPlotSpec(result: ComparisonResult, kind: 'mape' | 'kendallTau' | 'spearmanRho'): VegaLiteSpec {
  const values = result.cells
    .filter((c) => c.metric.endsWith(`.${kind}`) && Number.isFinite(c.mean))
    .map((c) => ({ dataset: c.dataset, model: c.method, hours: Number(c.metric.split('.')[1].slice(1).replace('p', '.')), mean: c.mean, low: Number.isFinite(c.ciLow) ? c.ciLow : c.mean, high: Number.isFinite(c.ciHigh) ? c.ciHigh : c.mean }));
  const title = { mape: 'MAPE', kendallTau: "Kendall's tau", spearmanRho: "Spearman's rho" }[kind];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${title} against the prediction horizon (mean over seeds, 95% bootstrap interval)`,
    data: { values },
    facet: { field: 'dataset', type: 'nominal', title: null },
    columns: 3,
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 300,
      height: 220,
      encoding: {
        x: { field: 'hours', type: 'quantitative', title: 'horizon (hours)', scale: { type: 'log', nice: false }, axis: { values: [...new Set(values.map((v) => v.hours))] } },
        color: { field: 'model', type: 'nominal', legend: { orient: 'bottom' }, sort: result.methods },
      },
      layer: [
        { mark: { type: 'line', point: true }, encoding: { y: { field: 'mean', type: 'quantitative', title, scale: kind === 'mape' ? { type: 'log' } : { zero: false } } } },
        { mark: { type: 'errorbar', ticks: true }, encoding: { y: { field: 'low', type: 'quantitative', title }, y2: { field: 'high' } } },
      ],
    },
  };
}

export function simulationPlotSpec(result: ComparisonResult): VegaLiteSpec {
  const values = result.simulationCurve.map((p) => ({ ...p, metric: p.metric.replace('test.', '') }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'F1 against the number of simulations (prefixes of one evaluation, mean over seeds)',
    data: { values },
    facet: { row: { field: 'dataset', type: 'nominal', title: null }, column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 200,
      height: 160,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'simulations', type: 'quantitative', scale: { type: 'log', nice: false }, axis: { values: [...new Set(result.simulationCurve.map((p) => p.simulations))] }, title: 'simulations' },
        y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: 'F1' },
        color: { field: 'method', type: 'nominal', title: 'model', legend: { orient: 'bottom' }, sort: result.methods },
      },
    },
  };
}

/** A bar chart of each metric per model with intervals (the microscopic table as a figure). */
export function microPlotSpec(result: ComparisonResult): VegaLiteSpec {
  const values = result.cells.map((c) => ({ dataset: c.dataset, model: c.method, metric: c.metric.replace('test.', ''), mean: c.mean, low: c.ciLow, high: c.ciHigh }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'F1 per model (mean over seeds, 95% bootstrap interval over test cascades)',
    data: { values },
    facet: { row: { field: 'dataset', type: 'nominal', title: null }, column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 160,
      height: 150,
      encoding: { x: { field: 'model', type: 'nominal', title: null, sort: result.methods } },
      // Colour on the bars only: a shared colour encoding would override the interval's black and
      // hide its lower half inside the bar.
      layer: [
        { mark: 'bar', encoding: { y: { field: 'mean', type: 'quantitative', title: 'F1' }, color: { field: 'model', type: 'nominal', legend: null, sort: result.methods } } },
        { mark: { type: 'errorbar', ticks: true, color: 'black' }, encoding: { y: { field: 'low', type: 'quantitative', title: 'F1' }, y2: { field: 'high' } } },
      ],
    },
  };
}

export interface WrittenComparison {
  markdown: string;
  files: string[];
}

/** comparison.md, comparison.csv, simulations.csv and plots/*.png into `outDir`. */
export async function writeComparison(result: ComparisonResult, title: string, outDir: string, options: { ours?: string; digits?: number; notes?: string[] } = {}): Promise<WrittenComparison> {
  const out = resolve(outDir);
  mkdirSync(join(out, 'plots'), { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    const file = join(out, name);
    writeFileSync(file, data);
    files.push(file);
  };
  const markdown = renderComparisonMarkdown(result, title, options);
  write('comparison.md', markdown);
  write('comparison.csv', renderComparisonCsv(result));
  if (result.task === 'microscopic') {
    write('plots/f1-by-model.png', await renderPng(microPlotSpec(result)));
    if (result.simulationCurve.length) {
      write('simulations.csv', renderSimulationCurveCsv(result));
      write('plots/f1-against-simulations.png', await renderPng(simulationPlotSpec(result)));
    }
  } else {
    for (const kind of ['mape', 'kendallTau', 'spearmanRho'] as const) write(`plots/${kind}-against-horizon.png`, await renderPng(horizonPlotSpec(result, kind)));
  }
  return { markdown, files };
}
