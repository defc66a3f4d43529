/**
 * Messages between `cascade sweep` and its trial processes (Node IPC, structured clone). A trial
 * process runs exactly one trial: it gets `run`, streams `log`/`task`/`started` messages, and ends
 * with one `result`.
 */
import type { LogLevel, RngState } from '@cascade-lab/core';
import type { MicroscopicShardResult } from '@cascade-lab/evaluation';

/** Everything a trial process needs; it resolves the experiment itself from the same inputs. */
export interface TrialJob {
  baseFile: string;
  overrideArgs: string[];
  /** The hash the parent computed; the trial refuses to run a config that resolves differently. */
  hash: string;
  runName: string;
  /** Extra tags of the trial run (sweep name, trial label, ...). */
  tags: Record<string, string>;
  parentRunId: string;
  trackingUri?: string;
  runsDir?: string;
  experiment: string;
  /**
   * What the trial does when its parent process goes away: `close` (default; a local sweep) closes
   * its run KILLED and exits; `exit` (a queue worker's trial) exits at once and leaves the run to
   * whoever takes the job up again, which closes it FAILED (see queue/queue-worker.ts).
   */
  onOrphan?: 'close' | 'exit';
}

/**
 * One shard of a microscopic evaluation (issue 20), for a queue worker's child process: the saved
 * model is loaded from `modelDir` through the plugin's `load`, the data from the config.
 */
export interface ShardJob {
  kind: 'shard';
  /** The resolved config (YAML) and its hash; `label` names it in messages. */
  config: string;
  hash: string;
  label: string;
  baseDir: string;
  modelDir: string;
  shard: number;
  shards: number;
  /** The shard's test cascades when not `shardRange`'s (local processes: `workBalancedRanges`). */
  range?: { start: number; end: number };
  /**
   * Local processes: the test split cut into pieces (consecutive ranges, in order), which every
   * process of the evaluation claims one at a time, in `order`, by creating the file named by the
   * piece's index in `claimDir` (exclusive create: one process gets each piece), until none is left.
   * A process that finishes early takes more, so no process waits for a slower one. `shard` then
   * only names the process; the answer is a `shardPieces` message with the claimed pieces' results
   * (`shard` k of `ranges.length` each).
   */
  pieces?: { ranges: { start: number; end: number }[]; order: number[]; claimDir: string };
  rngState: RngState;
  /** As for a trial: a shard process whose worker died exits at once (the job is retried elsewhere). */
  onOrphan?: 'close' | 'exit';
}

export type ToTrial = { type: 'run'; job: TrialJob } | { type: 'shard'; job: ShardJob } | { type: 'cancel'; reason: string };

export type FromTrial =
  | { type: 'log'; level: Exclude<LogLevel, 'silent'>; message: string }
  | { type: 'task'; id: number; label: string; total?: number; value: number; status?: string; done: boolean }
  | { type: 'started'; runId: string; location: string }
  | { type: 'shardResult'; result: MicroscopicShardResult }
  | { type: 'shardPieces'; results: MicroscopicShardResult[] }
  | { type: 'result'; ok: true; runId: string; location: string; outputDir: string; metrics: Record<string, number>; summary: string; backend: string }
  | { type: 'result'; ok: false; cancelled: boolean; runId?: string; error: { name: string; code?: string; message: string; stack?: string } };
