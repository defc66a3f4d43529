import type { TrialStatus } from './pool.js';

/** State of one trial in the sweep's table (the parent run's `trials.json` / `trials.md`). */
export interface TrialRow {
  index: number;
  label: string;
  seed: number;
  hash: string;
  /**
   * `pending` until it runs; `skipped` when an earlier FINISHED run of the same config exists;
   * `not run` when the sweep was stopped before the trial started (it has no run).
   */
  state: 'pending' | 'running' | 'skipped' | 'not run' | TrialStatus;
  runId?: string;
  /** Final metrics of the trial (or of the earlier run it reuses). */
  metrics?: Record<string, number>;
  error?: string;
  seconds?: number;
}

/** The metrics shown in tables: the task's headline numbers, in the papers' order, when present. */
export const HEADLINE_METRICS = ['test.macroF1', 'test.microF1', 'test.earlyMacroF1', 'test.earlyMicroF1'];

export function headlineMetrics(rows: TrialRow[], max = 4): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r.metrics ?? {})));
  const preferred = HEADLINE_METRICS.filter((k) => present.has(k));
  if (preferred.length) return preferred.slice(0, max);
  // Macroscopic runs: MAPE, tau and rho at the last horizon logged.
  const horizons = [...present].map((k) => /^test\.h([0-9.]+)\.mape$/.exec(k)?.[1]).filter((h): h is string => h !== undefined);
  if (horizons.length) {
    const last = horizons.sort((a, b) => Number(a) - Number(b))[horizons.length - 1];
    return ['mape', 'kendallTau', 'spearmanRho'].map((m) => `test.h${last}.${m}`).filter((k) => present.has(k));
  }
  return [];
}

export function formatMetric(v: number | undefined): string {
  if (v === undefined) return '';
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(4);
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The trial table as Markdown (for the parent run's artifact). */
export function trialTableMarkdown(name: string, rows: TrialRow[]): string {
  const metrics = headlineMetrics(rows);
  const header = ['#', 'trial', 'seed', 'state', ...metrics.map((m) => m.replace(/^test\./, '')), 'run', 'hash'];
  const lines = [`# Sweep ${name}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) {
    lines.push(`| ${[String(r.index), cell(r.label), String(r.seed), r.state, ...metrics.map((m) => formatMetric(r.metrics?.[m])), r.runId ?? '', r.hash.slice(0, 12)].join(' | ')} |`);
  }
  const failed = rows.filter((r) => r.error);
  if (failed.length) {
    lines.push('', '## Failures', '');
    for (const r of failed) lines.push(`- #${r.index} ${cell(r.label)} seed=${r.seed} (${r.state}): ${cell(r.error!.split('\n')[0])}`);
  }
  return lines.join('\n') + '\n';
}

/** The trial table for the terminal: aligned columns. */
export function trialTableText(rows: TrialRow[]): string {
  const metrics = headlineMetrics(rows);
  const header = ['#', 'trial', 'seed', 'state', ...metrics.map((m) => m.replace(/^test\./, '')), 'run'];
  const body = rows.map((r) => [String(r.index), r.label, String(r.seed), r.state, ...metrics.map((m) => formatMetric(r.metrics?.[m])), r.runId ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [fmt(header), ...body.map(fmt)].join('\n') + '\n';
}
