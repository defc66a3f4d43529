/**
 * Retweet event lists with follower counts:
 * - TiDeH (Kobayashi & Lambiotte, ICWSM 2016; NII-Kobayashi/TiDeH `data/training/RT*.txt`): one
 *   cascade per file, space separated; first line `<number of retweets> <start time of the tweet in
 *   days>`, then `<seconds since the post> <followers>` per tweet, the root first at time 0.
 * - SEISMIC (Zhao et al., KDD 2015; the CRAN package `seismic`, data `tweet`): one cascade per CSV
 *   file, header `relative_time_second,number_of_followers`, the root first at time 0.
 * - Long CSV: `cascade_id,magnitude,time,user` with a header (any column order; `user` optional),
 *   one row per tweet, the root being each cascade's first row; times in seconds on any origin
 *   (`rootTime` = the root's time, event times are relative to it); magnitude = follower count.
 */
import type { MacroCascade, RetweetEvent } from '@cascade-lab/core';
import { TextSource, csvField, parseNumber, quote, splitCsvLine, splitWhitespace, stableSortByTime, type Line, type ParseOptions } from '../parse-util.js';
import { formatNumber } from './ndm.js';

function followersOf(src: TextSource, line: Line, raw: string): number | undefined {
  const f = parseNumber(raw);
  if (f === undefined || f < 0) {
    src.problem(line, 'bad-number', `follower count ${quote(raw)} is not a non-negative number`);
    return undefined;
  }
  return f;
}

function timeOf(src: TextSource, line: Line, raw: string, allowNegative = false): number | undefined {
  const t = parseNumber(raw);
  if (t === undefined || (!allowNegative && t < 0)) {
    src.problem(line, 'bad-number', `time ${quote(raw)} is not a ${allowNegative ? '' : 'non-negative '}number`);
    return undefined;
  }
  return t;
}

/**
 * One retweet per line: an out-of-order time is reported at its own line (not the file's last);
 * lenient: one counted warning, then a stable sort.
 */
function inTimeOrder(src: TextSource, rows: (RetweetEvent & { line: Line })[]): RetweetEvent[] {
  const events = rows.map(({ time, followers }) => ({ time, followers }));
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].time < rows[i - 1].time) {
      src.problem(rows[i].line, 'out-of-order', `retweets out of time order: time ${rows[i].time} (line ${rows[i].line.no}) comes after ${rows[i - 1].time} (line ${rows[i - 1].line.no})`);
      return stableSortByTime(events);
    }
  }
  return events;
}

export interface TidehFile {
  cascade: MacroCascade;
  /** The tweet's start time in days, as the first line gives it (TiDeH uses its fraction: the time of day). */
  startDays: number;
}

/** Parses one TiDeH retweet file. `id` names the cascade (default: the file name). */
export function parseTideh(text: string, file: string, options: ParseOptions & { id?: string } = {}): TidehFile {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent('retweets');
  const lines = src.contentLines();
  const head = splitWhitespace(lines[0].text);
  const declared = head.length === 2 ? parseNumber(head[0]) : undefined;
  const startDays = head.length === 2 ? parseNumber(head[1]) : undefined;
  if (declared === undefined || startDays === undefined || !Number.isInteger(declared) || declared < 0) {
    src.fail(lines[0], `first line must be "<number of retweets> <start time in days>", got ${quote(lines[0].text)}`);
  }
  const rows: (RetweetEvent & { line: Line })[] = [];
  src.eachLine((line) => {
    if (line === lines[0]) return;
    const t = splitWhitespace(line.text);
    if (t.length !== 2) return src.problem(line, 'malformed-line', `expected "<seconds> <followers>", got ${quote(line.text)}`);
    const time = timeOf(src, line, t[0]);
    const followers = followersOf(src, line, t[1]);
    if (time === undefined || followers === undefined) return;
    rows.push({ time, followers, line });
  });
  if (rows.length === 0) src.fail(lines[0], 'no tweet after the first line (the root is missing)');
  const root = rows[0];
  if (root.time !== 0) src.fail(root.line, `the first tweet is the root and must be at time 0, got ${root.time}`);
  const events = inTimeOrder(src, rows.slice(1));
  if (events.length !== declared) src.problem(lines[0], 'count-mismatch', `the first line declares ${declared} retweets, the file has ${events.length}`);
  return { cascade: { id: options.id ?? file, rootTime: 0, rootFollowers: root.followers, events }, startDays };
}

export function writeTideh(cascade: MacroCascade, startDays = 0): string {
  let out = `${cascade.events.length} ${formatNumber(startDays)}\n0 ${formatNumber(cascade.rootFollowers)}\n`;
  for (const e of cascade.events) out += `${formatNumber(e.time)} ${formatNumber(e.followers)}\n`;
  return out;
}

const SEISMIC_HEADER = ['relative_time_second', 'number_of_followers'];

