/**
 * A microscopic evaluation split over local child processes (issue 22): for plugins whose
 * `simulate` runs on the calling thread (`inProcessSimulation`: NDM, the LSTM), one process uses one
 * core; `execution.workers: N` (default: the cores) runs the evaluation's N shards in N child
 * processes, the design of the queued shards (queue/sharded-evaluation.ts) without Redis: the model
 * saved once, a fresh process per shard (sweep/worker.ts `runShard`: the config, the data, the model
 * through the plugin's `load`, `runMicroscopicShard` with the evaluation's generator), and the rows
 * merged here with `mergeMicroscopicShards`. The shards are consecutive ranges of about equal
 * simulation work (`workBalancedRanges`), not of equal counts (on Memetracker equal halves hold
 * 45% and 55% of the predicted users), PIECES_PER_PROCESS of them per process, which the processes
 * claim one at a time (`ShardJob.pieces`): a process that is ahead takes the next piece.
 *
 * Why the numbers are those of the single-process evaluation: cascade i draws its simulations from
 * `rng.derive('simulation').derive('cascade:<i>')` whatever the shard (the plugin contract), the
 * rows come back through IPC as structured clones (doubles exact), and the merge is the
 * single-process evaluation's own aggregation (`runMicroscopicProtocol` is its one-shard case). The
 * saved model is the in-memory one (the conformance kit checks save/load). Edge scores are not per
 * cascade: this process scores them while the children simulate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, CascadeError, ERROR_CODES, throwIfCancelled, type Cascade, type ErrorCode, type Logger, type MicroscopicModel, type ProgressReporter, type Rng } from '@cascade-lab/core';
import type { LoadedMicroscopicDataset } from '@cascade-lab/data';
import { mergeMicroscopicShards, microscopicNetworkEvaluation, pieceOrder, PIECES_PER_PROCESS, workBalancedRanges, type EvaluationOutcome, type MicroscopicShardResult } from '@cascade-lab/evaluation';
import { stringify } from 'yaml';
import { TrialPool, type TrialOutcome } from '../sweep/pool.js';
import type { ShardJob } from '../sweep/protocol.js';
import type { ResolvedExperiment } from './config.js';
import { settingsOf } from './evaluate.js';

export interface LocalShardsInput {
  /** Child processes, one shard each (fewer when there are fewer test cascades). */
  workers: number;
  exp: ResolvedExperiment;
  data: LoadedMicroscopicDataset;
  /** The model in this process (edge scores; saved to a temporary folder when `modelDir` is absent). */
  model: MicroscopicModel;
  /** The model's saved folder, when there is one (a run's `model/`, a saved run's). */
  modelDir?: string;
  /** The evaluation's generator: its state goes to every shard. */
  rng: Rng;
  /** Folder relative dataset paths resolve against (the children get it as it is). */
  baseDir: string;
  progress: ProgressReporter;
  signal: AbortSignal;
  logger: Logger;
  /** After a Ctrl-C, how long the children may take to stop before they are killed (ms, default 10 s). */
  graceMs?: number;
}


/** Whether this evaluation runs in local child processes: an in-process simulator, N > 1, no queue. */
export function usesLocalShards(exp: ResolvedExperiment, workers: number): boolean {
  return exp.plugin.task === 'microscopic' && exp.plugin.inProcessSimulation === true && workers > 1;
}

/** Cascades the protocol simulates: those with a user after the seed (the others are skipped). */
function simulated(c: Cascade): boolean {
  return c.events.length > 0 && c.events.some((e) => e.user !== c.events[0].user);
}

