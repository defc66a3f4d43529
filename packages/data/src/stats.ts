/**
 * Dataset statistics, the NDM paper's Table 1 columns for microscopic data (users, cascades, average
 * length) plus the time span; for macroscopic data the size distribution.
 *
 * Counting (it reproduces Table 1 for Irvine and Memetracker exactly): users = vocabulary size
 * minus the reserved `<blank>` and `</s>`; cascades = every cascade of the dataset, its train,
 * validation and test files together, before any `minLength` filter; average length = infections
 * ((user, time) pairs) per cascade, the appended `</s>` not counted.
 */
import type { Cascade, MacroCascade, TimeUnit } from '@cascade-lab/core';
import type { DeepCasCascade } from './formats/deepcas.js';
import type { DatasetParts, MacroscopicSource, MicroscopicSource } from './sources.js';

const PART_NAMES = ['train', 'validation', 'test', 'all'] as const;

function partCounts<T>(parts: DatasetParts<T>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of PART_NAMES) if (parts[k]) out[k] = parts[k]!.length;
  return out;
}

function allOf<T>(parts: DatasetParts<T>): T[] {
  return PART_NAMES.flatMap((k) => parts[k] ?? []);
}

/** Quantile with linear interpolation between order statistics (numpy's default `linear` method). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export interface Distribution {
  min: number;
  p25: number;
  median: number;
  p75: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function distribution(values: ArrayLike<number>): Distribution {
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i];
  return {
    min: s.length ? s[0] : Number.NaN,
    p25: quantile(s, 0.25),
    median: quantile(s, 0.5),
    p75: quantile(s, 0.75),
    p90: quantile(s, 0.9),
    p99: quantile(s, 0.99),
    max: s.length ? s[s.length - 1] : Number.NaN,
    mean: s.length ? sum / s.length : Number.NaN,
  };
}

/** Counts per power-of-two bucket: [1], [2,3], [4,7], ... as `{ from, to, count }`. */
export function log2Histogram(values: ArrayLike<number>): { from: number; to: number; count: number }[] {
  const buckets: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 1)) continue;
    const b = Math.floor(Math.log2(v));
    buckets[b] = (buckets[b] ?? 0) + 1;
  }
  const out: { from: number; to: number; count: number }[] = [];
  for (let b = 0; b < buckets.length; b++) out.push({ from: 2 ** b, to: 2 ** (b + 1) - 1, count: buckets[b] ?? 0 });
  return out;
}

export interface MicroscopicStats {
  /** Vocabulary size without `<blank>` and `</s>` (Table 1's "# Users"). */
  users: number;
  /** Distinct users that appear in some cascade. */
  usersInCascades: number;
  cascades: number;
  parts: Record<string, number>;
  infections: number;
  averageLength: number;
  length: Distribution;
  /** Earliest and latest infection time, in the dataset's unit. */
  timeSpan: { first: number; last: number };
  graphEdges?: number;
}

export function microscopicStats(source: Pick<MicroscopicSource, 'users' | 'parts' | 'graph'>): MicroscopicStats {
  const all: Cascade[] = allOf(source.parts);
  const seen = new Set<number>();
  let infections = 0;
  let first = Infinity;
  let last = -Infinity;
  const lengths = new Float64Array(all.length);
  all.forEach((c, i) => {
    lengths[i] = c.events.length;
    infections += c.events.length;
    for (const e of c.events) {
      seen.add(e.user);
      if (e.time < first) first = e.time;
      if (e.time > last) last = e.time;
    }
  });
  const out: MicroscopicStats = {
    users: source.users.size - 2,
    usersInCascades: seen.size,
    cascades: all.length,
    parts: partCounts(source.parts),
    infections,
    averageLength: all.length ? infections / all.length : Number.NaN,
    length: distribution(lengths),
    timeSpan: { first, last },
  };
  if (source.graph) out.graphEdges = source.graph.edges.length / 2;
  return out;
}

export interface MacroscopicStats {
  cascades: number;
  parts: Record<string, number>;
  retweets: number;
  /** Final size per cascade (root included) as read: the size at the end of its data. */
  size: Distribution;
  sizeHistogram: { from: number; to: number; count: number }[];
  /** Seconds from the root to the last retweet. */
  duration: Distribution;
  withFollowers: number;
  withText: number;
  withNews: number;
}

export function macroscopicStats(parts: DatasetParts<MacroCascade>): MacroscopicStats {
  const all = allOf(parts);
  const sizes = all.map((c) => 1 + c.events.length);
  return {
    cascades: all.length,
    parts: partCounts(parts),
    retweets: all.reduce((s, c) => s + c.events.length, 0),
    size: distribution(sizes),
    sizeHistogram: log2Histogram(sizes),
    duration: distribution(all.map((c) => (c.events.length ? c.events[c.events.length - 1].time : 0))),
    withFollowers: all.filter((c) => c.rootFollowers > 0 || c.events.some((e) => e.followers > 0)).length,
    withText: all.filter((c) => c.text !== undefined).length,
    withNews: all.filter((c) => c.news !== undefined).length,
  };
}

export interface DeepCasStats {
  cascades: number;
  parts: Record<string, number>;
  nodes: Distribution;
  sizeHistogram: { from: number; to: number; count: number }[];
  /** Distribution of each label column. */
  labels: Distribution[];
}

export function deepCasStats(parts: DatasetParts<DeepCasCascade>): DeepCasStats {
  const all = allOf(parts);
  const width = Math.max(0, ...all.map((c) => c.labels.length));
  const nodes = all.map((c) => c.numNodes);
  return {
    cascades: all.length,
    parts: partCounts(parts),
    nodes: distribution(nodes),
    sizeHistogram: log2Histogram(nodes),
    labels: Array.from({ length: width }, (_, k) => distribution(all.filter((c) => c.labels.length > k).map((c) => c.labels[k]))),
  };
}

