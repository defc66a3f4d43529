import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { CascadeError } from '@cascade-lab/core';
import {
  DATASET_FORMATS,
  REGISTRY,
  defaultCacheDir,
  defaultDataDir,
  fetchDataset,
  formatStats,
  getDataset,
  parseDatasetConfig,
  readDatasetSource,
  sourceStats,
  verifyFolder,
  type DatasetEntry,
  type DatasetFormat,
} from '@cascade-lab/data';
import { loggerFor, type GlobalOptions } from '../global-options.js';

interface StoreArgs extends Partial<GlobalOptions> {
  'cache-dir'?: string;
  'data-dir'?: string;
  download: boolean;
  json: boolean;
}

interface DatasetsArgs extends StoreArgs {
  action: 'list' | 'info' | 'fetch' | 'stats';
  target?: string;
  format?: DatasetFormat;
  lenient: boolean;
  force: boolean;
}

const out = (line = ''): void => {
  process.stdout.write(line + '\n');
};

function storeOptions(args: StoreArgs) {
  return {
    cacheDir: args['cache-dir'] ? path.resolve(args['cache-dir']) : defaultCacheDir(),
    dataDir: args['data-dir'] ? path.resolve(args['data-dir']) : defaultDataDir(),
    download: args.download,
    logger: loggerFor(args),
  };
}

/** Where a registered dataset is right now (no download): cache, data dir, or nowhere. */
async function whereIs(entry: DatasetEntry, cacheDir: string, dataDir: string | undefined): Promise<string> {
  const cached = path.join(cacheDir, entry.name);
  const c = await verifyFolder(entry, cached);
  if (c.complete && c.mismatches.length === 0) return `cached (${cached})`;
  if (dataDir) {
    const local = path.join(dataDir, entry.localDir);
    const v = await verifyFolder(entry, local);
    if (v.complete) return v.mismatches.length === 0 ? `local (${local})` : `local copy differs from the registry (${local})`;
  }
  return 'not present (`cascade datasets fetch` downloads it)';
}

function requireTarget(args: DatasetsArgs): string {
  if (!args.target) throw new CascadeError('USAGE', `\`cascade datasets ${args.action}\` needs a dataset name${args.action === 'stats' ? ' or a path' : ''}`);
  return args.target;
}

async function list(args: DatasetsArgs): Promise<void> {
  const { cacheDir, dataDir } = storeOptions(args);
  const rows = await Promise.all(
    REGISTRY.map(async (e) => ({ name: e.name, task: e.task, format: e.format, status: await whereIs(e, cacheDir, dataDir), description: e.description })),
  );
  if (args.json) return out(JSON.stringify(rows, null, 2));
  const w = (k: keyof (typeof rows)[number]) => Math.max(...rows.map((r) => r[k].length), k.length);
  out(`${'name'.padEnd(w('name'))}  ${'task'.padEnd(w('task'))}  ${'format'.padEnd(w('format'))}  status`);
  for (const r of rows) out(`${r.name.padEnd(w('name'))}  ${r.task.padEnd(w('task'))}  ${r.format.padEnd(w('format'))}  ${r.status.split(' (')[0]}`);
}

async function info(args: DatasetsArgs): Promise<void> {
  const e = getDataset(requireTarget(args));
  const { cacheDir, dataDir } = storeOptions(args);
  const status = await whereIs(e, cacheDir, dataDir);
  if (args.json) return out(JSON.stringify({ ...e, status }, null, 2));
  out(`${e.title} (${e.name})`);
  out(`  ${e.description}`);
  out(`  task      ${e.task}`);
  out(`  format    ${e.format}`);
  out(`  source    ${e.source}`);
  out(`  licence   ${e.licence}`);
  out(`  time      ${e.time.unit}, ${e.time.origin === 'unix' ? 'Unix time' : e.time.origin}`);
  if (e.observedUntilSeconds !== undefined) out(`  observed  ${e.observedUntilSeconds} s after each post`);
  if (e.paperStats) out(`  paper     ${e.paperStats.reference}: ${e.paperStats.users} users, ${e.paperStats.cascades} cascades, average length ${e.paperStats.averageLength}`);
  out(`  status    ${status}`);
  out('  files');
  for (const f of e.files) {
    const from = f.url ?? (f.derivedFrom ? `made from ${f.derivedFrom.path}` : 'no URL (see below)');
    out(`    ${f.path}  ${f.role}${f.optional ? ', optional' : ''}  ${from}`);
    if (f.sha256) out(`      sha256 ${f.sha256}${f.bytes !== undefined ? `  ${f.bytes} bytes` : ''}`);
  }
  if (e.manual) out(`  by hand: ${e.manual}`);
  for (const n of e.notes ?? []) out(`  note: ${n}`);
}

