/**
 * The DeepHawkes/Weibo path format (Cao et al., CIKM 2017; the sample in Xovee/casflow
 * `dataset/sample/dataset.txt`): one cascade per line, tab separated,
 * `id  root_user  unix_time  n  path:seconds path:seconds ...`. A path `a/b/c:t` says user c retweeted
 * at t seconds after the post, the message having come from a through b. The path list holds the
 * root itself (`a:0`) and is not in time order (the casflow preprocessing sorts it); `n` counts the
 * paths, the root included. The format has no follower counts (they are read as 0).
 */
import type { MacroCascade } from '@cascade-lab/core';
import { weiboCascadeGraph } from '../cascade-graph.js';
import { TextSource, parseInteger, parseNumber, quote, type ParseOptions } from '../parse-util.js';
import { formatNumber } from './ndm.js';

export interface WeiboPath {
  /** Users from the root to the retweeter (the last one). */
  nodes: string[];
  /** Seconds since the root post. */
  time: number;
}

export interface WeiboCascade {
  id: string;
  rootUser: string;
  /** Unix time of the root post (seconds). */
  rootTime: number;
  /** The paths other than the root's own entry, sorted by time (stable). */
  paths: WeiboPath[];
}

export function parseWeibo(text: string, file: string, options: ParseOptions = {}): WeiboCascade[] {
  const src: TextSource = new TextSource(text, file, options);
  src.requireContent();
  const out: WeiboCascade[] = [];
  const ids = new Set<string>();
  src.eachLine((line) => {
    const f = line.text.split('\t');
    if (f.length !== 5) return src.problem(line, 'malformed-line', `expected 5 tab-separated fields "id root_user time n paths", got ${f.length}`);
    const [id, rootUser, timeRaw, nRaw, pathsRaw] = f.map((x) => x.trim());
    if (id.length === 0 || rootUser.length === 0) return src.problem(line, 'malformed-line', 'empty cascade id or root user');
    if (ids.has(id)) return src.problem(line, 'malformed-line', `cascade id ${quote(id)} is used twice`);
    const rootTime = parseNumber(timeRaw);
    if (rootTime === undefined) return src.problem(line, 'bad-number', `publication time ${quote(timeRaw)} is not a number`);
    const declared = parseInteger(nRaw);
    if (declared === undefined || declared < 1) return src.problem(line, 'bad-number', `number of participants ${quote(nRaw)} is not a positive integer`);
    const paths: WeiboPath[] = [];
    let rootEntries = 0;
    for (const p of pathsRaw.split(/ +/)) {
      if (p.length === 0) continue;
      const colon = p.lastIndexOf(':');
      const nodes = colon > 0 ? p.slice(0, colon).split('/') : [];
      if (nodes.length === 0 || nodes.some((x) => x.length === 0)) {
        src.problem(line, 'malformed-line', `expected "user/user/...:seconds", got ${quote(p)}`);
        return;
      }
      const time = parseNumber(p.slice(colon + 1));
      if (time === undefined || time < 0) {
        src.problem(line, 'bad-number', `time ${quote(p.slice(colon + 1))} of path ${quote(p)} is not a non-negative number`);
        continue;
      }
      if (nodes[0] !== rootUser) {
        src.problem(line, 'malformed-line', `path ${quote(p)} does not start at the root user ${quote(rootUser)}`);
        continue;
      }
      if (nodes.length === 1) {
        rootEntries++;
        if (time !== 0 || rootEntries > 1) src.problem(line, 'malformed-line', `the root's own entry must appear once, at time 0; got ${quote(p)}`);
        continue;
      }
      paths.push({ nodes, time });
    }
    if (rootEntries === 0) src.problem(line, 'malformed-line', `no root entry "${rootUser}:0" in the paths`);
    const total = paths.length + rootEntries;
    if (total !== declared) src.problem(line, 'count-mismatch', `declares ${declared} participants, lists ${total}`);
    // The format leaves the paths unordered; sort (stable) as the casflow preprocessing does.
    paths.sort((a, b) => a.time - b.time);
    ids.add(id);
    out.push({ id, rootUser, rootTime, paths });
  });
  return out;
}

/** The cascade's retweets (the last user of each path), follower counts unknown (0), and its retweet tree. */
export function weiboToMacroCascade(c: WeiboCascade, observedUntil?: number): MacroCascade {
  const out: MacroCascade = {
    id: c.id,
    rootTime: c.rootTime,
    rootFollowers: 0,
    events: c.paths.map((p) => ({ time: p.time, followers: 0, user: p.nodes[p.nodes.length - 1] })),
    cascadeGraph: weiboCascadeGraph(c),
  };
  if (observedUntil !== undefined) out.observedUntil = observedUntil;
  return out;
}

export function writeWeibo(cascades: readonly WeiboCascade[]): string {
  const lines: string[] = [];
  for (const c of cascades) {
    for (const s of [c.id, c.rootUser, ...c.paths.flatMap((p) => p.nodes)]) {
      if (s.length === 0 || /[\s/:]/.test(s)) throw new RangeError(`id ${JSON.stringify(s)} cannot be written in the Weibo path format`);
    }
    const paths = [`${c.rootUser}:0`, ...c.paths.map((p) => `${p.nodes.join('/')}:${formatNumber(p.time)}`)];
    lines.push([c.id, c.rootUser, formatNumber(c.rootTime), String(paths.length), paths.join(' ')].join('\t'));
  }
  return lines.join('\n') + '\n';
}
