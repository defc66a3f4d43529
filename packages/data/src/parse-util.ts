/**
 * Shared machinery of every parser: splitting text into numbered lines, strict number parsing, and
 * the one place that decides whether a problem is an error ({@link DataFormatError} naming file,
 * line and problem) or, in lenient mode and for problems the field tolerates, a counted warning.
 */
import { DataFormatError, type SourceLocation } from '@cascade-lab/core';

/**
 * Kinds of problems a parser may meet. Those in {@link TOLERABLE_PROBLEMS} become counted warnings
 * with `lenient: true` (the offending line, event or cascade is skipped, or the events re-sorted);
 * the others are always errors because no reading of the data would be right.
 */
export type ProblemKind =
  | 'malformed-line'
  | 'bad-number'
  | 'out-of-order'
  | 'unknown-user'
  | 'duplicate-user'
  | 'count-mismatch'
  | 'truncated-last-line'
  | 'empty-file'
  | 'bad-header'
  | 'empty-cascade';

/** What lenient mode does with each tolerable problem (used in warnings and docs). */
export const TOLERABLE_PROBLEMS: Readonly<Partial<Record<ProblemKind, string>>> = {
  'malformed-line': 'line skipped',
  'bad-number': 'event (or line) skipped',
  'out-of-order': 'events sorted by time (stable)',
  'unknown-user': 'event dropped',
  'duplicate-user': 'later infection of the same user dropped',
  'count-mismatch': 'declared count ignored',
  'truncated-last-line': 'last line skipped',
  'empty-cascade': 'cascade skipped',
};

export interface ParseOptions {
  /**
   * Turn tolerable problems into counted warnings instead of errors (CLI `--lenient`). Default false:
   * the first problem throws.
   */
  lenient?: boolean;
  /** Collects warnings (and lets a caller share one report over many files). */
  report?: ParseReport;
}

export interface ParseWarning {
  kind: ProblemKind;
  location: SourceLocation;
  problem: string;
}

/** Counted warnings of lenient parsing: per kind a count and the first few examples. */
export class ParseReport {
  readonly counts = new Map<ProblemKind, number>();
  readonly examples: ParseWarning[] = [];
  /**
   * Things the user should hear about in any mode that are not errors (the data is still read as
   * written), e.g. a last line without newline whose last number looks cut short.
   */
  readonly notices: ParseWarning[] = [];
  constructor(private readonly examplesPerKind = 3) {}

  add(w: ParseWarning): void {
    const n = (this.counts.get(w.kind) ?? 0) + 1;
    this.counts.set(w.kind, n);
    if (n <= this.examplesPerKind) this.examples.push(w);
  }

  get total(): number {
    let t = 0;
    for (const n of this.counts.values()) t += n;
    return t;
  }

  /** One line per kind: `3 unknown-user (event dropped), e.g. cascade.txt:17: ...`. */
  summary(): string[] {
    return [...this.counts.entries()].map(([kind, n]) => {
      const ex = this.examples.find((e) => e.kind === kind);
      const eg = ex ? `, e.g. ${ex.location.file}${ex.location.line !== undefined ? `:${ex.location.line}` : ''}: ${ex.problem}` : '';
      return `${n} ${kind} (${TOLERABLE_PROBLEMS[kind] ?? 'error'})${eg}`;
    });
  }
}

export interface Line {
  /** Line content without its terminator (`\n`, `\r\n` or a lone `\r`). */
  text: string;
  /** 1-based line number. */
  no: number;
  /** True for the file's last line when the file does not end with a line terminator. */
  unterminated: boolean;
}

/**
 * A text being parsed: its file name for messages, its numbered lines, and the error/warning policy.
 * Parsers call {@link problem} for every defect; it throws or records, and returns normally only
 * when the caller should skip the offending piece.
 */
export class TextSource {
  readonly lines: Line[];
  readonly lenient: boolean;
  readonly report: ParseReport;

