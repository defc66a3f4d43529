import { CascadeError } from '@cascade-lab/core';
import { canonicalMetricKey, METRIC_CATALOGUE, type MetricCatalogue, type MetricDirection } from '@cascade-lab/metrics';
import { digitsFromSpread } from './digits.js';
import { SWEEP_TAGS, type RunRecord } from './runs.js';

/** How runs are grouped into the table's methods (rows of the default layout, columns of the paper's). */
export type GroupBy = 'auto' | 'trial' | 'model' | 'run';

/**
 * `rows`: one row per method (per dataset when there are several), one column per metric.
 * `paper`: the NDM paper's Table 2: rows are metric x dataset, columns the methods, then the
 * relative improvement of `ours` over the best baseline.
 */
export type Layout = 'rows' | 'paper';

export interface TableOptions {
  /** Metric keys or glob patterns (`test.h*.mape`); default: the task's headline metrics. */
  metrics?: string[];
  layout?: Layout;
  by?: GroupBy;
  /** The method whose improvement over the best baseline is reported. */
  ours?: string;
  /** Methods that count as baselines (default: every method but `ours`). */
  baselines?: string[];
  /** Method order (others follow in order of first appearance; `ours` last when not listed). */
  order?: string[];
  /** Display names of methods (`ndm=NDM`). */
  labels?: Record<string, string>;
  /** Decimals of means and standard deviations (default 3, as in the NDM paper). */
  digits?: number;
  /** Directions and labels (default: the project's catalogue; `cascade report` adds every registered plugin's declared keys). */
  catalogue?: MetricCatalogue;
}

/** Mean and sample standard deviation (n - 1 in the denominator) of one metric over seeds. */
export interface Cell {
  mean: number;
  /** Undefined for a single value. */
  std?: number;
  n: number;
  values: number[];
}

export interface ReportTable {
  layout: Layout;
  methods: string[];
  datasets: string[];
  metrics: string[];
  /** `cells.get(key(method, dataset, metric))`. */
  cells: Map<string, Cell>;
  /** Relative improvement of `ours` over the best baseline per dataset and metric (`key('', d, m)`). */
  improvements: Map<string, number>;
  ours?: string;
  baselines: string[];
  /** Best method of each dataset and metric (`key('', d, m)`); ties keep every winner. */
  best: Map<string, string[]>;
  labels: Record<string, string>;
  digits: number;
  /** Runs used, per method and dataset. */
  runs: Map<string, RunRecord[]>;
  warnings: string[];
  /** Where directions and labels come from. */
  catalogue: MetricCatalogue;
}

export const key = (method: string, dataset: string, metric: string): string => `${method}\u0000${dataset}\u0000${metric}`;

/**
 * Which way is better for a metric, from the metric catalogue (`@cascade-lab/metrics`); undefined
 * for a key the catalogue does not know (a plugin's own key): the report then marks no best method
 * and no improvement for it, and says so, rather than guess.
 */
export function metricDirectionOf(metric: string, catalogue: MetricCatalogue = METRIC_CATALOGUE): MetricDirection | undefined {
  return catalogue.lookup(canonicalMetricKey(metric))?.direction;
}

/** True for metrics where smaller is better (errors, losses, durations), by the catalogue. */
export function lowerIsBetter(metric: string, catalogue: MetricCatalogue = METRIC_CATALOGUE): boolean {
  return metricDirectionOf(metric, catalogue) === 'lower';
}

/** Readable metric names, in the papers' words (the catalogue's labels; the key without `test.` when unknown). */
export function metricLabel(metric: string, catalogue: MetricCatalogue = METRIC_CATALOGUE): string {
  return catalogue.lookup(canonicalMetricKey(metric))?.label ?? metric.replace(/^test\./, '');
}

/**
 * A run's metrics under today's keys: keys logged before the key style (`test.hits_at_10`,
 * `test.mape_by_horizon`, `train_loss`, ...) are read under their new names (`test.hitsAt10`, ...),
 * so that `cascade report` puts old and new runs in one table. A run that has both keeps the new.
 */
export function canonicalMetrics(metrics: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) {
    const c = canonicalMetricKey(k);
    if (c === k || !(c in metrics)) out[c] = v;
  }
  return out;
}

export function datasetLabel(name: string): string {
  return name.length ? name[0].toUpperCase() + name.slice(1) : name;
}

/** Sample mean and standard deviation (ddof = 1, as numpy.std(x, ddof=1)). */
export function summarize(values: number[]): Cell {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, n, values };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(variance), n, values };
}

/** (ours - best baseline) / |best baseline|, sign flipped for lower-is-better metrics. */
export function relativeImprovement(ours: number, bestBaseline: number, lowerBetter: boolean): number {
  const gain = lowerBetter ? bestBaseline - ours : ours - bestBaseline;
  return gain / Math.abs(bestBaseline);
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^]*')}$`);
}

