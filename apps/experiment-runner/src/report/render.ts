import {
  datasetLabel,
  formatCell,
  formatImprovement,
  key,
  metricDirectionOf,
  methodLabel,
  metricLabel,
  type ReportTable,
} from './table.js';

/** ↓ when lower is better, ↑ when higher is, nothing when the catalogue gives no direction. */
function arrow(t: ReportTable, metric: string): string {
  const d = metricDirectionOf(metric, t.catalogue);
  return d === 'lower' ? ' ↓' : d === 'higher' ? ' ↑' : '';
}

export interface GridCell {
  text: string;
  /** The best value of its metric and dataset (bold in Markdown and HTML). */
  best?: boolean;
  /** A row-header cell. */
  header?: boolean;
}

/** The table as rows of text cells, shared by the Markdown and HTML renderers. */
export interface Grid {
  header: string[];
  rows: GridCell[][];
  /** Rows that start a new group (a new metric in the paper layout): drawn with a rule in HTML. */
  groupStarts: Set<number>;
}

function isBest(t: ReportTable, method: string, dataset: string, metric: string): boolean {
  return t.methods.length > 1 && (t.best.get(key('', dataset, metric)) ?? []).includes(method);
}

/**
 * The NDM paper's Table 2 layout (`paper`): metric and dataset as rows, methods as columns, the
 * relative improvement of `ours` over the best baseline last; or one row per method (`rows`).
 */
