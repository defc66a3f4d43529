/**
 * Reading a dataset directory (or single file) of a given format into cascades, before splitting:
 * which file plays which role (train, test, users, graph...) and which parser reads it.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CascadeError, DataFormatError, type Cascade, type MacroCascade, type SocialGraph } from '@cascade-lab/core';
import { ParseReport, type ParseOptions } from './parse-util.js';
import { Vocabulary, parseIdx2u } from './vocabulary.js';
import { parseNdmCascades } from './formats/ndm.js';
import { infVaeSocialGraph, nodeVocabulary, parseInfVaeCascades, parseInfVaeGraph } from './formats/infvae.js';
import { parseInfopathCascades, parseInfopathNetwork, parseNetinfCascades, parseNetinfNetwork, snapSocialGraph } from './formats/snap.js';
import { parseLongCsv, parseSeismicCsv, parseTideh } from './formats/retweets.js';
import { parseWeibo, weiboToMacroCascade } from './formats/weibo.js';
import { parseDeepCas, type DeepCasCascade } from './formats/deepcas.js';
import { parseJsonl } from './formats/jsonl.js';
import { idx2uFromPickle } from './formats/pickle.js';

export const MICROSCOPIC_FORMATS = ['ndm', 'infvae', 'netinf', 'infopath'] as const;
export const MACROSCOPIC_FORMATS = ['tideh', 'seismic', 'long-csv', 'weibo', 'deepcas', 'jsonl'] as const;
export const DATASET_FORMATS = [...MICROSCOPIC_FORMATS, ...MACROSCOPIC_FORMATS] as const;
export type MicroscopicFormat = (typeof MICROSCOPIC_FORMATS)[number];
export type MacroscopicFormat = (typeof MACROSCOPIC_FORMATS)[number];
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** What a file does in a dataset. `cascades` means "all cascades, split by seed". */
export type FileRole = 'train' | 'validation' | 'test' | 'cascades' | 'users' | 'graph';

export interface FormatInfo {
  format: DatasetFormat;
  task: 'microscopic' | 'macroscopic';
  description: string;
  /** Per role, the file names looked for in a directory, first match wins. */
  files: Partial<Record<FileRole, string[]>>;
  /** For one-cascade-per-file formats: the file names in a directory that are cascades. */
  pattern?: RegExp;
}

export const FORMATS: Record<DatasetFormat, FormatInfo> = {
  ndm: {
    format: 'ndm',
    task: 'microscopic',
    description: 'NDM: `user,timestamp user,timestamp ...` per line; cascade.txt (train), cascadetest.txt (test), idx2u.tsv',
    files: { train: ['cascade.txt'], test: ['cascadetest.txt'], users: ['idx2u.tsv', 'idx2u.pickle'], cascades: ['cascades.txt'] },
  },
  infvae: {
    format: 'infvae',
    task: 'microscopic',
    description: 'Inf-VAE: `seed u t u t ...` per line; train.txt, val.txt, test.txt; graph.txt (`N E`, then `u v`)',
    files: { train: ['train.txt'], validation: ['val.txt'], test: ['test.txt'], graph: ['graph.txt'], cascades: ['cascades.txt'] },
  },
  netinf: {
    format: 'netinf',
    task: 'microscopic',
    description: 'SNAP NETINF: node block, blank line, `id,t,id,t,...` per cascade; ground-truth network `src,dst`',
    files: { cascades: ['example-cascades.txt', 'cascades.txt'], graph: ['example-network.txt', 'ground-truth-network.txt'] },
  },
  infopath: {
    format: 'infopath',
    task: 'microscopic',
    description: 'SNAP InfoPath: node block, blank line, `cascade_id;id,t,...` per cascade; network `src,dst,t0,a0,...`',
    files: { cascades: ['example-cascades.txt', 'cascades.txt'], graph: ['example-network.txt', 'network.txt'] },
  },
  tideh: {
    format: 'tideh',
    task: 'macroscopic',
    description: 'TiDeH: one file per cascade (RT<k>.txt): `<n> <start day>`, then `<seconds> <followers>`, root first',
    files: {},
    pattern: /^RT\d+\.txt$/,
  },
  seismic: {
    format: 'seismic',
    task: 'macroscopic',
    description: 'SEISMIC: one CSV per cascade, `relative_time_second,number_of_followers`, root first',
    files: {},
    pattern: /\.csv$/,
  },
  'long-csv': {
    format: 'long-csv',
    task: 'macroscopic',
    description: 'Long CSV: `cascade_id,magnitude,time,user` per tweet, each cascade\'s root first',
    files: { cascades: ['cascades.csv'], train: ['train.csv'], validation: ['val.csv'], test: ['test.csv'] },
  },
  weibo: {
    format: 'weibo',
    task: 'macroscopic',
    description: 'DeepHawkes/Weibo: `id<TAB>root<TAB>unix time<TAB>n<TAB>path:seconds ...` per cascade',
    files: { cascades: ['dataset.txt'] },
  },
  deepcas: {
    format: 'deepcas',
    task: 'macroscopic',
    description: 'DeepCas: `id<TAB>starters<TAB>date<TAB>num_nodes<TAB>src:tgt:w ...<TAB>labels`; cascade_train/val/test.txt',
    files: { train: ['cascade_train.txt'], validation: ['cascade_val.txt'], test: ['cascade_test.txt'] },
  },
  jsonl: {
    format: 'jsonl',
    task: 'macroscopic',
    description: 'cascade-lab JSON Lines: one cascade object per line (see the README for the schema)',
    files: { cascades: ['cascades.jsonl'], train: ['train.jsonl'], validation: ['val.jsonl'], test: ['test.jsonl'] },
  },
};