/** The method a run belongs to. */
export function methodOf(run: RunRecord, by: Exclude<GroupBy, 'auto'>): string {
  if (by === 'trial') return run.tags[SWEEP_TAGS.trialLabel] ?? run.tags['cascade.model'] ?? run.params['model.name'] ?? run.name;
  if (by === 'model') return run.tags['cascade.model'] ?? run.params['model.name'] ?? run.name;
  return run.name;
}

function datasetOf(run: RunRecord): string {
  return run.tags['cascade.dataset'] ?? run.params['dataset.name'] ?? '';
}

/** Headline metrics of the runs' task when none are asked for. */
export function defaultMetrics(runs: RunRecord[]): string[] {
  const present = new Set(runs.flatMap((r) => Object.keys(r.metrics)));
  const micro = ['test.macroF1', 'test.microF1', 'test.earlyMacroF1', 'test.earlyMicroF1'].filter((m) => present.has(m));
  if (micro.length) return micro;
  const horizons = [...new Set([...present].map((k) => /^test\.h([0-9p]+)\.mape$/.exec(k)?.[1]).filter((h): h is string => h !== undefined))].sort((a, b) => hoursOf(a) - hoursOf(b));
  return horizons.flatMap((h) => ['mape', 'kendallTau', 'spearmanRho'].map((m) => `test.h${h}.${m}`)).filter((k) => present.has(k));
}

/** Params that legitimately differ between the seeds of one method. */
const PER_RUN_PARAM = /^(seed|name|description|tracking\..*)$/;

/**
 * Groups FINISHED runs by method and dataset and computes mean ± std over seeds, the best method per
 * dataset and metric, and the relative improvement of `ours` over the best baseline.
 */