async function fetch(args: DatasetsArgs): Promise<void> {
  const e = getDataset(requireTarget(args));
  const opts = storeOptions(args);
  const r = await fetchDataset(e, { ...opts, force: args.force });
  if (args.json) return out(JSON.stringify(r, null, 2));
  out(`${e.name}: ${r.dir}`);
  out(`  downloaded ${r.downloaded.length}, already there ${r.reused.length}, derived ${r.derived.length}${r.skipped.length ? `, skipped (optional) ${r.skipped.join(', ')}` : ''}`);
}

async function stats(args: DatasetsArgs): Promise<void> {
  const target = requireTarget(args);
  const registered = REGISTRY.find((d) => d.name === target);
  let spec: Record<string, unknown>;
  if (registered && !args.format) spec = { name: target };
  else if (existsSync(target)) {
    if (!args.format) throw new CascadeError('USAGE', `${target} is a path: say its format with --format (${DATASET_FORMATS.join(', ')})`);
    spec = { path: path.resolve(target), format: args.format };
  } else {
    // A path (it has a separator or --format was given) that is not there: say so, not "unknown dataset".
    if (args.format || /[\\/]/.test(target) || target.startsWith('.'))
      throw new CascadeError('DATA_NOT_FOUND', `path ${path.resolve(target)} does not exist`, { hint: 'give an existing dataset folder or file, or a registered name (`cascade datasets list`)' });
    getDataset(target); // throws "unknown dataset" with a suggestion
    throw new CascadeError('USAGE', `${target} is a registered dataset; --format is only for paths`);
  }
  const config = parseDatasetConfig({ ...spec, lenient: args.lenient }, 'datasets stats');
  const source = await readDatasetSource(config, storeOptions(args));
  const s = sourceStats(source);
  if (args.json) return out(JSON.stringify({ name: source.location.name, format: source.location.format, location: source.location.location, ...s }, null, 2));
  const ctx = {
    title: registered?.title ?? source.location.name,
    format: source.location.format,
    location: source.location.location,
    time: registered?.time,
    paperStats: registered?.paperStats,
  };
  for (const line of formatStats(ctx, s)) out(line);
  const report = source.micro?.report ?? source.macro?.report;
  if (report && report.total > 0) for (const line of report.summary()) out(`  warning   ${line}`);
}

export const datasetsCommand: CommandModule<object, DatasetsArgs> = {
  command: 'datasets <action> [target]',
  describe: 'Registered datasets: list | info <name> | fetch <name> | stats <name|path>',
  builder: (y) =>
    (y as Argv<object>)
      .positional('action', { choices: ['list', 'info', 'fetch', 'stats'] as const, describe: 'what to do' })
      .positional('target', { type: 'string', describe: 'a dataset name (stats: or a path, with --format)' })
      .option('format', { choices: DATASET_FORMATS, describe: 'format of a path given to stats' })
      .option('lenient', { type: 'boolean', default: false, describe: 'stats: count tolerable input problems as warnings instead of failing' })
      .option('force', { type: 'boolean', default: false, describe: 'fetch: download again even when cached' })
      .option('cache-dir', { type: 'string', describe: 'dataset cache (default $CASCADE_CACHE_DIR or ~/.cache/cascade-lab/datasets)' })
      .option('data-dir', { type: 'string', describe: 'local data folder (default $CASCADE_DATA_DIR)' })
      .option('download', { type: 'boolean', default: true, describe: 'allow downloads (--no-download: cache and data dir only)' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .example('$0 datasets list', 'registered datasets and whether they are here')
      .example('$0 datasets stats irvine', 'users, cascades, average length, time span')
      .example('$0 datasets stats ./my-data --format jsonl', 'statistics of your own files') as unknown as Argv<DatasetsArgs>,
  handler: async (args) => {
    if (args.action === 'list') return list(args);
    if (args.action === 'info') return info(args);
    if (args.action === 'fetch') return fetch(args);
    return stats(args);
  },
};