/** Everything `cascade datasets stats` prints about one source. */
export type DatasetStats = { task: 'microscopic'; stats: MicroscopicStats } | { task: 'macroscopic'; stats: MacroscopicStats } | { task: 'deepcas'; stats: DeepCasStats };

export function sourceStats(source: { micro?: MicroscopicSource; macro?: MacroscopicSource }): DatasetStats {
  if (source.micro) return { task: 'microscopic', stats: microscopicStats(source.micro) };
  const m = source.macro!;
  if (m.deepcas) return { task: 'deepcas', stats: deepCasStats(m.deepcas) };
  return { task: 'macroscopic', stats: macroscopicStats(m.parts) };
}

const int = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const num = (n: number, digits = 2) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : String(n));
const plural = (n: number, word: string) => `${int(n)} ${word}${n === 1 ? '' : 's'}`;
const short = (n: number) => (Number.isInteger(n) ? int(n) : num(n, 1));

export interface StatsContext {
  /** Display name (the registry title, else the folder name). */
  title: string;
  format: string;
  location: string;
  time?: { unit: TimeUnit; origin: 'unix' | 'relative' | 'unknown' };
  paperStats?: { users: number; cascades: number; averageLength: number; reference: string };
}

function describeSpan(first: number, last: number, time: StatsContext['time']): string {
  const seconds = time?.unit === 'hours' ? 3600 : time?.unit === 'seconds' ? 1 : undefined;
  const raw = `${num(first, 0)} .. ${num(last, 0)}`;
  if (seconds === undefined) return `${raw} (unit unknown)`;
  const days = ((last - first) * seconds) / 86400;
  if (time?.origin === 'unix') {
    const d = (t: number) => new Date(t * seconds * 1000).toISOString().slice(0, 10);
    return `${d(first)} .. ${d(last)} (${num(days, 1)} days)`;
  }
  return `${raw} ${time?.unit} (${num(days, 1)} days)`;
}

function parts(p: Record<string, number>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k === 'all' ? 'unsplit' : k} ${int(v)}`)
    .join(', ');
}

/** `1,024-2,047: 3, 2,048-4,095: 66, ...` from the first non-empty bucket on. */
function histogramLine(h: { from: number; to: number; count: number }[]): string {
  const first = h.findIndex((b) => b.count > 0);
  return h
    .slice(Math.max(first, 0))
    .map((b) => `${b.from === b.to ? int(b.from) : `${int(b.from)}-${int(b.to)}`}: ${int(b.count)}`)
    .join(', ');
}

function distLine(d: Distribution): string {
  return `min ${short(d.min)}, 25% ${short(d.p25)}, median ${short(d.median)}, 75% ${short(d.p75)}, 90% ${short(d.p90)}, 99% ${short(d.p99)}, max ${short(d.max)}, mean ${num(d.mean)}`;
}

/** The text `cascade datasets stats` prints: a summary line, then one labelled line per fact. */
export function formatStats(ctx: StatsContext, s: DatasetStats): string[] {
  const rows: [string, string][] = [
    ['format', `${ctx.format} (${s.task === 'deepcas' ? 'macroscopic, cascade graphs' : s.task})`],
    ['location', ctx.location],
  ];
  let head: string;
  if (s.task === 'microscopic') {
    const m = s.stats;
    head = `${ctx.title}: ${plural(m.users, 'user')}, ${plural(m.cascades, 'cascade')}, average length ${num(m.averageLength)}`;
    rows.push(['splits', parts(m.parts)], ['infections', int(m.infections)], ['users seen', `${int(m.usersInCascades)} (appearing in cascades)`], ['length', distLine(m.length)]);
    rows.push(['time span', describeSpan(m.timeSpan.first, m.timeSpan.last, ctx.time)]);
    if (m.graphEdges !== undefined) rows.push(['graph', `${int(m.graphEdges)} edges`]);
    if (ctx.paperStats) {
      const p = ctx.paperStats;
      const same = p.users === m.users && p.cascades === m.cascades && num(p.averageLength) === num(m.averageLength);
      rows.push(['paper', `${p.reference}: ${int(p.users)} users, ${int(p.cascades)} cascades, average length ${num(p.averageLength)} (${same ? 'matches' : 'DIFFERS'})`]);
    }
  } else if (s.task === 'macroscopic') {
    const m = s.stats;
    head = `${ctx.title}: ${plural(m.cascades, 'cascade')}, ${plural(m.retweets, 'retweet')}, average size ${num(m.size.mean)}`;
    rows.push(['splits', parts(m.parts)], ['size', distLine(m.size)], ['duration', `${distLine(m.duration)} (seconds to the last retweet)`]);
    rows.push(['signals', `followers ${int(m.withFollowers)}, text ${int(m.withText)}, news ${int(m.withNews)} of ${int(m.cascades)} cascades`]);
    rows.push(['sizes', histogramLine(m.sizeHistogram)]);
  } else {
    const m = s.stats;
    head = `${ctx.title}: ${plural(m.cascades, 'cascade graph')}, average size ${num(m.nodes.mean)} nodes`;
    rows.push(['splits', parts(m.parts)], ['nodes', distLine(m.nodes)]);
    m.labels.forEach((d, k) => rows.push([`label ${k + 1}`, distLine(d)]));
    rows.push(['sizes', histogramLine(m.sizeHistogram)]);
  }
  const width = Math.max(...rows.map((r) => r[0].length));
  return [head, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
}