export function isDatasetFormat(s: string): s is DatasetFormat {
  return (DATASET_FORMATS as readonly string[]).includes(s);
}

/** Cascades as the dataset ships them: its own train/validation/test files, or one pool (`all`). */
export interface DatasetParts<T> {
  train?: T[];
  validation?: T[];
  test?: T[];
  all?: T[];
}

export interface ReadSourceOptions extends ParseOptions {
  /** Explicit files per role (relative to the directory), overriding the format's default names. */
  files?: Partial<Record<FileRole, string>>;
}

export interface MicroscopicSource {
  format: MicroscopicFormat;
  location: string;
  users: Vocabulary;
  parts: DatasetParts<Cascade>;
  graph?: SocialGraph;
  /** Files read, in order. */
  files: string[];
  report: ParseReport;
}

export interface MacroscopicSource {
  format: MacroscopicFormat;
  location: string;
  parts: DatasetParts<MacroCascade>;
  /** DeepCas cascade graphs (the `deepcas` format only; it has no event times). */
  deepcas?: DatasetParts<DeepCasCascade>;
  files: string[];
  report: ParseReport;
}

interface Located {
  dir: string;
  /** Role -> absolute file path, for the roles present. */
  roles: Partial<Record<FileRole, string>>;
  /** One-cascade-per-file formats: the cascade files, sorted by name (numbers compared as numbers). */
  many: string[];
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

/** Finds the files of each role for a format, in a directory or as a single file. */
export async function locateFiles(location: string, format: DatasetFormat, explicit: Partial<Record<FileRole, string>> = {}): Promise<Located> {
  const info = FORMATS[format];
  let st;
  try {
    st = await stat(location);
  } catch {
    throw new CascadeError('DATA_NOT_FOUND', `dataset path ${location} does not exist`);
  }
  if (st.isFile()) {
    const dir = path.dirname(location);
    if (info.pattern) return { dir, roles: {}, many: [location] };
    return { dir, roles: { cascades: location }, many: [] };
  }
  const dir = location;
  const roles: Partial<Record<FileRole, string>> = {};
  for (const [role, name] of Object.entries(explicit) as [FileRole, string][]) {
    const p = path.resolve(dir, name);
    if (!(await exists(p))) throw new CascadeError('DATA_NOT_FOUND', `${format} dataset: the ${role} file ${p} does not exist`);
    roles[role] = p;
  }
  for (const [role, names] of Object.entries(info.files) as [FileRole, string[]][]) {
    if (roles[role]) continue;
    for (const n of names) {
      const p = path.join(dir, n);
      if (await exists(p)) {
        roles[role] = p;
        break;
      }
    }
  }
  let many: string[] = [];
  if (info.pattern) {
    const pattern = info.pattern;
    many = (await readdir(dir)).filter((f) => pattern.test(f)).sort(naturalOrder).map((f) => path.join(dir, f));
    if (many.length === 0) throw new CascadeError('DATA_NOT_FOUND', `${format} dataset: no file matching ${pattern} in ${dir}`);
  } else if (!roles.train && !roles.cascades) {
    const expected = [...(info.files.train ?? []), ...(info.files.cascades ?? [])].join(' or ');
    throw new CascadeError('DATA_NOT_FOUND', `${format} dataset: ${dir} has none of ${expected}`);
  }
  return { dir, roles, many };
}

const text = (p: string) => readFile(p, 'utf8');

/** Reads a microscopic dataset directory (or cascades file) of the given format. */
export async function readMicroscopicSource(location: string, format: MicroscopicFormat, options: ReadSourceOptions = {}): Promise<MicroscopicSource> {
  const report = options.report ?? new ParseReport();
  const popts = { lenient: options.lenient, report };
  const loc = await locateFiles(location, format, options.files);
  const files: string[] = [];
  const read = async (p: string) => {
    files.push(p);
    return text(p);
  };
  const r = loc.roles;
  const parts: DatasetParts<Cascade> = {};
  let users: Vocabulary;
  let graph: SocialGraph | undefined;

  if (format === 'ndm') {
    let extend = true;
    users = new Vocabulary();
    if (r.users?.endsWith('.tsv')) {
      users = parseIdx2u(await read(r.users), r.users, popts);
      extend = false;
    } else if (r.users?.endsWith('.pickle')) {
      files.push(r.users);
      users = new Vocabulary(idx2uFromPickle(await readFile(r.users), r.users));
      extend = false;
    }
    for (const role of ['train', 'validation', 'test', 'cascades'] as const) {
      const f = r[role];
      if (!f) continue;
      const cascades = parseNdmCascades(await read(f), f, { ...popts, vocabulary: users, extendVocabulary: extend, idPrefix: `${role}:` });
      parts[role === 'cascades' ? 'all' : role] = cascades;
    }
  } else if (format === 'infvae') {
    let extend = true;
    users = new Vocabulary();
    if (r.graph) {
      const g = parseInfVaeGraph(await read(r.graph), r.graph, popts);
      users = nodeVocabulary(g.numNodes);
      graph = infVaeSocialGraph(g, users);
      extend = false;
    }
    for (const role of ['train', 'validation', 'test', 'cascades'] as const) {
      const f = r[role];
      if (!f) continue;
      parts[role === 'cascades' ? 'all' : role] = parseInfVaeCascades(await read(f), f, { ...popts, vocabulary: users, extendVocabulary: extend, idPrefix: `${role}:` });
    }
  } else {
    const f = r.cascades ?? r.train;
    if (!f) throw new CascadeError('DATA_NOT_FOUND', `${format} dataset: no cascades file in ${loc.dir}`);
    const parsed = format === 'netinf' ? parseNetinfCascades(await read(f), f, popts) : parseInfopathCascades(await read(f), f, popts);
    users = parsed.vocabulary;
    parts.all = parsed.cascades;
    if (r.graph) {
      const body = await read(r.graph);
      const net =
        format === 'netinf'
          ? parseNetinfNetwork(body, r.graph, popts)
          : (({ nodes, edges }) => ({ nodes, edges: Int32Array.from(edges.flatMap((e) => [e.source, e.target])) }))(parseInfopathNetwork(body, r.graph, popts));
      const missing = net.nodes.find((n) => users.indexOf(String(n.id)) === undefined);
      if (missing) throw new DataFormatError({ file: r.graph }, `network node ${missing.id} is not in the cascades file's node block`);
      graph = snapSocialGraph(net.edges, users);
    }
  }
  if (parts.train && !parts.test && !parts.all) {
    throw new CascadeError('DATA_NOT_FOUND', `${format} dataset: ${loc.dir} has a train file but no test file`);
  }
  return { format, location, users, parts, graph, files, report };
}

export interface MacroReadOptions extends ReadSourceOptions {
  /** Seconds after the root up to which every cascade is complete (the crawl end), when known. */
  observedUntilSeconds?: number;
}

/** Reads a macroscopic dataset directory (or file) of the given format. */
export async function readMacroscopicSource(location: string, format: MacroscopicFormat, options: MacroReadOptions = {}): Promise<MacroscopicSource> {
  const report = options.report ?? new ParseReport();
  const popts = { lenient: options.lenient, report };
  const loc = await locateFiles(location, format, options.files);
  const files: string[] = [];
  const read = async (p: string) => {
    files.push(p);
    return text(p);
  };
  const parts: DatasetParts<MacroCascade> = {};
  let deepcas: DatasetParts<DeepCasCascade> | undefined;
  const stamp = (c: MacroCascade): MacroCascade => {
    if (options.observedUntilSeconds === undefined || c.observedUntil !== undefined) return c;
    const last = c.events.length > 0 ? c.events[c.events.length - 1].time : 0;
    if (last > options.observedUntilSeconds) {
      throw new DataFormatError({ file: location }, `cascade ${c.id} has an event at ${last} s, after the declared observation end ${options.observedUntilSeconds} s`);
    }
    return { ...c, observedUntil: options.observedUntilSeconds };
  };

  if (format === 'tideh' || format === 'seismic') {
    const all: MacroCascade[] = [];
    for (const f of loc.many) {
      const id = path.basename(f).replace(/\.(txt|csv)$/, '');
      all.push(format === 'tideh' ? parseTideh(await read(f), f, { ...popts, id }).cascade : parseSeismicCsv(await read(f), f, { ...popts, id }));
    }
    parts.all = all;
  } else if (format === 'deepcas') {
    deepcas = {};
    for (const role of ['train', 'validation', 'test', 'cascades'] as const) {
      const f = loc.roles[role];
      if (f) deepcas[role === 'cascades' ? 'all' : role] = parseDeepCas(await read(f), f, popts);
    }
  } else {
    for (const role of ['train', 'validation', 'test', 'cascades'] as const) {
      const f = loc.roles[role];
      if (!f) continue;
      const body = await read(f);
      const cascades = format === 'weibo' ? parseWeibo(body, f, popts).map((c) => weiboToMacroCascade(c)) : format === 'long-csv' ? parseLongCsv(body, f, popts) : parseJsonl(body, f, popts);
      parts[role === 'cascades' ? 'all' : role] = cascades;
    }
  }
  for (const key of ['train', 'validation', 'test', 'all'] as const) if (parts[key]) parts[key] = parts[key]!.map(stamp);
  return { format, location, parts, deepcas, files, report };
}
