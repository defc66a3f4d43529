/** Minimal logging interface; the CLI provides a coloured console implementation. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Writes to stderr (stdout stays free for command output such as tables and JSON). */
export class ConsoleLogger implements Logger {
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  ) {}
  private emit(level: LogLevel, prefix: string, message: string): void {
    if (ORDER[level] >= ORDER[this.level]) this.write(prefix + message);
  }
  debug(message: string): void {
    this.emit('debug', 'debug ', message);
  }
  info(message: string): void {
    this.emit('info', '', message);
  }
  warn(message: string): void {
    this.emit('warn', 'warning: ', message);
  }
  error(message: string): void {
    this.emit('error', 'error: ', message);
  }
}

/** A logger that keeps lines in memory (tests, workers that forward logs). */
export class MemoryLogger implements Logger {
  readonly lines: { level: LogLevel; message: string }[] = [];
  debug(message: string): void {
    this.lines.push({ level: 'debug', message });
  }
  info(message: string): void {
    this.lines.push({ level: 'info', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string): void {
    this.lines.push({ level: 'error', message });
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
