/**
 * The NDM format (Yang et al., "Neural Diffusion Model for Microscopic Cascade Study", the authors'
 * repository `data/<name>/`): one cascade per line, `user,timestamp user,timestamp ...` in time
 * order, pairs separated by spaces; `cascade.txt` (train), `cascadetest.txt` (test) and `idx2u.tsv`
 * (vocabulary index -> raw user id). Blank lines are skipped, as the NDM loader does.
 */
import type { Cascade, InfectionEvent } from '@cascade-lab/core';
import { TextSource, ensureTimeOrder, parseNumber, quote, splitWhitespace, type Line, type ParseOptions } from '../parse-util.js';
import { Vocabulary } from '../vocabulary.js';

export interface NdmParseOptions extends ParseOptions {
  /**
   * Maps raw user ids to indices. With a fixed vocabulary (from `idx2u.tsv`) a user missing from it
   * is an `unknown-user` problem; with `extendVocabulary` new users are added instead.
   */
  vocabulary: Vocabulary;
  extendVocabulary?: boolean;
  /** Prefix of the generated cascade ids (`<prefix><line number>`). Default: the file name and `:`. */
  idPrefix?: string;
}

/** Parses NDM cascade lines into core cascades (user indices from the vocabulary). */
export function parseNdmCascades(text: string, file: string, options: NdmParseOptions): Cascade[] {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent();
  const vocab = options.vocabulary;
  const prefix = options.idPrefix ?? `${file}:`;
  const cascades: Cascade[] = [];
  src.eachLine((line) => {
    const chunks = splitWhitespace(line.text);
    let events: InfectionEvent[] = [];
    const seen = new Set<number>();
    // 1-based column of the k-th chunk, for messages: found once, left to right, as problems ask
    // for them (k only grows), so a line with many problems stays linear (issue 21: a rescan per
    // problem made --lenient quadratic).
    const starts: number[] = [];
    const colOf = (k: number) => {
      for (let i = starts.length; i <= k; i++) starts.push(line.text.indexOf(chunks[i], i === 0 ? 0 : starts[i - 1] + chunks[i - 1].length));
      return starts[k] + 1;
    };
    for (let k = 0; k < chunks.length; k++) {
      const chunk = chunks[k];
      const comma = chunk.indexOf(',');
      if (comma <= 0 || comma !== chunk.lastIndexOf(',') || comma === chunk.length - 1) {
        src.problem(line, 'malformed-line', `expected "user,timestamp", got ${quote(chunk)}`, colOf(k));
        return;
      }
      const raw = chunk.slice(0, comma);
      const time = parseNumber(chunk.slice(comma + 1));
      if (time === undefined) {
        src.problem(line, 'bad-number', `timestamp ${quote(chunk.slice(comma + 1))} of user ${quote(raw)} is not a number`, colOf(k) + comma + 1);
        continue;
      }
      let user = vocab.indexOf(raw);
      if (user === undefined) {
        if (!options.extendVocabulary) {
          src.problem(line, 'unknown-user', `user ${quote(raw)} is not in the user vocabulary (idx2u.tsv)`, colOf(k));
          continue;
        }
        user = vocab.add(raw);
      }
      if (seen.has(user)) {
        src.problem(line, 'duplicate-user', `user ${quote(raw)} is infected twice in this cascade`, colOf(k));
        continue;
      }
      seen.add(user);
      events.push({ user, time });
    }
    if (line.unterminated) noticeCutNumber(src, line, chunks, colOf);
    events = ensureTimeOrder(src, line, events, 'infections');
    if (events.length === 0) {
      src.problem(line, 'empty-cascade', 'no valid infection on this line');
      return;
    }
    cascades.push({ id: `${prefix}${line.no}`, events });
  });
  return cascades;
}

/**
 * The file's last line has no newline. If its last timestamp is written shorter than the one
 * before it (times grow, so a later one is rarely shorter), the file was probably cut in the middle
 * of that number, which still parses: say so (it is kept, being valid).
 */
function noticeCutNumber(src: TextSource, line: Line, chunks: string[], colOf: (k: number) => number): void {
  if (chunks.length < 2) return;
  const timeOf = (chunk: string) => chunk.slice(chunk.indexOf(',') + 1);
  const last = timeOf(chunks[chunks.length - 1]);
  const before = timeOf(chunks[chunks.length - 2]);
  if (last.length === 0 || last.length >= before.length) return;
  const k = chunks.length - 1;
  src.notice(
    line,
    'truncated-last-line',
    `the last line has no newline and its last timestamp ${quote(last)} is shorter than the one before it (${quote(before)}): was the file cut mid-number?`,
    colOf(k) + chunks[k].indexOf(',') + 1,
  );
}

/** Writes cascades in the NDM format (raw user ids from the vocabulary; times as shortest round-trip decimals). */
export function writeNdmCascades(cascades: readonly Cascade[], vocab: Pick<Vocabulary, 'rawIdOf'>): string {
  let out = '';
  for (const c of cascades) {
    if (c.events.length === 0) throw new RangeError(`cascade ${c.id} has no events; the NDM format cannot hold it`);
    out += c.events.map((e) => `${checkToken(vocab.rawIdOf(e.user), 'NDM user id', /[\s,]/)},${formatNumber(e.time)}`).join(' ') + '\n';
  }
  return out;
}

/** Throws when a raw id cannot be written in a format (it holds a separator or is empty). */
export function checkToken(raw: string, what: string, forbidden: RegExp): string {
  if (raw.length === 0 || forbidden.test(raw)) throw new RangeError(`${what} ${JSON.stringify(raw)} cannot be written: it is empty or contains a separator`);
  return raw;
}

/** Shortest decimal that parses back to exactly the same double. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot write the non-finite number ${x}`);
  return Object.is(x, -0) ? '0' : String(x);
}