export function toGrid(t: ReportTable): Grid {
  const groupStarts = new Set<number>();
  const rows: GridCell[][] = [];
  if (t.layout === 'paper') {
    const header = ['Metric', 'Dataset', ...t.methods.map((m) => methodLabel(t, m)), ...(t.ours !== undefined ? ['Improvement'] : [])];
    for (const metric of t.metrics) {
      groupStarts.add(rows.length);
      t.datasets.forEach((d, i) => {
        rows.push([
          { text: i === 0 ? metricLabel(metric, t.catalogue) : '', header: true },
          { text: datasetLabel(d), header: true },
          ...t.methods.map((m) => ({ text: formatCell(t.cells.get(key(m, d, metric)), t.digits), best: isBest(t, m, d, metric) })),
          ...(t.ours !== undefined ? [{ text: formatImprovement(t.improvements.get(key('', d, metric))) }] : []),
        ]);
      });
    }
    return { header, rows, groupStarts };
  }
  const many = t.datasets.length > 1;
  const header = [...(many ? ['Dataset'] : []), 'Method', ...t.metrics.map((m) => `${metricLabel(m, t.catalogue)}${arrow(t, m)}`)];
  for (const d of t.datasets) {
    groupStarts.add(rows.length);
    for (const m of t.methods) {
      if (!t.metrics.some((metric) => t.cells.has(key(m, d, metric)))) continue;
      rows.push([
        ...(many ? [{ text: datasetLabel(d), header: true }] : []),
        { text: methodLabel(t, m), header: true },
        ...t.metrics.map((metric) => ({ text: formatCell(t.cells.get(key(m, d, metric)), t.digits), best: isBest(t, m, d, metric) })),
      ]);
    }
    if (t.ours !== undefined)
      rows.push([
        ...(many ? [{ text: datasetLabel(d), header: true }] : []),
        { text: `${'Improvement'} of ${methodLabel(t, t.ours)}`, header: true },
        ...t.metrics.map((metric) => ({ text: formatImprovement(t.improvements.get(key('', d, metric))) })),
      ]);
  }
  return { header, rows, groupStarts };
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|');

export function renderMarkdown(t: ReportTable, title: string, notes: string[] = []): string {
  const g = toGrid(t);
  const lines = [`## ${title}`, ''];
  lines.push(`| ${g.header.map(mdEscape).join(' | ')} |`);
  lines.push(`|${g.header.map((_, i) => (i < (t.layout === 'paper' ? 2 : t.datasets.length > 1 ? 2 : 1) ? ':---' : '---:')).join('|')}|`);
  for (const row of g.rows) lines.push(`| ${row.map((c) => (c.best ? `**${mdEscape(c.text)}**` : mdEscape(c.text))).join(' | ')} |`);
  lines.push('', ...legend(t), ...notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}

/** What the marks mean, and where the numbers come from. */
export function legend(t: ReportTable): string[] {
  const out = [
    `- Mean ± sample standard deviation (n - 1) over seeds; bold: best per ${t.layout === 'paper' ? 'row' : 'column'} (↑ higher is better, ↓ lower is better); \`-\`: no run.`,
  ];
  if (t.ours !== undefined)
    out.push(`- Improvement: relative gain of ${methodLabel(t, t.ours)} over the best baseline (${t.baselines.map((b) => methodLabel(t, b)).join(', ')}), (ours - best) / best, sign flipped where lower is better.`);
  const seeds = [...t.runs.values()].map((r) => r.length);
  out.push(`- Runs per cell: ${Math.min(...seeds)}${Math.max(...seeds) !== Math.min(...seeds) ? `-${Math.max(...seeds)}` : ''}.`);
  return out;
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * The table as CSV with numbers only: the row headers, then `mean`, `std` and `n` of each column,
 * the improvement (a fraction: 0.26 = +26%), and the best method of the row (paper layout) or a
 * `best` flag per metric (rows layout).
 */
export function renderCsv(t: ReportTable): string {
  const num = (v: number | undefined) => (v === undefined ? '' : Number.isFinite(v) ? String(v) : String(v));
  const lines: string[][] = [];
  if (t.layout === 'paper') {
    lines.push(['metric', 'dataset', ...t.methods.flatMap((m) => [methodLabel(t, m), `${methodLabel(t, m)} std`, `${methodLabel(t, m)} n`]), ...(t.ours !== undefined ? ['improvement'] : []), 'best']);
    for (const metric of t.metrics)
      for (const d of t.datasets) {
        const cells = t.methods.flatMap((m) => {
          const c = t.cells.get(key(m, d, metric));
          return [num(c?.mean), num(c?.std), c ? String(c.n) : ''];
        });
        lines.push([metric, d, ...cells, ...(t.ours !== undefined ? [num(t.improvements.get(key('', d, metric)))] : []), (t.best.get(key('', d, metric)) ?? []).map((m) => methodLabel(t, m)).join(' ')]);
      }
  } else {
    lines.push(['dataset', 'method', ...t.metrics.flatMap((m) => [m, `${m} std`, `${m} n`, `${m} best`])]);
    for (const d of t.datasets) {
      for (const m of t.methods) {
        if (!t.metrics.some((metric) => t.cells.has(key(m, d, metric)))) continue;
        lines.push([
          d,
          methodLabel(t, m),
          ...t.metrics.flatMap((metric) => {
            const c = t.cells.get(key(m, d, metric));
            return [num(c?.mean), num(c?.std), c ? String(c.n) : '', isBest(t, m, d, metric) ? 'true' : 'false'];
          }),
        ]);
      }
      if (t.ours !== undefined) lines.push([d, `improvement of ${methodLabel(t, t.ours)}`, ...t.metrics.flatMap((metric) => [num(t.improvements.get(key('', d, metric))), '', '', ''])]);
    }
  }
  return lines.map((l) => l.map(csvField).join(',')).join('\n') + '\n';
}

const html = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface HtmlSection {
  title: string;
  /** An inline SVG document (from vega). */
  svg: string;
  caption?: string;
}

/** A self-contained HTML page: the table, its legend, the plots as inline SVG; no script, no external file. */
export function renderHtml(t: ReportTable, title: string, options: { notes?: string[]; plots?: HtmlSection[]; source?: string; generated?: Date } = {}): string {
  const g = toGrid(t);
  const rowHeads = g.rows[0]?.filter((c) => c.header).length ?? 0;
  const head = `<tr>${g.header.map((h, i) => `<th${i < rowHeads ? ' class="rowhead"' : ''}>${html(h)}</th>`).join('')}</tr>`;
  const body = g.rows
    .map((row, i) => {
      const cls = g.groupStarts.has(i) && i > 0 ? ' class="group"' : '';
      return `<tr${cls}>${row.map((c) => (c.header ? `<th scope="row">${html(c.text)}</th>` : `<td${c.best ? ' class="best"' : ''}>${c.best ? `<strong>${html(c.text)}</strong>` : html(c.text)}</td>`)).join('')}</tr>`;
    })
    .join('\n');
  const notes = [...legend(t).map((l) => l.replace(/^- /, '').replace(/`/g, '')), ...(options.notes ?? [])];
  const plots = (options.plots ?? [])
    .map((p) => `<figure><figcaption>${html(p.title)}</figcaption>${p.svg.replace(/^<\?xml[^>]*>\s*/, '')}${p.caption ? `<p class="caption">${html(p.caption)}</p>` : ''}</figure>`)
    .join('\n');
  const generated = (options.generated ?? new Date()).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)}</title>
<style>
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
.meta { color: #666; font-size: .85rem; margin-top: 0; }
table { border-collapse: collapse; margin: 1.2rem 0; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: .4rem; }
th, td { padding: .3rem .8rem; }
thead th { border-top: 2px solid #222; border-bottom: 1px solid #222; text-align: right; }
thead th.rowhead { text-align: left; }
tbody tr:last-child td, tbody tr:last-child th { border-bottom: 2px solid #222; }
tbody th { text-align: left; font-weight: normal; }
td { text-align: right; }
tr.group th, tr.group td { border-top: 1px solid #999; }
td.best { background: #eef5ff; }
ul.notes { color: #444; font-size: .9rem; }
figure { display: inline-block; margin: 1rem 1.5rem 1rem 0; vertical-align: top; }
figcaption { font-weight: bold; margin-bottom: .3rem; }
p.caption { color: #555; font-size: .85rem; max-width: 480px; }
</style>
</head>
<body>
<h1>${html(title)}</h1>
<p class="meta">${options.source ? `${html(options.source)} · ` : ''}generated ${html(generated)}</p>
<table>
<thead>${head}</thead>
<tbody>
${body}
</tbody>
</table>
<ul class="notes">${notes.map((n) => `<li>${html(n)}</li>`).join('')}</ul>
${plots ? `<h2>Metrics against the swept parameters</h2>\n${plots}` : ''}
</body>
</html>
`;
}

