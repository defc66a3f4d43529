import type { Argv, CommandModule } from 'yargs';
import { CascadeError } from '@cascade-lab/core';
import { createTracker } from '@cascade-lab/tracking';
import { loggerFor, type GlobalOptions } from '../global-options.js';
import { compareRuns, loadRunRows, protocolDifference, renderComparisonMarkdown, writeComparison } from '../report/comparison.js';
import { localRunSource, runSourceFor, type RunRecord, type RunSource } from '../report/runs.js';

interface CompareArgs extends GlobalOptions {
  runs: string[];
  trackingUri?: string;
  runsDir?: string;
  ciSeed: number;
  digits: number;
  out?: string;
}

/**
 * `cascade compare RUN_A RUN_B [...]`: the comparison report's statistics for any runs on the same
 * test split and protocol (same dataset and evaluation settings, same test cascades), each run a
 * column. Runs on different splits or protocols are refused, naming what differs.
 */
export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare <runs..>',
  describe: 'Paired comparison of runs on the same test split: each metric with its 95% bootstrap interval and the paired permutation p-value against the best run; Markdown, CSV and a plot',
  builder: (y) =>
    (y
      .positional('runs', { type: 'string', array: true, describe: 'run ids (two or more)' })
      .option('tracking-uri', { type: 'string', describe: 'MLflow server (default $MLFLOW_TRACKING_URI; unset: the local store)' })
      .option('runs-dir', { type: 'string', describe: 'read the local run store in this folder' })
      .option('ci-seed', { type: 'number', default: 1, describe: 'seed of the bootstrap resamples and permutation tests' })
      .option('digits', { type: 'number', default: 3 })
      .option('out', { type: 'string', describe: 'write comparison.md, comparison.csv and plots/*.png into this folder' })
      .check((a) => {
        if ((a.runs ?? []).length < 2) throw new Error('give at least two run ids');
        return true;
      })
      .example('$0 compare 3f2a... 9b1c... --out reports/ndm-vs-netrate', 'NDM against NetRate on the same Irvine test split')) as unknown as Argv<CompareArgs>,
  handler: async (args) => {
    const logger = loggerFor(args);
    let source: RunSource;
    let close = async () => undefined as void;
    if (args.runsDir) source = localRunSource(args.runsDir);
    else {
      const tracker = createTracker({ trackingUri: args.trackingUri, logger });
      source = runSourceFor(tracker);
      close = () => tracker.close();
    }
    try {
      const records: RunRecord[] = [];
      for (const id of args.runs) {
        const r = await source.get(id);
        if (!r) throw new CascadeError('USAGE', `no run ${id} in ${source.location}`);
        records.push(r);
      }
      // each run is its own column, named by its run name (made unique)
      const names = new Map<string, string>();
      for (const r of records) names.set(r.runId, records.filter((o) => o.name === r.name).length > 1 ? `${r.name} (${r.runId.slice(0, 8)})` : r.name);
      const rows = await loadRunRows(source, records, (r) => names.get(r.runId)!, logger);
      if (rows.length < records.length) throw new CascadeError('USAGE', `${records.length - rows.length} of the runs have no per-cascade rows (predictions.jsonl with counts) to compare`);
      const first = rows[0];
      for (const r of rows.slice(1)) {
        if (r.task !== first.task) throw new CascadeError('USAGE', `runs ${first.run.name} and ${r.run.name} are of different tasks (${first.task}, ${r.task}): nothing to pair`);
        if (r.protocol !== first.protocol)
          throw new CascadeError('USAGE', `runs ${first.run.name} and ${r.run.name} are not on the same test split and protocol: ${protocolDifference(first.protocol, r.protocol)}`, {
            hint: 'a paired comparison needs the same dataset, split and evaluation settings; use `cascade report --layout comparison` for runs on different datasets',
          });
      }
      // one dataset, every run its own method: no seed spread, intervals and tests over cascades
      const result = compareRuns(rows, { ciSeed: args.ciSeed, order: rows.map((r) => r.method), logger });
      const title = `Comparison of ${rows.map((r) => r.method).join(', ')}`;
      if (args.out) {
        const written = await writeComparison(result, title, args.out, { digits: args.digits });
        process.stdout.write(written.markdown + `\nwritten: ${written.files.join(', ')}\n`);
      } else process.stdout.write(renderComparisonMarkdown(result, title, { digits: args.digits }));
    } finally {
      await close();
    }
  },
};
