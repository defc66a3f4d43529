/**
 * Error types with stable codes. The CLI maps each code to an exit code and prints the one-line
 * message (plus `hint` when present); `--verbose` adds the stack. Codes are part of the public API:
 * scripts may match on them, so never rename one.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 2,
  CONFIG_NOT_FOUND: 2,
  USAGE: 2,
  UNKNOWN_MODEL: 3,
  DATA_FORMAT: 4,
  DATA_NOT_FOUND: 4,
  DATA_CHECKSUM: 4,
  BACKEND_UNAVAILABLE: 5,
  TRACKING: 6,
  CANCELLED: 130,
  MODEL: 7,
  /** A saved model that cannot be loaded (missing, unreadable, another format or version): every plugin's `load`. */
  MODEL_LOAD: 7,
  /** A sweep ran to the end but some of its trials failed (`cascade sweep`). */
  TRIALS_FAILED: 8,
  INTERNAL: 1,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface CascadeErrorOptions {
  hint?: string;
  cause?: unknown;
}

/** Base class of every error the framework raises on purpose. */
export class CascadeError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: CascadeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }

  /** Process exit code the CLI uses for this error. */
  get exitCode(): number {
    return ERROR_CODES[this.code];
  }
}

/** A place in a text file, 1-based, as editors show it. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export function formatLocation(loc: SourceLocation): string {
  if (loc.line === undefined) return loc.file;
  return loc.column === undefined ? `${loc.file}:${loc.line}` : `${loc.file}:${loc.line}:${loc.column}`;
}

/** One problem found in a config file. */
export interface ConfigIssue {
  /** Dot path of the offending key, e.g. `model.hyperparameters.heads`. Empty for the root. */
  keyPath: string;
  message: string;
  line?: number;
  column?: number;
}

/** A config file that cannot be used; lists every issue found, each with its key path and position. */
export class ConfigError extends CascadeError {
  readonly file: string;
  readonly issues: ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[], options: CascadeErrorOptions = {}) {
    const lines = issues.map((i) => {
      const where = formatLocation({ file, line: i.line, column: i.column });
      return `${where}: ${i.keyPath ? `${i.keyPath}: ` : ''}${i.message}`;
    });
    super('CONFIG_INVALID', lines.length === 1 ? lines[0] : `${file}: ${issues.length} problems\n  ${lines.join('\n  ')}`, options);
    this.file = file;
    this.issues = issues;
  }
}

/** Input data that does not follow its format. Always names the file and, where known, the line. */
export class DataFormatError extends CascadeError {
  readonly location: SourceLocation;
  readonly problem: string;

  constructor(location: SourceLocation, problem: string, options: CascadeErrorOptions = {}) {
    super('DATA_FORMAT', `${formatLocation(location)}: ${problem}`, options);
    this.location = location;
    this.problem = problem;
  }
}

/**
 * A saved model folder or file that `load` cannot use: missing, unreadable, of another format or an
 * unsupported version, or inconsistent. Every plugin's `load` throws this (code MODEL_LOAD), so
 * scripts and the runner can tell "no usable model here" from other failures.
 */
export class ModelLoadError extends CascadeError {
  readonly file: string;

  constructor(file: string, problem: string, options: CascadeErrorOptions = {}) {
    super('MODEL_LOAD', `${file}: ${problem}`, options);
    this.file = file;
  }
}

/** Raised when work is stopped through an AbortSignal (Ctrl-C, SIGTERM). */
export class CancelledError extends CascadeError {
  constructor(message = 'cancelled') {
    super('CANCELLED', message);
  }
}

/** Throws CancelledError when the signal has fired; call it between units of work. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError(typeof signal.reason === 'string' ? signal.reason : 'cancelled');
}

export function isCascadeError(e: unknown): e is CascadeError {
  return e instanceof CascadeError;
}