export function buildTable(runs: RunRecord[], options: TableOptions = {}): ReportTable {
  const warnings: string[] = [];
  const catalogue = options.catalogue ?? METRIC_CATALOGUE;
  const finished = runs.filter((r) => r.status === 'FINISHED').map((r) => ({ ...r, metrics: canonicalMetrics(r.metrics) }));
  if (finished.length === 0) throw new CascadeError('USAGE', 'no FINISHED runs to report on', { hint: 'check the experiment name, the parent run id or the sweep name' });
  const by: Exclude<GroupBy, 'auto'> = options.by && options.by !== 'auto' ? options.by : finished.some((r) => r.tags[SWEEP_TAGS.trialLabel]) ? 'trial' : 'model';

  // One run per resolved config: a config run twice (e.g. outside a sweep) counts once, the latest.
  const byConfig = new Map<string, RunRecord>();
  for (const r of [...finished].sort((a, b) => a.startTime - b.startTime)) byConfig.set(r.tags['cascade.configHash'] ?? r.runId, r);
  // Sweep trials keep the sweep file's order (they finish in any order); other runs their start order.
  const trialIndex = (r: RunRecord) => Number(r.tags[SWEEP_TAGS.trialIndex] ?? Number.POSITIVE_INFINITY);
  const unique = [...byConfig.values()].sort((a, b) => trialIndex(a) - trialIndex(b) || a.startTime - b.startTime);
  if (unique.length < finished.length) warnings.push(`${finished.length - unique.length} run(s) repeat the config of a later run and were left out`);

  const available = new Set(unique.flatMap((r) => Object.keys(r.metrics)));
  const requested = options.metrics?.length ? options.metrics : defaultMetrics(unique);
  const metrics: string[] = [];
  for (const pattern of requested.map(canonicalMetricKey)) {
    const re = globToRegExp(pattern);
    const matched = [...available].filter((m) => re.test(m)).sort(horizonAware);
    if (matched.length === 0) warnings.push(`no run has a metric matching ${pattern}`);
    for (const m of matched) if (!metrics.includes(m)) metrics.push(m);
  }
  if (metrics.length === 0) throw new CascadeError('USAGE', `none of the metrics ${requested.join(', ')} is in the runs`, { hint: `metrics found: ${[...available].sort().join(', ')}` });

  const groups = new Map<string, RunRecord[]>();
  const methodsSeen: string[] = [];
  const datasetsSeen: string[] = [];
  for (const r of unique) {
    const m = methodOf(r, by);
    const d = datasetOf(r);
    if (!methodsSeen.includes(m)) methodsSeen.push(m);
    if (!datasetsSeen.includes(d)) datasetsSeen.push(d);
    const k = key(m, d, '');
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  for (const [k, group] of groups) {
    const differing = differingParams(group);
    if (differing.length) warnings.push(`${k.split('\u0000')[0]} on ${k.split('\u0000')[1]}: its runs differ in more than the seed (${differing.slice(0, 5).join(', ')}); group with --by run or narrow the selection`);
  }

  const ours = options.ours;
  if (ours !== undefined && !methodsSeen.includes(ours)) throw new CascadeError('USAGE', `--ours ${ours}: no such method among ${methodsSeen.join(', ')}`);
  const order = options.order ?? [];
  for (const o of order) if (!methodsSeen.includes(o)) warnings.push(`--order names ${o}, which has no runs`);
  const rest = methodsSeen.filter((m) => !order.includes(m) && m !== ours);
  const methods = [...order.filter((m) => methodsSeen.includes(m)), ...rest, ...(ours !== undefined && !order.includes(ours) ? [ours] : [])];
  const baselines = (options.baselines ?? methods.filter((m) => m !== ours)).filter((m) => m !== ours);
  for (const b of baselines) if (!methodsSeen.includes(b)) throw new CascadeError('USAGE', `--baselines names ${b}, which has no runs (methods: ${methodsSeen.join(', ')})`);
  const datasets = datasetsSeen;

  const cells = new Map<string, Cell>();
  for (const [k, group] of groups) {
    const [m, d] = k.split('\u0000');
    for (const metric of metrics) {
      const values = group.map((r) => r.metrics[metric]).filter((v): v is number => v !== undefined && !Number.isNaN(v));
      if (values.length) cells.set(key(m, d, metric), summarize(values));
    }
  }
  const best = new Map<string, string[]>();
  const improvements = new Map<string, number>();
  for (const d of datasets)
    for (const metric of metrics) {
      const direction = metricDirectionOf(metric, catalogue);
      if (direction !== 'higher' && direction !== 'lower') continue;
      const lower = direction === 'lower';
      const scored = methods.map((m) => [m, cells.get(key(m, d, metric))?.mean] as const).filter((x): x is readonly [string, number] => x[1] !== undefined && Number.isFinite(x[1]));
      if (scored.length) {
        const top = lower ? Math.min(...scored.map((s) => s[1])) : Math.max(...scored.map((s) => s[1]));
        best.set(key('', d, metric), scored.filter((s) => s[1] === top).map((s) => s[0]));
      }
      if (ours !== undefined) {
        const own = cells.get(key(ours, d, metric))?.mean;
        const base = scored.filter(([m]) => baselines.includes(m)).map((s) => s[1]);
        if (own !== undefined && base.length) {
          const bestBase = lower ? Math.min(...base) : Math.max(...base);
          if (bestBase !== 0) improvements.set(key('', d, metric), relativeImprovement(own, bestBase, lower));
        }
      }
    }
  const undirected = metrics.filter((m) => metricDirectionOf(m, catalogue) === undefined);
  if (undirected.length) warnings.push(`the metric catalogue does not know ${undirected.join(', ')}: no best method or improvement marked for them`);
  const runsByGroup = new Map<string, RunRecord[]>();
  for (const [k, g] of groups) runsByGroup.set(k, g);
  // No --digits: enough decimals that each column's best differs in print from the runner-up.
  const digits = options.digits ?? digitsFromSpread(datasets.flatMap((d) => metrics.map((metric) => {
    const top = best.get(key('', d, metric)) ?? [];
    const mean = (m: string) => cells.get(key(m, d, metric))?.mean;
    return { best: top.map(mean).filter((v): v is number => v !== undefined), others: methods.filter((m) => !top.includes(m)).map(mean).filter((v): v is number => v !== undefined) };
  })));
  return { layout: options.layout ?? 'rows', methods, datasets, metrics, cells, improvements, ours, baselines, best, labels: options.labels ?? {}, digits, runs: runsByGroup, warnings, catalogue };
}

/** The hours of a horizon segment's number (`24`, `1p5` = 1.5). */
function hoursOf(segment: string): number {
  return Number(segment.replace('p', '.'));
}

/** Orders `test.h12.x` before `test.h120.x` by the horizon's number. */
function horizonAware(a: string, b: string): number {
  const ha = /^test\.h([0-9p]+)\./.exec(a);
  const hb = /^test\.h([0-9p]+)\./.exec(b);
  if (ha && hb && ha[1] !== hb[1]) return hoursOf(ha[1]) - hoursOf(hb[1]);
  return a.localeCompare(b);
}

function differingParams(group: RunRecord[]): string[] {
  if (group.length < 2) return [];
  const keys = new Set(group.flatMap((r) => Object.keys(r.params)));
  return [...keys].filter((k) => !PER_RUN_PARAM.test(k) && new Set(group.map((r) => r.params[k])).size > 1).sort();
}

export function methodLabel(table: ReportTable, method: string): string {
  return table.labels[method] ?? method;
}

export function formatNumber(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  return v.toFixed(digits);
}

/** `0.139 ± 0.004` (or `0.139` for one seed); `-` when the method has no value (as in the paper). */
export function formatCell(cell: Cell | undefined, digits: number): string {
  if (!cell) return '-';
  return cell.std === undefined ? formatNumber(cell.mean, digits) : `${formatNumber(cell.mean, digits)} ± ${formatNumber(cell.std, digits)}`;
}

/** `+87%`, as the NDM paper prints its improvement column. */
export function formatImprovement(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const pct = Math.round(v * 100);
  return `${pct >= 0 ? '+' : ''}${pct}%`;
}
