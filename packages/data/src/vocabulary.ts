/**
 * Vocabularies: users (index 0 `<blank>`, 1 `</s>` as in the NDM code, real users from 2) and words
 * of root texts and news items (0 `<pad>`, 1 `<unk>`).
 */
import { END_USER, PAD_USER, RESERVED_USERS, type UserVocabulary } from '@cascade-lab/core';
import { TextSource, parseInteger, quote, type ParseOptions } from './parse-util.js';

export const PAD_TOKEN = '<blank>';
export const END_TOKEN = '</s>';

/** A user vocabulary that grows as users are added. Implements core's {@link UserVocabulary}. */
export class Vocabulary implements UserVocabulary {
  private readonly toIndex = new Map<string, number>();
  private readonly toRaw: string[] = [PAD_TOKEN, END_TOKEN];

  constructor(rawIds: Iterable<string> = []) {
    for (const id of rawIds) this.add(id);
  }

  get size(): number {
    return this.toRaw.length;
  }

  /** Number of real users (the size without the two reserved indices). */
  get userCount(): number {
    return this.toRaw.length - RESERVED_USERS;
  }

  indexOf(rawId: string): number | undefined {
    return this.toIndex.get(rawId);
  }

  rawIdOf(index: number): string {
    const raw = this.toRaw[index];
    if (raw === undefined) throw new RangeError(`user index ${index} is outside the vocabulary (size ${this.size})`);
    return raw;
  }

  /** Index of `rawId`, adding it when new. */
  add(rawId: string): number {
    const known = this.toIndex.get(rawId);
    if (known !== undefined) return known;
    const i = this.toRaw.length;
    this.toRaw.push(rawId);
    this.toIndex.set(rawId, i);
    return i;
  }

  /** Raw ids of the real users in index order (index 2 first). */
  rawIds(): string[] {
    return this.toRaw.slice(RESERVED_USERS);
  }
}

/**
 * Reads an `idx2u.tsv` file: `index<TAB>raw id` per line, indices 0, 1, 2, ... in order, row 0
 * `<blank>` and row 1 `</s>` (the NDM repository's `idx2u.pickle` written as text).
 */
export function parseIdx2u(text: string, file: string, options: ParseOptions = {}): Vocabulary {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent('users');
  const vocab = new Vocabulary();
  let expected = 0;
  for (const line of src.lines) {
    if (line.text.trim().length === 0) {
      if (line.no === src.lines.length) continue;
      src.fail(line, 'blank line inside idx2u.tsv');
    }
    const tab = line.text.indexOf('\t');
    if (tab < 0) src.fail(line, `expected "index<TAB>user id", got ${quote(line.text)}`);
    const idx = parseInteger(line.text.slice(0, tab));
    const raw = line.text.slice(tab + 1);
    if (idx === undefined) src.fail(line, `index ${quote(line.text.slice(0, tab))} is not an integer`, 1);
    if (idx !== expected) src.fail(line, `index ${idx} out of sequence (expected ${expected})`, 1);
    if (raw.length === 0 || raw.includes('\t')) src.fail(line, `bad user id ${quote(raw)}`, tab + 2);
    if (expected === PAD_USER && raw !== PAD_TOKEN) src.fail(line, `row 0 must be ${PAD_TOKEN}, got ${quote(raw)}`, tab + 2);
    if (expected === END_USER && raw !== END_TOKEN) src.fail(line, `row 1 must be ${END_TOKEN}, got ${quote(raw)}`, tab + 2);
    if (expected >= RESERVED_USERS) {
      if (vocab.indexOf(raw) !== undefined) src.fail(line, `user id ${quote(raw)} listed twice`, tab + 2);
      vocab.add(raw);
    }
    expected++;
  }
  if (expected < RESERVED_USERS) src.fail(src.lines.length, `idx2u.tsv must start with the rows 0 ${PAD_TOKEN} and 1 ${END_TOKEN}`);
  return vocab;
}

