import cliProgress from 'cli-progress';

/** One unit of long work (an epoch, an evaluation), reported as it advances. */
export interface ProgressTask {
  /** Advances by `n` (default 1) and optionally updates the status text (e.g. `loss 4.21`). */
  tick(n?: number, status?: string): void;
  /** Sets the status text without advancing. */
  status(status: string): void;
  /** Marks the task finished (idempotent). */
  done(): void;
}

export interface ProgressReporter {
  /** Starts a task; `total` undefined means unknown length. */
  start(label: string, total?: number): ProgressTask;
}

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'quiet';

export interface ProgressOptions {
  mode?: ProgressMode;
  /** Stream to draw on (default stderr). */
  stream?: NodeJS.WriteStream;
  /** Minimum seconds between plain progress lines (default 10). */
  lineIntervalSeconds?: number;
  /** Clock, for tests. */
  now?: () => number;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Progress for humans and logs alike: a live bar on a TTY; on a pipe or in CI, a plain line at most
 * every `lineIntervalSeconds` plus one at the end (so logs stay readable); nothing in quiet mode.
 */
export class TerminalProgress implements ProgressReporter {
  private readonly mode: Exclude<ProgressMode, 'auto'>;
  private readonly stream: NodeJS.WriteStream;
  private readonly interval: number;
  private readonly now: () => number;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    const mode = options.mode ?? 'auto';
    this.mode = mode === 'auto' ? (this.stream.isTTY && !process.env.CI ? 'bar' : 'lines') : mode;
    this.interval = (options.lineIntervalSeconds ?? 10) * 1000;
    this.now = options.now ?? Date.now;
  }

  start(label: string, total?: number): ProgressTask {
    if (this.mode === 'quiet') return new NullTask();
    if (this.mode === 'bar') return new BarTask(label, total, this.stream);
    return new LineTask(label, total, this.stream, this.interval, this.now);
  }
}

class NullTask implements ProgressTask {
  tick(): void {}
  status(): void {}
  done(): void {}
}

class BarTask implements ProgressTask {
  private readonly bar: cliProgress.SingleBar;
  private value = 0;
  private finished = false;
  constructor(label: string, private readonly total: number | undefined, stream: NodeJS.WriteStream) {
    const format = total === undefined ? `${label} {value} {status}` : `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted} {status}`;
    this.bar = new cliProgress.SingleBar({ format, stream, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 5 }, cliProgress.Presets.shades_classic);
    this.bar.start(total ?? 0, 0, { status: '' });
  }
  tick(n = 1, status?: string): void {
    this.value += n;
    this.bar.update(this.value, status === undefined ? undefined : { status });
  }
  status(status: string): void {
    this.bar.update(this.value, { status });
  }
  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.total !== undefined) this.bar.update(this.total);
    this.bar.stop();
  }
}

class LineTask implements ProgressTask {
  private value = 0;
  private lastStatus = '';
  private lastPrint: number;
  private readonly startedAt: number;
  private finished = false;
  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly stream: NodeJS.WriteStream,
    private readonly interval: number,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
    this.lastPrint = this.startedAt;
  }
  private line(final: boolean): string {
    const elapsed = (this.now() - this.startedAt) / 1000;
    const parts = [this.label];
    if (this.total !== undefined) {
      const pct = this.total > 0 ? (100 * this.value) / this.total : 100;
      parts.push(`${this.value}/${this.total} (${pct.toFixed(0)}%)`);
      if (!final && this.value > 0) parts.push(`eta ${formatSeconds((elapsed / this.value) * (this.total - this.value))}`);
    } else parts.push(String(this.value));
    parts.push(final ? `done in ${formatSeconds(elapsed)}` : `${formatSeconds(elapsed)} elapsed`);
    if (this.lastStatus) parts.push(this.lastStatus);
    return parts.join('  ');
  }
  tick(n = 1, status?: string): void {
    this.value += n;
    if (status !== undefined) this.lastStatus = status;
    const t = this.now();
    if (t - this.lastPrint >= this.interval) {
      this.lastPrint = t;
      this.stream.write(this.line(false) + '\n');
    }
  }
  status(status: string): void {
    this.lastStatus = status;
  }
  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.stream.write(this.line(true) + '\n');
  }
}

export const quietProgress: ProgressReporter = new TerminalProgress({ mode: 'quiet' });