/** Parses one SEISMIC CSV file (header `relative_time_second,number_of_followers`; the root first). */
export function parseSeismicCsv(text: string, file: string, options: ParseOptions & { id?: string } = {}): MacroCascade {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent('tweets');
  const lines = src.contentLines();
  const header = splitCsvLine(lines[0].text);
  if (!header || header.length !== 2 || header[0] !== SEISMIC_HEADER[0] || header[1] !== SEISMIC_HEADER[1]) {
    src.fail(lines[0], `expected the header "${SEISMIC_HEADER.join(',')}", got ${quote(lines[0].text)}`);
  }
  const rows: (RetweetEvent & { line: Line })[] = [];
  src.eachLine((line) => {
    if (line === lines[0]) return;
    const f = splitCsvLine(line.text);
    if (!f || f.length !== 2) return src.problem(line, 'malformed-line', `expected "time,followers", got ${quote(line.text)}`);
    const time = timeOf(src, line, f[0]);
    const followers = followersOf(src, line, f[1]);
    if (time === undefined || followers === undefined) return;
    rows.push({ time, followers, line });
  });
  if (rows.length === 0) src.fail(lines[0], 'no tweet after the header (the root is missing)');
  if (rows[0].time !== 0) src.fail(rows[0].line, `the first tweet is the root and must be at time 0, got ${rows[0].time}`);
  const events = inTimeOrder(src, rows.slice(1));
  return { id: options.id ?? file, rootTime: 0, rootFollowers: rows[0].followers, events };
}

export function writeSeismicCsv(cascade: MacroCascade): string {
  let out = `${SEISMIC_HEADER.join(',')}\n0,${formatNumber(cascade.rootFollowers)}\n`;
  for (const e of cascade.events) out += `${formatNumber(e.time)},${formatNumber(e.followers)}\n`;
  return out;
}

const LONG_COLUMNS = ['cascade_id', 'magnitude', 'time', 'user'] as const;

/** Parses the long CSV `cascade_id,magnitude,time,user` (one row per tweet, each cascade's root first). */
export function parseLongCsv(text: string, file: string, options: ParseOptions = {}): MacroCascade[] {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent('cascades');
  const lines = src.contentLines();
  const header = splitCsvLine(lines[0].text);
  const col = new Map<string, number>();
  header?.forEach((h, i) => col.set(h, i));
  const missing = LONG_COLUMNS.filter((c) => c !== 'user' && !col.has(c));
  if (!header || missing.length > 0 || col.size !== header.length) {
    src.fail(lines[0], `expected a header with the columns ${LONG_COLUMNS.join(',')} (user optional), got ${quote(lines[0].text)}`);
  }
  const iId = col.get('cascade_id')!;
  const iMag = col.get('magnitude')!;
  const iTime = col.get('time')!;
  const iUser = col.get('user');
  const byId = new Map<string, { root: RetweetEvent; events: RetweetEvent[]; sorted: boolean }>();
  src.eachLine((line) => {
    if (line === lines[0]) return;
    const f = splitCsvLine(line.text);
    if (!f || f.length !== header.length) return src.problem(line, 'malformed-line', `expected ${header.length} fields, got ${f ? f.length : 'an unbalanced quote'}`);
    const id = f[iId];
    if (id.length === 0) return src.problem(line, 'malformed-line', 'empty cascade_id');
    const time = timeOf(src, line, f[iTime], true);
    const followers = followersOf(src, line, f[iMag]);
    if (time === undefined || followers === undefined) return;
    const ev: RetweetEvent = { time, followers };
    if (iUser !== undefined && f[iUser].length > 0) ev.user = f[iUser];
    const c = byId.get(id);
    if (c === undefined) {
      byId.set(id, { root: ev, events: [], sorted: true });
      return;
    }
    if (time < c.root.time) return src.problem(line, 'out-of-order', `cascade ${quote(id)}: tweet at ${time} is before the cascade's first row (its root, at ${c.root.time})`);
    const prev = c.events.length > 0 ? c.events[c.events.length - 1].time : c.root.time;
    if (time < prev) {
      src.problem(line, 'out-of-order', `cascade ${quote(id)}: tweet at ${time} comes after one at ${prev}`);
      c.sorted = false;
    }
    c.events.push(ev);
  });
  if (byId.size === 0) src.fail(lines[0], 'no rows after the header');
  const out: MacroCascade[] = [];
  for (const [id, c] of byId) {
    const ordered = c.sorted ? c.events : stableSortByTime(c.events);
    const events = ordered.map((e) => ({ ...e, time: e.time - c.root.time }));
    out.push({ id, rootTime: c.root.time, rootFollowers: c.root.followers, events });
  }
  return out;
}

/** Writes the long CSV. Times are written as rootTime + event time, so they read back exactly when both are integers. */
export function writeLongCsv(cascades: readonly MacroCascade[]): string {
  let out = `${LONG_COLUMNS.join(',')}\n`;
  for (const c of cascades) {
    const id = csvField(c.id);
    out += `${id},${formatNumber(c.rootFollowers)},${formatNumber(c.rootTime)},\n`;
    for (const e of c.events) out += `${id},${formatNumber(e.followers)},${formatNumber(c.rootTime + e.time)},${e.user === undefined ? '' : csvField(e.user)}\n`;
  }
  return out;
}
