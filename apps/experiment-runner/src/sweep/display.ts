import cliProgress from 'cli-progress';
import type { LogLevel, ProgressMode } from '@cascade-lab/core';
import type { TrialOutcome, TrialTaskUpdate } from './pool.js';

/**
 * One progress display for a whole sweep. On a terminal: a bar over all trials plus one line per
 * worker slot showing its trial and that trial's current task. On a pipe or in CI: a line when a
 * trial starts and ends, and at most every `lineIntervalSeconds` a line per running trial.
 */
export interface SweepDisplay {
  begin(total: number, alreadyDone: number): void;
  trialStarted(label: string, slot: number): void;
  task(label: string, slot: number, update: TrialTaskUpdate): void;
  trialEnded(label: string, slot: number, outcome: TrialOutcome): void;
  /** A log line that must not break the display. */
  log(level: Exclude<LogLevel, 'silent'>, line: string): void;
  end(): void;
}

export interface DisplayOptions {
  mode?: ProgressMode;
  stream?: NodeJS.WriteStream;
  lineIntervalSeconds?: number;
  now?: () => number;
}

export function createSweepDisplay(options: DisplayOptions = {}): SweepDisplay {
  const stream = options.stream ?? process.stderr;
  const mode = options.mode ?? 'auto';
  const resolved = mode === 'auto' ? (stream.isTTY && !process.env.CI ? 'bar' : 'lines') : mode;
  if (resolved === 'bar') return new BarDisplay(stream);
  if (resolved === 'lines') return new LineDisplay(stream, (options.lineIntervalSeconds ?? 10) * 1000, options.now ?? Date.now);
  return new QuietDisplay(stream);
}

function describeTask(u: TrialTaskUpdate): string {
  const count = u.total !== undefined ? `${u.value}/${u.total}` : String(u.value);
  return `${u.label} ${count}${u.status ? `  ${u.status}` : ''}`;
}

function describeOutcome(o: TrialOutcome): string {
  const time = `${o.seconds.toFixed(1)} s`;
  if (o.status === 'FINISHED') return `finished in ${time}`;
  return `${o.status === 'KILLED' ? 'killed' : 'FAILED'} after ${time}: ${(o.error ?? '').split('\n')[0]}`;
}

class Counter {
  total = 0;
  done = 0;
  failed = 0;
  text(): string {
    return `${this.done}/${this.total} trials${this.failed ? `, ${this.failed} failed` : ''}`;
  }
  end(o: TrialOutcome): void {
    this.done++;
    if (o.status !== 'FINISHED') this.failed++;
  }
}

class QuietDisplay implements SweepDisplay {
  constructor(private readonly stream: NodeJS.WriteStream) {}
  begin(): void {}
  trialStarted(): void {}
  task(): void {}
  trialEnded(): void {}
  log(level: Exclude<LogLevel, 'silent'>, line: string): void {
    if (level === 'warn' || level === 'error') this.stream.write(line + '\n');
  }
  end(): void {}
}

class LineDisplay implements SweepDisplay {
  private readonly counter = new Counter();
  private readonly current = new Map<number, { label: string; task?: TrialTaskUpdate; lastPrint: number }>();
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly interval: number,
    private readonly now: () => number,
  ) {}
  begin(total: number, alreadyDone: number): void {
    this.counter.total = total;
    this.stream.write(`sweep: ${total} trials to run${alreadyDone ? ` (${alreadyDone} already finished, skipped)` : ''}\n`);
  }
  trialStarted(label: string, slot: number): void {
    this.current.set(slot, { label, lastPrint: this.now() });
    this.stream.write(`[${this.counter.text()}] start ${label}\n`);
  }
  task(label: string, slot: number, update: TrialTaskUpdate): void {
    const c = this.current.get(slot);
    if (!c) return;
    c.task = update;
    const t = this.now();
    if (t - c.lastPrint >= this.interval) {
      c.lastPrint = t;
      this.stream.write(`[${this.counter.text()}] ${label}: ${describeTask(update)}\n`);
    }
  }
  trialEnded(label: string, slot: number, outcome: TrialOutcome): void {
    this.current.delete(slot);
    this.counter.end(outcome);
    this.stream.write(`[${this.counter.text()}] ${label}: ${describeOutcome(outcome)}\n`);
  }
  log(_level: Exclude<LogLevel, 'silent'>, line: string): void {
    this.stream.write(line + '\n');
  }
  end(): void {}
}

class BarDisplay implements SweepDisplay {
  private readonly counter = new Counter();
  private readonly multi: cliProgress.MultiBar;
  private overall?: cliProgress.SingleBar;
  private readonly slots = new Map<number, cliProgress.SingleBar>();

  constructor(stream: NodeJS.WriteStream) {
    this.multi = new cliProgress.MultiBar(
      { stream, hideCursor: true, clearOnComplete: false, fps: 5, format: '{name} [{bar}] {value}/{total} {status}', autopadding: true },
      cliProgress.Presets.shades_classic,
    );
  }
  begin(total: number): void {
    this.counter.total = total;
    this.overall = this.multi.create(total, 0, { name: 'sweep', status: '' });
  }
  private slotBar(slot: number): cliProgress.SingleBar {
    let bar = this.slots.get(slot);
    if (!bar) this.slots.set(slot, (bar = this.multi.create(1, 0, { name: `  #${slot + 1}`, status: '' })));
    return bar;
  }
  trialStarted(label: string, slot: number): void {
    const bar = this.slotBar(slot);
    bar.setTotal(1);
    bar.update(0, { status: `${label}: starting` });
  }
  task(label: string, slot: number, update: TrialTaskUpdate): void {
    const bar = this.slotBar(slot);
    bar.setTotal(update.total ?? Math.max(1, update.value));
    bar.update(update.value, { status: `${label}: ${update.label}${update.status ? `  ${update.status}` : ''}` });
  }
  trialEnded(label: string, slot: number, outcome: TrialOutcome): void {
    this.counter.end(outcome);
    this.overall?.update(this.counter.done, { status: this.counter.failed ? `${this.counter.failed} failed` : '' });
    this.slotBar(slot).update(0, { status: 'idle' });
    this.multi.log(`${label}: ${describeOutcome(outcome)}\n`);
  }
  log(_level: Exclude<LogLevel, 'silent'>, line: string): void {
    this.multi.log(line + '\n');
  }
  end(): void {
    this.multi.stop();
  }
}
