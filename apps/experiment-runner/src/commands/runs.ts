import type { Argv, CommandModule } from 'yargs';
import { LocalStore, runOwnerAlive, type LocalRunSummary } from '@cascade-lab/tracking';
import { loggerFor, type GlobalOptions } from '../global-options.js';
import { headlineMetrics } from '../sweep/table.js';

interface RunsListArgs extends Partial<GlobalOptions> {
  dir?: string;
  json: boolean;
  metric?: string[];
  status?: string[];
  limit?: number;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Local time as `YYYY-MM-DD HH:MM:SS`. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** `850ms`, `12.3s`, `4m05s`, `2h03m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad2(Math.floor(s % 60))}s`;
  return `${Math.floor(m / 60)}h${pad2(m % 60)}m`;
}

/** Up to 4 significant digits; NaN and infinities as words. */
export function formatMetric(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** Parents first, each followed by its children (depth for indentation); oldest first. */
function nestRuns(runs: LocalRunSummary[]): { run: LocalRunSummary; depth: number }[] {
  const ids = new Set(runs.map((r) => r.meta.runId));
  const children = new Map<string, LocalRunSummary[]>();
  const roots: LocalRunSummary[] = [];
  for (const r of runs) {
    const p = r.meta.parentRunId;
    if (p && ids.has(p)) {
      const list = children.get(p) ?? [];
      list.push(r);
      children.set(p, list);
    } else roots.push(r);
  }
  const out: { run: LocalRunSummary; depth: number }[] = [];
  const visit = (r: LocalRunSummary, depth: number): void => {
    out.push({ run: r, depth });
    for (const c of children.get(r.meta.runId) ?? []) visit(c, depth + 1);
  };
  roots.forEach((r) => visit(r, 0));
  return out;
}

function statusText(r: LocalRunSummary): string {
  const { meta } = r;
  if (meta.status === 'RUNNING' && !runOwnerAlive(meta)) return 'RUNNING?'; // its process is gone
  return meta.status;
}

function syncText(r: LocalRunSummary): string {
  const targets = Object.values(r.sync.targets);
  if (r.meta.remote) return targets.some((t) => t.state === 'complete') ? 'synced' : `unsent -> ${r.meta.remote.trackingUri}`;
  if (targets.length === 0) return '-';
  return targets.every((t) => t.state === 'complete') ? 'synced' : 'partial';
}

function pickMetrics(r: LocalRunSummary, wanted: string[] | undefined): string {
  const headline = headlineMetrics([{ index: 0, label: '', seed: 0, hash: '', state: 'pending', metrics: Object.fromEntries(Object.entries(r.latest).map(([k, p]) => [k, p.value])) }]);
  // The task's headline numbers (Macro-F1..., MAPE/tau/rho at the last horizon); else the first by name.
  const keys = wanted && wanted.length > 0 ? wanted : headline.length > 0 ? headline : Object.keys(r.latest).sort().slice(0, 4);
  return keys
    .filter((k) => k in r.latest)
    .map((k) => `${k}=${formatMetric(r.latest[k].value)}`)
    .join(' ');
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

async function list(args: RunsListArgs): Promise<void> {
  const logger = loggerFor(args);
  // Damaged runs are warned about on stderr (file:line) and left out; the others are listed.
  const store = new LocalStore(args.dir ?? LocalStore.defaultRoot(), { onWarning: (m) => logger.warn(m) });
  let runs = store.summaries();
  if (args.status?.length) runs = runs.filter((r) => args.status!.includes(r.meta.status));
  if (args.limit !== undefined) runs = runs.slice(-args.limit);
  if (args.json) {
    const out = runs.map((r) => ({
      runId: r.meta.runId,
      name: r.meta.name,
      experiment: r.meta.experiment,
      status: r.meta.status,
      startTime: r.meta.startTime,
      endTime: r.meta.endTime,
      parentRunId: r.meta.parentRunId,
      metrics: Object.fromEntries(Object.entries(r.latest).map(([k, p]) => [k, { value: Number.isFinite(p.value) ? p.value : String(p.value), step: p.step }])),
      sync: r.sync.targets,
      remote: r.meta.remote,
    }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  if (runs.length === 0) {
    process.stdout.write(`no runs in ${store.root}\n`);
    return;
  }
  const rows = [['NAME', 'STATUS', 'STARTED', 'DURATION', 'SYNC', 'RUN ID', 'METRICS']];
  for (const { run, depth } of nestRuns(runs)) {
    const { meta } = run;
    rows.push([
      `${'  '.repeat(depth)}${depth > 0 ? '└ ' : ''}${meta.name}`,
      statusText(run),
      formatTime(meta.startTime),
      meta.endTime !== undefined ? formatDuration(meta.endTime - meta.startTime) : '-',
      syncText(run),
      meta.runId,
      pickMetrics(run, args.metric),
    ]);
  }
  process.stdout.write(table(rows));
}

/** `cascade runs list`. */
export const runsListCommand: CommandModule<object, RunsListArgs> = {
  command: 'list',
  describe: 'List local runs: name (children under their parent), status, start, duration, sync state, last metric values',
  builder: (b) =>
    b
      .option('dir', { type: 'string', describe: 'local store directory (default $CASCADE_RUNS_DIR or ./runs)' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('metric', { type: 'string', array: true, describe: "metrics to show (default: the task's headline metrics, else the first four by name)" })
      .option('status', { type: 'string', array: true, choices: ['RUNNING', 'FINISHED', 'FAILED', 'KILLED'], describe: 'only runs in these states' })
      .option('limit', { type: 'number', describe: 'only the newest N runs' }) as unknown as Argv<RunsListArgs>,
  handler: list,
};

export const runsCommand: CommandModule<object, object> = {
  command: 'runs',
  describe: 'Runs in the local store ($CASCADE_RUNS_DIR or ./runs): list',
  builder: (y) => y.command(runsListCommand).demandCommand(1, 'name a runs command: list'),
  handler: () => undefined,
};