  constructor(
    readonly text: string,
    readonly file: string,
    options: ParseOptions = {},
  ) {
    this.lenient = options.lenient ?? false;
    this.report = options.report ?? new ParseReport();
    this.lines = splitLines(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  }

  /** Lines that are not blank (whitespace only), in order. */
  contentLines(): Line[] {
    return this.lines.filter((l) => l.text.trim().length > 0);
  }

  /**
   * Calls `fn` for every non-blank line (or every line with `includeBlank`). A problem on a
   * truncated last line in lenient mode skips that whole line: nothing from it is kept.
   */
  eachLine(fn: (line: Line) => void, includeBlank = false): void {
    for (const line of this.lines) {
      if (!includeBlank && line.text.trim().length === 0) continue;
      this.guard(() => fn(line));
    }
  }

  /** Runs `fn` (the parsing of one line); a truncated last line skipped in lenient mode ends it quietly. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e !== SKIP_LINE) throw e;
    }
  }

  /** Throws {@link DataFormatError} unless the file has a non-blank line. */
  requireContent(what = 'cascades'): void {
    if (!this.lines.some((l) => l.text.trim().length > 0)) {
      throw new DataFormatError({ file: this.file, line: 1 }, `the file is empty (no ${what})`);
    }
  }

  /**
   * Reports a problem at `line`. Throws a {@link DataFormatError} unless lenient mode is on and the
   * kind is tolerable, in which case it counts a warning and returns (the caller skips the piece).
   * A problem on an unterminated last line is reported as a possibly truncated line.
   */
  problem(line: Line | number | undefined, kind: ProblemKind, message: string, column?: number): void {
    const no = typeof line === 'number' ? line : line?.no;
    const truncated = typeof line === 'object' && line.unterminated;
    const effectiveKind: ProblemKind = truncated ? 'truncated-last-line' : kind;
    const text = truncated ? `${message} (the file ends without a line terminator here: truncated last line?)` : message;
    const location: SourceLocation = { file: this.file, line: no, column };
    if (this.lenient && TOLERABLE_PROBLEMS[effectiveKind] !== undefined) {
      this.report.add({ kind: effectiveKind, location, problem: text });
      if (truncated) throw SKIP_LINE;
      return;
    }
    throw new DataFormatError(location, text);
  }

  /** Records a notice (any mode): the data is kept as written, the user is told. */
  notice(line: Line, kind: ProblemKind, message: string, column?: number): void {
    this.report.notices.push({ kind, location: { file: this.file, line: line.no, column }, problem: message });
  }

  /** Like {@link problem} for defects no mode tolerates. */
  fail(line: Line | number | undefined, message: string, column?: number): never {
    const no = typeof line === 'number' ? line : line?.no;
    throw new DataFormatError({ file: this.file, line: no, column }, message);
  }
}

/** Thrown by {@link TextSource.problem} to skip a truncated last line; caught by {@link TextSource.eachLine}. */
const SKIP_LINE: unique symbol = Symbol('skip-line');

/** Splits text into lines, accepting `\n`, `\r\n` and lone `\r` terminators. A final terminator adds no empty line. */
export function splitLines(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  let no = 1;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) {
      out.push({ text: text.slice(start, i), no: no++, unterminated: false });
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
  }
  if (start < n) out.push({ text: text.slice(start), no, unterminated: true });
  return out;
}

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INT_RE = /^[+-]?\d+$/;

/** A finite decimal number, or undefined (no `NaN`, `Infinity`, hex, empty string or trailing junk). */
export function parseNumber(s: string): number | undefined {
  if (!NUMBER_RE.test(s)) return undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

/** A safe integer written without fraction or exponent, or undefined. */
export function parseInteger(s: string): number | undefined {
  if (!INT_RE.test(s)) return undefined;
  const v = Number(s);
  return Number.isSafeInteger(v) ? v : undefined;
}

/** Shortens a field for messages. */
export function quote(s: string, max = 40): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}...` : s);
}

/** Splits on runs of spaces/tabs, ignoring leading and trailing whitespace. */
export function splitWhitespace(s: string): string[] {
  const t = s.trim();
  return t.length === 0 ? [] : t.split(/[ \t]+/);
}

/**
 * Checks events for time order. Strict: the first decrease is an `out-of-order` problem. Lenient:
 * one counted warning for the cascade, then a stable sort. Returns the (possibly sorted) events.
 */
export function ensureTimeOrder<T extends { time: number }>(src: TextSource, line: Line | number, events: T[], what = 'events'): T[] {
  for (let i = 1; i < events.length; i++) {
    if (events[i].time < events[i - 1].time) {
      src.problem(line, 'out-of-order', `${what} out of time order: time ${events[i].time} (position ${i + 1}) comes after ${events[i - 1].time}`);
      return stableSortByTime(events);
    }
  }
  return events;
}

/** Stable sort by `time` (Array.prototype.sort is stable since ES2019). */
export function stableSortByTime<T extends { time: number }>(events: T[]): T[] {
  return events.slice().sort((a, b) => a.time - b.time);
}

/**
 * Splits one CSV line into fields (RFC 4180 quoting: `"a,b"`, `""` for a quote inside quotes).
 * Returns undefined for an unbalanced quote (a quoted field spanning lines is not supported).
 */
export function splitCsvLine(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    if (line[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        if (i >= n) return undefined;
        const c = line[i];
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < n && line[i] !== ',') return undefined;
      out.push(field);
    } else {
      const next = line.indexOf(',', i);
      const end = next < 0 ? n : next;
      const field = line.slice(i, end);
      if (field.includes('"')) return undefined;
      out.push(field.trim());
      i = end;
    }
    if (i >= n) return out;
    i++; // the comma
    if (i === n) {
      out.push('');
      return out;
    }
  }
}

/** Quotes a CSV field when it needs it. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}
