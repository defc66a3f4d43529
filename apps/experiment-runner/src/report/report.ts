import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CascadeError, type Logger } from '@cascade-lab/core';
import { renderPng, renderSvg } from '../plots.js';
import { sensitivitySeries, sensitivitySpec } from './plots.js';
import { renderCsv, renderHtml, renderMarkdown, type HtmlSection } from './render.js';
import { SWEEP_TAGS, type RunRecord, type RunSource } from './runs.js';
import { buildTable, datasetLabel, type ReportTable, type TableOptions } from './table.js';

/** Which runs a report covers: a sweep (by its parent run or name), the children of a parent run, or an experiment. */
export interface ReportSelection {
  experiment?: string;
  /** A parent run: a sweep's parent stands for every trial of that sweep (all its reruns included). */
  parent?: string;
  /** A sweep name (needs `experiment`). */
  sweep?: string;
}

export interface SelectedRuns {
  runs: RunRecord[];
  /** Plain words for the report's header, e.g. `sweep ndm-sensitivity in experiment irvine`. */
  description: string;
  /** Default title. */
  title: string;
  /** Runs left out because they did not finish (counted for the notes). */
  unfinished: number;
}

export async function selectRuns(source: RunSource, selection: ReportSelection): Promise<SelectedRuns> {
  let runs: RunRecord[];
  let description: string;
  let title: string;
  if (selection.parent) {
    const parent = await source.get(selection.parent);
    if (!parent) throw new CascadeError('USAGE', `no run ${selection.parent} in ${source.location}`, { hint: 'give the parent run id printed by `cascade sweep` (or shown in the MLflow UI)' });
    const sweep = parent.tags[SWEEP_TAGS.role] === 'parent' ? parent.tags[SWEEP_TAGS.sweep] : undefined;
    if (sweep) {
      runs = await source.list({ experiment: parent.experiment, tags: { [SWEEP_TAGS.sweep]: sweep, [SWEEP_TAGS.role]: 'trial' } });
      description = `sweep ${sweep} (every run of it) in experiment ${parent.experiment}`;
      title = `Sweep ${sweep}`;
    } else {
      runs = (await source.list({ experiment: parent.experiment })).filter((r) => r.parentRunId === parent.runId);
      description = `runs under ${parent.name} (${parent.runId}) in experiment ${parent.experiment}`;
      title = parent.name;
    }
  } else if (selection.sweep) {
    if (!selection.experiment) throw new CascadeError('USAGE', '--sweep needs --experiment (the MLflow experiment the sweep logs to)');
    runs = await source.list({ experiment: selection.experiment, tags: { [SWEEP_TAGS.sweep]: selection.sweep, [SWEEP_TAGS.role]: 'trial' } });
    description = `sweep ${selection.sweep} in experiment ${selection.experiment}`;
    title = `Sweep ${selection.sweep}`;
  } else if (selection.experiment) {
    runs = (await source.list({ experiment: selection.experiment })).filter((r) => r.tags[SWEEP_TAGS.role] !== 'parent');
    description = `experiment ${selection.experiment}`;
    title = `Experiment ${selection.experiment}`;
  } else throw new CascadeError('USAGE', 'say which runs to report on: --experiment NAME, --parent RUN_ID, or --sweep NAME --experiment NAME');
  if (runs.length === 0) throw new CascadeError('USAGE', `no runs found for ${description} in ${source.location}`);
  const finished = runs.filter((r) => r.status === 'FINISHED');
  return { runs: finished, description: `${description} (${source.kind === 'mlflow' ? 'MLflow ' : 'local store '}${source.location})`, title, unfinished: runs.length - finished.length };
}

export interface ReportOptions extends TableOptions {
  title?: string;
  /** Folder for report.md, report.csv, report.html and plots/*.png; nothing is written when absent. */
  outDir?: string;
  logger?: Logger;
}

export interface ReportResult {
  table: ReportTable;
  markdown: string;
  files: string[];
}

/**
 * The paper-style table of the selected runs in Markdown, CSV and a self-contained HTML page with
 * the sensitivity plots (metric against each swept parameter, as the NDM paper's Figure 8).
 */
export async function writeReport(selected: SelectedRuns, options: ReportOptions = {}): Promise<ReportResult> {
  const table = buildTable(selected.runs, options);
  for (const w of table.warnings) options.logger?.warn(w);
  const title = options.title ?? selected.title;
  const notes = [`Source: ${selected.description}; ${selected.runs.length} finished runs${selected.unfinished ? ` (${selected.unfinished} unfinished left out)` : ''}.`];
  const markdown = renderMarkdown(table, title, notes);
  const files: string[] = [];
  if (!options.outDir) return { table, markdown, files };

  const out = resolve(options.outDir);
  mkdirSync(join(out, 'plots'), { recursive: true });
  const plots: HtmlSection[] = [];
  const series = sensitivitySeries(selected.runs, table.metrics, table.catalogue);
  for (const s of series) {
    const dataset = table.datasets.length === 1 ? ` on ${datasetLabel(table.datasets[0])}` : '';
    const spec = sensitivitySpec(s, `${s.parameter.split('.').pop()}${dataset}`);
    const held = Object.entries(s.heldAt).map(([k, v]) => `${k.split('.').pop()}=${v}`).join(', ');
    plots.push({ title: s.parameter, svg: await renderSvg(spec), caption: `Mean ± std over seeds${held ? `; other swept parameters at ${held}` : ''}.` });
    const png = join(out, 'plots', `${s.parameter.replace(/[^A-Za-z0-9._-]+/g, '_')}.png`);
    writeFileSync(png, await renderPng(spec));
    files.push(png);
  }
  const write = (name: string, text: string) => {
    const f = join(out, name);
    writeFileSync(f, text);
    files.push(f);
  };
  write('report.md', markdown);
  write('report.csv', renderCsv(table));
  write('report.html', renderHtml(table, title, { notes, plots, source: selected.description }));
  return { table, markdown, files };
}