/** Writes a vocabulary as `idx2u.tsv` (inverse of {@link parseIdx2u}). */
export function writeIdx2u(vocab: UserVocabulary): string {
  const rows: string[] = [];
  for (let i = 0; i < vocab.size; i++) rows.push(`${i}\t${i === PAD_USER ? PAD_TOKEN : i === END_USER ? END_TOKEN : vocab.rawIdOf(i)}`);
  return rows.join('\n') + '\n';
}

/** Index 0 of every word vocabulary: padding. */
export const PAD_WORD = 0;
/** Index 1 of every word vocabulary: any word not in the vocabulary. */
export const UNKNOWN_WORD = 1;

/**
 * Splits raw text into lower-case word tokens: runs of Unicode letters, digits and marks, plus
 * `#tags`, `@mentions` and single CJK ideographs (Weibo text has no spaces between words).
 */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /[#@]?[\p{L}\p{N}\p{M}_]+/gu;
  for (const m of text.toLowerCase().matchAll(re)) {
    const tok = m[0];
    if (/\p{Script=Han}/u.test(tok)) {
      // Han characters: one token each; other scripts in the run stay whole words.
      for (const part of tok.match(/\p{Script=Han}|[^\p{Script=Han}]+/gu) ?? []) out.push(part);
    } else out.push(tok);
  }
  return out;
}

export interface WordVocabularyOptions {
  /** Keep words seen at least this often (default 1). */
  minCount?: number;
  /** Keep at most this many words (most frequent first; ties by first appearance). Default unlimited. */
  maxWords?: number;
}

/** Words of root texts and news items: index 0 `<pad>`, 1 `<unk>`, then words by frequency. */
export class WordVocabulary {
  private readonly toIndex = new Map<string, number>();
  private readonly words: string[] = ['<pad>', '<unk>'];

  /** Builds from token lists (usually the training cascades' texts and news only). */
  static build(documents: Iterable<readonly string[]>, options: WordVocabularyOptions = {}): WordVocabulary {
    const counts = new Map<string, number>();
    for (const doc of documents) for (const w of doc) counts.set(w, (counts.get(w) ?? 0) + 1);
    const minCount = options.minCount ?? 1;
    // Map iteration order is first appearance, and sort is stable: ties keep first appearance.
    const kept = [...counts.entries()].filter(([, n]) => n >= minCount).sort((a, b) => b[1] - a[1]);
    const v = new WordVocabulary();
    for (const [w] of kept.slice(0, options.maxWords ?? kept.length)) v.add(w);
    return v;
  }

  /** From a word list in index order (`words[0]`, `words[1]` must be `<pad>`, `<unk>`). */
  static fromWords(words: readonly string[]): WordVocabulary {
    if (words[0] !== '<pad>' || words[1] !== '<unk>') throw new RangeError('a word list must start with <pad>, <unk>');
    const v = new WordVocabulary();
    for (const w of words.slice(2)) v.add(w);
    return v;
  }

  private add(w: string): void {
    if (this.toIndex.has(w)) return;
    this.toIndex.set(w, this.words.length);
    this.words.push(w);
  }

  get size(): number {
    return this.words.length;
  }

  indexOf(word: string): number {
    return this.toIndex.get(word) ?? UNKNOWN_WORD;
  }

  wordOf(index: number): string {
    const w = this.words[index];
    if (w === undefined) throw new RangeError(`word index ${index} is outside the vocabulary (size ${this.size})`);
    return w;
  }

  /** Token indices of a document, unknown words as {@link UNKNOWN_WORD}, optionally cut to `maxLength`. */
  encode(tokens: readonly string[], maxLength?: number): Int32Array {
    const n = maxLength === undefined ? tokens.length : Math.min(tokens.length, maxLength);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.indexOf(tokens[i]);
    return out;
  }

  /** All words in index order (for saving with a model). */
  toWords(): string[] {
    return this.words.slice();
  }
}
