// The whole-run comparison of `npm run bench -- ndm --peer --epochs N` (issue 22: "Memetracker
// training: the whole 30-epoch run at least 1.5x as fast as the PyTorch peer over the same epochs,
// cold start included"): its options and its table. Pure functions, unit-tested in
// plugins/ndm/test/peer-run.test.ts; the bench (ndm.bench.ts) runs the processes.

import { markdownTable } from './markdown-table.js';

/** Options of the `--peer` mode. */
export interface PeerOptions {
  /** Epochs of the whole run (both sides train the same epochs of the same batches). */
  epochs: number;
  /** Python with torch for tools/bench/peers/ndm_torch.py. */
  python: string;
  /** torch intra-op threads of each peer run, in order (0: the machine's cores, decided by the peer). */
  threads: number[];
  /** The peer computes each batch in the plugin's length-sorted sub-batches (true) or padded whole (false). */
  subBatches: boolean;
}

/** The value after `--name`, or undefined (a flag followed by another flag has no value). */
function valueOf(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`ndm bench: --${name} needs a value`);
  return v;
}

function integer(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min) throw new Error(`ndm bench: --${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

function positiveInteger(argv: readonly string[], name: string, fallback: number, min: number): number {
  const raw = valueOf(argv, name);
  return raw === undefined ? fallback : integer(name, raw, min);
}

/**
 * Reads `--epochs N` (default 5), `--python PATH` (default $CASCADE_TORCH_PYTHON or python3),
 * `--threads N[,N...]` (one peer run per entry, in order; default 0: the cores) and `--peer-batches sub|whole` (default sub) of the `--peer` mode.
 */
export function parsePeerOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): PeerOptions {
  const batches = valueOf(argv, 'peer-batches') ?? 'sub';
  if (batches !== 'sub' && batches !== 'whole') throw new Error(`ndm bench: --peer-batches must be sub or whole, got "${batches}"`);
  return {
    epochs: positiveInteger(argv, 'epochs', 5, 1),
    python: valueOf(argv, 'python') ?? env.CASCADE_TORCH_PYTHON ?? 'python3',
    threads: (valueOf(argv, 'threads') ?? '0').split(',').map((t) => integer('threads', t, 0)),
    subBatches: batches === 'sub',
  };
}

/** One side's whole run, as its process reports it. */
export interface RunTiming {
  label: string;
  /** Seconds of each epoch (the first one cold). */
  epochSeconds: number[];
  /** Trained targets of each epoch. */
  epochTargets: number[];
  /** Mean training loss of each epoch. */
  epochLoss: number[];
  /** The training run: from building the model (ours: the network, trainer and graphs) to the last step. */
  runSeconds: number;
  /** The process from spawn to exit as the bench saw it (start-up, imports, data, training). */
  processSeconds: number;
}

export interface RunSummary {
  epochs: number;
  firstEpochSeconds: number;
  /** Mean seconds of epochs 2..N (NaN with one epoch). */
  restEpochSeconds: number;
  runSeconds: number;
  processSeconds: number;
  /** Targets of all epochs over the training run's seconds. */
  targetsPerSecond: number;
}

export function summarise(run: RunTiming): RunSummary {
  const n = run.epochSeconds.length;
  const rest = run.epochSeconds.slice(1);
  const targets = run.epochTargets.reduce((s, t) => s + t, 0);
  return {
    epochs: n,
    firstEpochSeconds: run.epochSeconds[0],
    restEpochSeconds: rest.length > 0 ? rest.reduce((s, x) => s + x, 0) / rest.length : Number.NaN,
    runSeconds: run.runSeconds,
    processSeconds: run.processSeconds,
    targetsPerSecond: targets / run.runSeconds,
  };
}

/**
 * The speed-up of ours over the peer: the peer's seconds over ours, for the training run and for the
 * whole process (issue 22's target: the training run >= 1.5).
 */
export function speedUp(ours: RunTiming, peer: RunTiming): { run: number; process: number } {
  return { run: peer.runSeconds / ours.runSeconds, process: peer.processSeconds / ours.processSeconds };
}


/**
 * The table the bench prints: ours, then each peer run with its peer / ours ratio row under it
 * (seconds: the peer's over ours; targets/s: ours over the peer's; issue 22's target is the
 * training-run ratio >= 1.5 against the fastest peer run).
 */
export function peerTable(ours: RunTiming, peers: readonly RunTiming[]): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const o = summarise(ours);
  const row = (r: RunTiming, s: RunSummary) => [r.label, String(s.epochs), f(s.firstEpochSeconds), f(s.restEpochSeconds), f(s.runSeconds), f(s.processSeconds), f(s.targetsPerSecond, 0), r.epochLoss.map((l) => l.toFixed(3)).join(', ')];
  const rows = [row(ours, o)];
  for (const peer of peers) {
    const p = summarise(peer);
    const ratio = speedUp(ours, peer);
    rows.push(row(peer, p));
    rows.push(['  peer / ours (speed-up; target >= 1.5)', '', f(p.firstEpochSeconds / o.firstEpochSeconds, 2), f(p.restEpochSeconds / o.restEpochSeconds, 2), f(ratio.run, 2), f(ratio.process, 2), f(o.targetsPerSecond / p.targetsPerSecond, 2), '']);
  }
  return markdownTable(['run', 'epochs', 'epoch 1 (s, cold)', 'epochs 2..N (s each, mean)', 'training run (s)', 'process (s)', 'targets/s (run)', 'loss per epoch'], rows);
}
