import type { Argv, CommandModule } from 'yargs';
import { CascadeError, createContainer, PluginRegistry } from '@cascade-lab/core';
import { catalogueOfPlugins } from '@cascade-lab/evaluation';
import { createTracker } from '@cascade-lab/tracking';
import { loggerFor, type GlobalOptions } from '../global-options.js';
import { writeReport, selectRuns } from '../report/report.js';
import { localRunSource, runSourceFor, type RunSource } from '../report/runs.js';
import type { GroupBy, Layout } from '../report/table.js';
import { compareRuns, loadRunRows, writeComparison, renderComparisonMarkdown } from '../report/comparison.js';
import { pluginModules } from '../plugin-modules.js';

interface ReportArgs extends GlobalOptions {
  experiment?: string;
  parent?: string;
  sweep?: string;
  trackingUri?: string;
  runsDir?: string;
  metrics: string[];
  layout: Layout | 'comparison';
  ciSeed: number;
  paperTables?: string;
  by: GroupBy;
  ours?: string;
  baselines: string[];
  order: string[];
  label: string[];
  digits?: number;
  title?: string;
  out?: string;
}

const list = (v: string[]) => v.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report',
  describe: 'Turn tracked runs (a sweep, a parent run\'s children, or an experiment) into a paper-style table: mean ± std over seeds, best marked, improvement over the best baseline; Markdown, CSV and HTML with plots',
  builder: (y) =>
    (y
      .option('experiment', { type: 'string', describe: 'MLflow experiment (or local-store experiment) whose finished runs to report' })
      .option('parent', { type: 'string', describe: 'a parent run id: a sweep\'s parent stands for every run of that sweep' })
      .option('sweep', { type: 'string', describe: 'a sweep name (with --experiment)' })
      .option('tracking-uri', { type: 'string', describe: 'MLflow server (default $MLFLOW_TRACKING_URI; unset: the local store)' })
      .option('runs-dir', { type: 'string', describe: 'read the local run store in this folder (default $CASCADE_RUNS_DIR or ./runs)' })
      .option('metrics', { type: 'string', array: true, default: [] as string[], describe: 'metric keys or globs, e.g. test.macroF1,test.microF1 or \'test.h*.mape\' (default: the task\'s headline metrics)' })
      .option('layout', {
        choices: ['rows', 'paper', 'comparison'] as const,
        default: 'rows' as const,
        describe:
          'rows: one row per method, metrics as columns; paper: the NDM paper\'s Table 2 (metric x dataset rows, methods as columns, improvement last); comparison: models as columns, datasets (and horizons) as rows from the runs\' per-cascade rows, with seed spread, 95% bootstrap intervals, paired permutation p-values against the best model, the paper\'s values, F1 against simulations or error against horizon plots; logged to the sweep\'s parent run',
      })
      .option('ci-seed', { type: 'number', default: 1, describe: 'seed of the bootstrap resamples and permutation tests (comparison layout)' })
      .option('paper-tables', { type: 'string', describe: 'published values to print beside ours (default configs/reference/ndm-paper-tables.json)' })
      .option('by', { choices: ['auto', 'trial', 'model', 'run'] as const, default: 'auto' as const, describe: 'what a method is: a sweep trial (its overrides), a model, or a single run (auto: trial for sweeps, else model)' })
      .option('ours', { type: 'string', describe: 'the method whose relative improvement over the best baseline is reported' })
      .option('baselines', { type: 'string', array: true, default: [] as string[], describe: 'methods that count as baselines (default: all but --ours)' })
      .option('order', { type: 'string', array: true, default: [] as string[], describe: 'method order, comma separated' })
      .option('label', { type: 'string', array: true, default: [] as string[], describe: 'display name of a method: --label ndm=NDM (repeatable)' })
      .option('digits', { type: 'number', describe: 'decimals of the numbers (default: 3, or more where a best value would print like the runner-up)' })
      .option('title', { type: 'string', describe: 'report title' })
      .option('out', { type: 'string', describe: 'write report.md, report.csv, report.html and plots/*.png into this folder' })
      .check((a) => {
        if (!a.experiment && !a.parent && !a.sweep) throw new Error('say which runs to report on: --experiment, --parent or --sweep');
        if (a.trackingUri && a.runsDir) throw new Error('--tracking-uri and --runs-dir name two different stores: give one');
        if (a.digits !== undefined && (!Number.isInteger(a.digits) || a.digits < 0 || a.digits > 10)) throw new Error('--digits must be an integer from 0 to 10');
        return true;
      })
      .example('$0 report --parent 3f2a... --out reports/ndm-sensitivity', 'every trial of a sweep, with Figure-8 style plots')
      .example('$0 report --experiment memetracker --layout paper --ours ndm --order netrate,infopath,embedded-ic,lstm,ndm --label ndm=NDM', 'the NDM paper\'s Table 2 from its runs')) as unknown as Argv<ReportArgs>,
  handler: async (args) => {
    const logger = loggerFor(args);
    const labels: Record<string, string> = {};
    for (const l of args.label) {
      const eq = l.indexOf('=');
      if (eq <= 0) throw new CascadeError('USAGE', `--label expects method=Name, got "${l}"`);
      labels[l.slice(0, eq)] = l.slice(eq + 1);
    }
    let source: RunSource;
    let close = async () => undefined as void;
    if (args.runsDir) source = localRunSource(args.runsDir, logger);
    else {
      const tracker = createTracker({ trackingUri: args.trackingUri, logger });
      source = runSourceFor(tracker, logger);
      close = () => tracker.close();
    }
    try {
      const selected = await selectRuns(source, { experiment: args.experiment, parent: args.parent, sweep: args.sweep });
      if (args.layout === 'comparison') {
        const rows = await loadRunRows(source, selected.runs, undefined, logger);
        const comparison = compareRuns(rows, { ciSeed: args.ciSeed, paperTables: args.paperTables, order: list(args.order), ours: args.ours, logger });
        const title = args.title ?? selected.title;
        const notes = [`Source: ${selected.description}; ${rows.length} runs with per-cascade rows${selected.unfinished ? ` (${selected.unfinished} unfinished left out)` : ''}.`];
        if (!args.out) {
          process.stdout.write(renderComparisonMarkdown(comparison, title, { ours: args.ours, digits: args.digits, notes }));
          return;
        }
        const written = await writeComparison(comparison, title, args.out, { ours: args.ours, digits: args.digits, notes });
        process.stdout.write(written.markdown);
        process.stdout.write(`\nwritten: ${written.files.join(', ')}\n`);
        if (args.parent) {
          await source.addArtifacts(args.parent, args.out, 'report');
          process.stdout.write(`logged to run ${args.parent} under report/\n`);
        }
        return;
      }
      const result = await writeReport(selected, {
        metrics: list(args.metrics),
        layout: args.layout as Layout,
        by: args.by,
        ours: args.ours,
        baselines: args.baselines.length ? list(args.baselines) : undefined,
        order: list(args.order),
        labels,
        digits: args.digits,
        // directions and labels of the plugins' own keys (model.*) too
        catalogue: catalogueOfPlugins(createContainer(pluginModules).get(PluginRegistry).list()),
        title: args.title,
        outDir: args.out,
        logger,
      });
      process.stdout.write(result.markdown);
      if (result.files.length) process.stdout.write(`\nwritten: ${result.files.join(', ')}\n`);
    } finally {
      await close();
    }
  },
};
