/**
 * cascade-lab's own JSON Lines format for macroscopic cascades: everything GammaCas (and simpler
 * models) need, one cascade per line. The zod schema below is the specification; the package README
 * shows an example. Convert your own data to it and load it with `format: jsonl`.
 */
import { z } from 'zod';
import type { MacroCascade, NewsItem } from '@cascade-lab/core';
import { TextSource, quote, type ParseOptions } from '../parse-util.js';
import { tokenize } from '../vocabulary.js';

// zod 4 numbers are finite (1e999 parses to Infinity in JSON and is refused).
const finite = z.number();
const nonNegative = z.number().min(0);

/** One retweet. */
export const jsonlEventSchema = z
  .object({
    time: nonNegative.describe('seconds since the root post'),
    followers: nonNegative.default(0).describe("the retweeter's follower count (0 when unknown)"),
    user: z.string().min(1).optional().describe('raw user id'),
  })
  .strict();

/** A news item published around the root post. */
export const jsonlNewsSchema = z
  .object({
    time: finite.describe('seconds relative to the root post (negative: before it)'),
    tokens: z.array(z.string().min(1)).optional().describe('tokens of the headline/text, already split'),
    text: z.string().optional().describe('raw text, split by the built-in tokenizer when `tokens` is absent'),
  })
  .strict()
  .refine((n) => (n.tokens === undefined) !== (n.text === undefined), 'give exactly one of `tokens` and `text`');

/** One cascade (one line). */
export const jsonlCascadeSchema = z
  .object({
    id: z.union([z.string().min(1), z.number()]).transform(String).describe('cascade id, unique in the file'),
    rootTime: finite.default(0).describe('Unix time of the root post in seconds (0 when unknown)'),
    rootFollowers: nonNegative.describe("the root author's follower count"),
    events: z.array(jsonlEventSchema).describe('retweets in time order, the root excluded'),
    text: z
      .union([z.string(), z.array(z.string().min(1))])
      .optional()
      .describe('root post text: raw (tokenized when read) or a token list'),
    news: z.array(jsonlNewsSchema).optional().describe('news items around the post'),
    observedUntil: nonNegative.optional().describe('seconds after the root up to which the events are complete (the crawl end)'),
  })
  .strict();

export type JsonlCascade = z.input<typeof jsonlCascadeSchema>;

/** The line schema as JSON Schema (draft 2020-12), for writing converters in other languages. */
export function jsonlJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(jsonlCascadeSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export function parseJsonl(text: string, file: string, options: ParseOptions = {}): MacroCascade[] {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent();
  const out: MacroCascade[] = [];
  const ids = new Set<string>();
  src.eachLine((line) => {
    let raw: unknown;
    try {
      raw = JSON.parse(line.text);
    } catch (e) {
      return src.problem(line, 'malformed-line', `not valid JSON: ${(e as Error).message}`);
    }
    const r = jsonlCascadeSchema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      const path = issue.path.join('.');
      const badTime = issue.path.some((p) => p === 'time' || p === 'rootTime' || p === 'observedUntil');
      return src.problem(line, badTime ? 'bad-number' : 'malformed-line', `${path ? `${path}: ` : ''}${issue.message}`);
    }
    const c = r.data;
    if (ids.has(c.id)) return src.problem(line, 'malformed-line', `cascade id ${quote(c.id)} is used twice`);
    let events = c.events.map((e) => (e.user === undefined ? { time: e.time, followers: e.followers } : { time: e.time, followers: e.followers, user: e.user }));
    // A user retweets a cascade once (packages/data README); lenient: the later retweet is dropped.
    const firstAt = new Map<string, number>();
    const dropped = new Set<number>();
    events.forEach((e, i) => {
      if (e.user === undefined) return;
      const first = firstAt.get(e.user);
      if (first === undefined) firstAt.set(e.user, i);
      else {
        src.problem(line, 'duplicate-user', `events.${i}: user ${quote(e.user)} retweets twice in this cascade (first at events.${first})`);
        dropped.add(i);
      }
    });
    if (dropped.size > 0) events = events.filter((_, i) => !dropped.has(i));
    for (let i = 1; i < events.length; i++) {
      if (events[i].time < events[i - 1].time) {
        src.problem(line, 'out-of-order', `events.${i}: time ${events[i].time} comes after ${events[i - 1].time}`);
        events = events.slice().sort((a, b) => a.time - b.time);
        break;
      }
    }
    if (c.observedUntil !== undefined && events.length > 0 && events[events.length - 1].time > c.observedUntil) {
      src.fail(line, `an event at ${events[events.length - 1].time} s is after observedUntil (${c.observedUntil} s)`);
    }
    const cascade: MacroCascade = { id: c.id, rootTime: c.rootTime, rootFollowers: c.rootFollowers, events };
    if (c.text !== undefined) cascade.text = typeof c.text === 'string' ? tokenize(c.text) : c.text;
    if (c.news !== undefined) cascade.news = c.news.map((n): NewsItem => ({ time: n.time, tokens: n.tokens ?? tokenize(n.text ?? '') }));
    if (c.observedUntil !== undefined) cascade.observedUntil = c.observedUntil;
    ids.add(c.id);
    out.push(cascade);
  });
  return out;
}

/** Writes cascades as JSON Lines (text and news as token lists). */
export function writeJsonl(cascades: readonly MacroCascade[]): string {
  let out = '';
  for (const c of cascades) {
    const o: Record<string, unknown> = { id: c.id, rootTime: c.rootTime, rootFollowers: c.rootFollowers, events: c.events };
    if (c.text !== undefined) o.text = c.text;
    if (c.news !== undefined) o.news = c.news.map((n) => ({ time: n.time, tokens: n.tokens }));
    if (c.observedUntil !== undefined) o.observedUntil = c.observedUntil;
    out += JSON.stringify(o) + '\n';
  }
  return out;
}