/** Runs the evaluation's shards in child processes and merges them (see the module comment). */
export async function evaluateInProcesses(input: LocalShardsInput): Promise<EvaluationOutcome> {
  const { exp, data, logger, signal } = input;
  const started = performance.now();
  throwIfCancelled(signal);
  const settings = settingsOf(exp.config.evaluation);
  const test = settings.maxTestCascades ? data.test.slice(0, settings.maxTestCascades) : data.test;
  const shards = Math.max(1, Math.min(input.workers, test.length));
  let tempDir: string | undefined;
  let modelDir = input.modelDir;
  if (!modelDir) {
    tempDir = mkdtempSync(join(tmpdir(), 'cascade-eval-model-'));
    modelDir = join(tempDir, 'model');
    await input.model.save(modelDir);
  }
  const config = stringify(exp.resolved);
  const rngState = input.rng.state();
  // The processes claim pieces of about equal estimated work one at a time (see PIECES_PER_PROCESS).
  const ranges = workBalancedRanges(test, Math.min(test.length, shards * PIECES_PER_PROCESS));
  const claimDir = mkdtempSync(join(tmpdir(), 'cascade-eval-pieces-'));
  const pieces = { ranges, order: pieceOrder(test, ranges), claimDir };
  const jobs = Array.from({ length: shards }, (_, shard) => ({
    index: shard,
    job: { kind: 'shard', config, hash: exp.hash, label: `${exp.config.name} evaluation`, baseDir: input.baseDir, modelDir: modelDir!, shard, shards, pieces, rngState } satisfies ShardJob,
  }));

  // One bar over every shard: the cascades simulated, then (when the model ranks next users) ranked.
  const ranks = typeof input.model.nextUserScores === 'function';
  const total = test.filter(simulated).length + (ranks ? test.length : 0);
  const task = input.progress.start(`evaluation in ${shards} processes (${test.length} test cascades x ${settings.simulations ?? 1000})`, total);
  const done = new Map<string, number>();
  let shown = 0;
  let failure: { shard: number; outcome: TrialOutcome } | undefined;
  const pool = new TrialPool({
    workers: shards,
    graceMs: input.graceMs ?? 10_000,
    events: {
      task(index, _slot, update) {
        if (!/^simulating |^ranking /.test(update.label)) return;
        // One task per piece and stage (a process runs several pieces): keyed by the process's task id.
        done.set(`${index}:${update.id ?? update.label}`, update.value);
        let sum = 0;
        for (const v of done.values()) sum += v;
        if (sum > shown) {
          task.tick(sum - shown, `shard ${index + 1}/${shards}: ${update.label} ${update.value}/${update.total ?? '?'}`);
          shown = sum;
        }
      },
      log(index, level, message) {
        // A shard's own lines (data loaded, shard done) are details; its warnings are the run's.
        if (level === 'warn' || level === 'error') logger[level](`evaluation shard ${index + 1}/${shards}: ${message}`);
        else logger.debug(`evaluation shard ${index + 1}/${shards}: ${message}`);
      },
      trialEnded(index, _slot, outcome) {
        if (outcome.status === 'FINISHED' || failure) return;
        failure = { shard: index, outcome };
        // One shard failed: the evaluation has failed; the others stop.
        pool.cancel(`shard ${index + 1} of ${shards} ${outcome.status === 'KILLED' ? 'was stopped' : 'failed'}`);
      },
    },
  });
  const onAbort = () => pool.cancel(String(signal.reason ?? 'cancelled'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const network = microscopicNetworkEvaluation(input.model, data);
    // Awaited after the shards; a failure there is reported then, not as an unhandled rejection.
    network.catch(() => undefined);
    const outcomes = await pool.run(jobs);
    if (signal.aborted) throw new CancelledError(`evaluation stopped: ${String(signal.reason ?? 'cancelled')}`);
    if (failure) {
      const { shard, outcome } = failure;
      if (outcome.status === 'KILLED') throw new CancelledError(`evaluation shard ${shard + 1} of ${shards} was stopped: ${outcome.error ?? 'cancelled'}`);
      const code: ErrorCode = outcome.errorCode && outcome.errorCode in ERROR_CODES ? (outcome.errorCode as ErrorCode) : 'MODEL';
      throw new CascadeError(code, `evaluation shard ${shard + 1} of ${shards} (a child process) failed: ${outcome.error ?? 'no message'}`);
    }
    const results: MicroscopicShardResult[] = [];
    const processSeconds: number[] = [];
    const piecesOf: number[] = [];
    for (let k = 0; k < shards; k++) {
      const r = outcomes.get(k)?.pieces;
      if (!r) throw new CascadeError('MODEL', `evaluation shard ${k + 1} of ${shards} ended without a result`);
      results.push(...r);
      processSeconds.push(r.reduce((sum, p) => sum + p.seconds, 0));
      piecesOf.push(r.length);
    }
    task.done();
    // Every piece once (mergeMicroscopicShards also checks that they cover the test split in order).
    const outcome = mergeMicroscopicShards(results, settings, { network: await network, seconds: (performance.now() - started) / 1000, processSeconds });
    outcome.summary += `\n(merged from ${shards} local processes; their seconds ${processSeconds.map((x) => x.toFixed(1)).join(', ')}, pieces ${piecesOf.join(', ')} of ${ranges.length})`;
    return outcome;
  } finally {
    signal.removeEventListener('abort', onAbort);
    task.done();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    rmSync(claimDir, { recursive: true, force: true });
  }
}
