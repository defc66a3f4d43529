import { ConsoleLogger, TerminalProgress, type Logger, type ProgressReporter } from '@cascade-lab/core';

/** Options every command accepts (declared once in main.ts). */
export interface GlobalOptions {
  verbose: boolean;
  quiet: boolean;
  progress: 'auto' | 'bar' | 'lines' | 'quiet';
}

/** `--json` output: numbers that JSON cannot hold (NaN, ±Infinity) as strings. */
export function jsonSafe(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n';
}

export function loggerFor(opts: Partial<GlobalOptions>): Logger {
  return new ConsoleLogger(opts.verbose ? 'debug' : opts.quiet ? 'warn' : 'info');
}

export function progressFor(opts: Partial<GlobalOptions>): ProgressReporter {
  return new TerminalProgress({ mode: opts.quiet ? 'quiet' : (opts.progress ?? 'auto') });
}
