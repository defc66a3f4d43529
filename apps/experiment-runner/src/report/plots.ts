import type { VegaLiteSpec } from '../plots.js';
import { SWEEP_TAGS, type RunRecord } from './runs.js';
import type { MetricCatalogue } from '@cascade-lab/metrics';
import { canonicalMetrics, metricLabel, summarize } from './table.js';

/** One point of a sensitivity plot: a metric's mean ± std over seeds at one value of a parameter. */
export interface SensitivityPoint {
  value: string;
  /** Position of the value on the axis (numbers in numeric order, others in order of appearance). */
  order: number;
  metric: string;
  mean: number;
  low: number;
  high: number;
  n: number;
}

export interface SensitivitySeries {
  /** Dot path of the swept parameter. */
  parameter: string;
  /** The other swept parameters, held at these values (their most common ones: the base of a one-at-a-time study). */
  heldAt: Record<string, string>;
  points: SensitivityPoint[];
}

/** Swept dot paths of sweep trial runs (from their `cascade.trial.overrides` tags), in order of first appearance. */
export function sweptParameters(runs: RunRecord[]): string[] {
  const out: string[] = [];
  for (const r of runs) {
    const raw = r.tags[SWEEP_TAGS.trialOverrides];
    if (!raw) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const k of Object.keys(parsed)) if (!out.includes(k) && k !== 'seed') out.push(k);
  }
  return out;
}

function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0];
  for (const [v, c] of counts) if (c > counts.get(best)!) best = v;
  return best;
}

/**
 * For each swept parameter, its values on the x axis and each metric's mean ± std over the runs
 * that hold every other swept parameter at its most common value (the NDM paper's Figure 8:
 * vary one hyperparameter, keep the others at the base setting). The values come from the runs'
 * logged params, so the base trial contributes its (default) value too.
 */
export function sensitivitySeries(runs: RunRecord[], metrics: string[], catalogue?: MetricCatalogue): SensitivitySeries[] {
  // Metrics under today's keys, as the table reads them (runs logged before the key style included).
  const finished = runs.filter((r) => r.status === 'FINISHED').map((r) => ({ ...r, metrics: canonicalMetrics(r.metrics) }));
  const params = sweptParameters(finished).filter((p) => finished.every((r) => r.params[p] !== undefined));
  const series: SensitivitySeries[] = [];
  for (const p of params) {
    const others = params.filter((q) => q !== p);
    const heldAt = Object.fromEntries(others.map((q) => [q, mostCommon(finished.map((r) => r.params[q]))]));
    const slice = finished.filter((r) => others.every((q) => r.params[q] === heldAt[q]));
    const values = [...new Set(slice.map((r) => r.params[p]))];
    if (values.length < 2) continue;
    const numeric = values.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
    const ordered = numeric ? [...values].sort((a, b) => Number(a) - Number(b)) : values;
    const points: SensitivityPoint[] = [];
    for (const metric of metrics)
      ordered.forEach((value, order) => {
        const xs = slice.filter((r) => r.params[p] === value).map((r) => r.metrics[metric]).filter((v): v is number => v !== undefined && Number.isFinite(v));
        if (!xs.length) return;
        const c = summarize(xs);
        points.push({ value, order, metric: metricLabel(metric, catalogue), mean: c.mean, low: c.mean - (c.std ?? 0), high: c.mean + (c.std ?? 0), n: c.n });
      });
    if (points.length) series.push({ parameter: p, heldAt, points });
  }
  return series;
}

/** Vega-Lite: a metric-against-parameter panel with one line per metric and ±1 std error bars. */
export function sensitivitySpec(s: SensitivitySeries, title: string): VegaLiteSpec {
  // A point scale keeps the values evenly spaced (as the paper's Figure 8) with error-bar ticks of normal width.
  const x = { field: 'value', type: 'ordinal', sort: { field: 'order' }, scale: { type: 'point', padding: 0.5 }, title: s.parameter.split('.').pop(), axis: { labelAngle: 0 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 300,
    height: 200,
    data: { values: s.points },
    encoding: { x, color: { field: 'metric', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2 } } },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { y: { field: 'mean', type: 'quantitative', title: 'score', scale: { zero: false } } } },
      { mark: { type: 'errorbar', ticks: true }, encoding: { y: { field: 'low', type: 'quantitative', title: 'score' }, y2: { field: 'high' } } },
    ],
  };
}
