/**
 * The dataset registry: name -> public source, format, checksums, licence, and how each file is
 * used. Checksums are those of the copies in `../shared/data` (see registry-checksums.ts), which are
 * the upstream files at the pinned commits.
 */
import { didYouMean, CascadeError, type TimeUnit } from '@cascade-lab/core';
import type { DatasetFormat, FileRole } from './sources.js';
import { CHECKSUMS } from './registry-checksums.js';

export interface RegistryFile {
  /** Name inside the dataset folder. */
  path: string;
  /** Where to download it (commit-pinned where the host allows). */
  url?: string;
  sha256?: string;
  bytes?: number;
  /** Role in loading; `extra` files are part of the dataset but not read by the loader; `licence` is the licence text. */
  role: FileRole | 'extra' | 'licence';
  /** Not needed to load the dataset; a failed download only warns. */
  optional?: boolean;
  /** Built from another (downloaded) file of the dataset instead of downloaded itself. */
  derivedFrom?: { path: string; via: 'ndm-idx2u-pickle' };
}

export interface DatasetEntry {
  name: string;
  /** Display name, as the papers write it. */
  title: string;
  task: 'microscopic' | 'macroscopic';
  format: DatasetFormat;
  description: string;
  /** Where the data comes from (repository or page). */
  source: string;
  licence: string;
  /** Folder under CASCADE_DATA_DIR (and under the cache: the name). */
  localDir: string;
  files: RegistryFile[];
  /** Unit and origin of the timestamps. */
  time: { unit: TimeUnit; origin: 'unix' | 'relative' | 'unknown' };
  /** Seconds after the root up to which every cascade is complete, when the source says so. */
  observedUntilSeconds?: number;
  /** How to obtain files that have no download URL. */
  manual?: string;
  /** The numbers a paper reports for the dataset, which `datasets stats` reproduces. */
  paperStats?: { users: number; cascades: number; averageLength: number; reference: string };
  notes?: string[];
}

const gh = (repo: string, commit: string, file: string) => `https://raw.githubusercontent.com/${repo}/${commit}/${file}`;
const NDM = 'albertyang33/NeuralDiffusionModel';
const NDM_COMMIT = '51b2985f5adf4ec8fe2f4a8e2af602c26caa7767';

function sums(localDir: string, file: string): { sha256?: string; bytes?: number } {
  const c = CHECKSUMS[`${localDir}/${file}`];
  return c ? { sha256: c[0], bytes: c[1] } : {};
}

function ndmEntry(name: string, title: string, paper: DatasetEntry['paperStats'], time: DatasetEntry['time'], local: boolean): DatasetEntry {
  const localDir = `micro/${name}`;
  const f = (path: string, role: RegistryFile['role'], extra: Partial<RegistryFile> = {}): RegistryFile => ({
    path,
    url: gh(NDM, NDM_COMMIT, `data/${name}/${path}`),
    role,
    ...(local ? sums(localDir, path) : {}),
    ...extra,
  });
  return {
    name,
    title,
    task: 'microscopic',
    format: 'ndm',
    description: `${title} cascades of the NDM paper (Yang et al., TKDE 2019): train cascade.txt, test cascadetest.txt`,
    source: `https://github.com/${NDM}/tree/${NDM_COMMIT}/data/${name}`,
    licence: 'none stated (research data released with the NDM code)',
    localDir,
    files: [
      f('cascade.txt', 'train'),
      f('cascadetest.txt', 'test'),
      f('idx2u.pickle', 'extra', { optional: true }),
      { path: 'idx2u.tsv', role: 'users', derivedFrom: { path: 'idx2u.pickle', via: 'ndm-idx2u-pickle' }, ...(local ? sums(localDir, 'idx2u.tsv') : {}) },
    ],
    time,
    paperStats: paper,
    notes: [
      'idx2u.tsv is the repository\'s idx2u.pickle (a Python list: index -> raw user id) written as "index<TAB>user" lines; `fetch` converts it.',
      'Table 1 counting: users = vocabulary size minus <blank> and </s>; cascades = non-empty lines of cascade.txt plus cascadetest.txt; average length = (user,timestamp) pairs per cascade, </s> not counted.',
    ],
  };
}

const SNAP = 'snap-stanford/snap';

function localFiles(localDir: string, repo: string, commitOf: (file: string) => string, upstreamDir: string, roles: Record<string, RegistryFile['role']>, optional: string[] = []): RegistryFile[] {
  return Object.entries(roles).map(([path, role]) => ({
    path,
    url: gh(repo, commitOf(path), `${upstreamDir}${path}`),
    role,
    ...sums(localDir, path),
    ...(optional.includes(path) ? { optional: true } : {}),
  }));
}

const TIDEH_COMMIT = '09ddb885968e6faf3446f4bf53c90983761a0cb2';

export const REGISTRY: readonly DatasetEntry[] = [
  ndmEntry('irvine', 'Irvine', { users: 540, cascades: 471, averageLength: 13.63, reference: 'NDM paper, Table 1' }, { unit: 'seconds', origin: 'unix' }, true),
  ndmEntry('memetracker', 'Memetracker', { users: 498, cascades: 8304, averageLength: 8.43, reference: 'NDM paper, Table 1' }, { unit: 'hours', origin: 'unix' }, true),
  ndmEntry('lastfm', 'Lastfm', { users: 982, cascades: 23802, averageLength: 7.66, reference: 'NDM paper, Table 1' }, { unit: 'unknown', origin: 'unknown' }, false),
  {
    name: 'christianity',
    title: 'Christianity',
    task: 'microscopic',
    format: 'infvae',
    description: 'StackExchange Christianity cascades of the Inf-VAE paper (Sankar et al., WSDM 2020) with the social graph: 2,897 users, train/val/test 411/59/119',
    source: 'https://github.com/aravindsankar28/Inf-VAE/tree/ee9fa3e5b1a3cfa7efa5d99567ffc602f6cd0f6e/data/christianity',
    licence: 'BSD-3-Clause (repository); StackExchange content CC BY-SA',
    localDir: 'micro/christianity',
    files: localFiles('micro/christianity', 'aravindsankar28/Inf-VAE', () => 'ee9fa3e5b1a3cfa7efa5d99567ffc602f6cd0f6e', 'data/christianity/', {
      'train.txt': 'train',
      'val.txt': 'validation',
      'test.txt': 'test',
      'graph.txt': 'graph',
    }),
    time: { unit: 'seconds', origin: 'relative' },
    notes: ['The seed of each cascade has no time in the file; it is at time 0, as the Inf-VAE loader sets it.', 'graph.txt lists 35,624 edges, 30,044 distinct undirected ones.'],
  },
  {
    name: 'netinf-example',
    title: 'NETINF example',
    task: 'microscopic',
    format: 'netinf',
    description: "SNAP's NETINF example: 54 synthetic cascades over 32 nodes and the ground-truth network that generated them",
    source: `https://github.com/${SNAP}/tree/master/examples/netinf`,
    licence: 'BSD-3-Clause (SNAP licence)',
    localDir: 'micro/netinf-example',
    files: [
      ...localFiles(
        'micro/netinf-example',
        SNAP,
        (f) => ({ 'example-cascades.txt': '3d15c9e3a5681599f2610b32e1fa314b1a10ccd6', 'example-network.txt': 'e4a5543fdbc4aa593e48751a44ec3eb9d8d0d9f5' })[f] ?? '4f577cf4ddbfee53c3ff631117c88e66f9d8bd69',
        'examples/netinf/',
        { 'example-cascades.txt': 'cascades', 'example-network.txt': 'graph', 'network.txt': 'extra', 'network-edge.info': 'extra' },
        ['network.txt', 'network-edge.info'],
      ),
      { path: 'SNAP-License.txt', url: gh(SNAP, '78bd1dd7776c4869de7225837fc5e6c1a4551628', 'License.txt'), role: 'licence', optional: true, ...sums('micro/netinf-example', 'SNAP-License.txt') },
    ],
    time: { unit: 'unknown', origin: 'relative' },
    notes: ['Cascade times are listed in descending order; SNAP sorts them on reading, and so do we.', 'network.txt and network-edge.info are NETINF\'s inferred network (its output on the example), not the ground truth.'],
  },
  {
    name: 'infopath-example',
    title: 'InfoPath example',
    task: 'microscopic',
    format: 'infopath',
    description: "SNAP's InfoPath example: 1,000 cascades over 32 nodes and the time-varying network (57 edges)",
    source: `https://github.com/${SNAP}/tree/master/examples/infopath`,
    licence: 'BSD-3-Clause (SNAP licence)',
    localDir: 'micro/infopath-example',
    files: localFiles(
      'micro/infopath-example',
      SNAP,
      (f) => (f === 'example-cascades.txt' ? '6e8bc38e2a08e7a546dc6b3ce0286520f587fef2' : 'e4a5543fdbc4aa593e48751a44ec3eb9d8d0d9f5'),
      'examples/infopath/',
      { 'example-cascades.txt': 'cascades', 'example-network.txt': 'graph' },
    ),
    time: { unit: 'unknown', origin: 'relative' },
    notes: ['CRLF line ends. The network lists per edge the times at which its transmission rate changes and the rates.'],
  },
  {
    name: 'tideh-rt',
    title: 'TiDeH retweets',
    task: 'macroscopic',
    format: 'tideh',
    description: '100 Twitter retweet cascades with more than 2,000 retweets each (a subset of the SEISMIC data) from the TiDeH code',
    source: `https://github.com/NII-Kobayashi/TiDeH/tree/${TIDEH_COMMIT}/data/training`,
    licence: 'MIT (repository)',
    localDir: 'macro/tideh-rt',
    files: [
      ...Array.from({ length: 100 }, (_, k): RegistryFile => ({
        path: `RT${k + 1}.txt`,
        url: gh('NII-Kobayashi/TiDeH', TIDEH_COMMIT, `data/training/RT${k + 1}.txt`),
        role: 'cascades',
        ...sums('macro/tideh-rt', `RT${k + 1}.txt`),
      })),
      { path: 'LICENSE.txt', url: gh('NII-Kobayashi/TiDeH', 'b2c9bd6e9e21de9ccf3cd02ef5f18bcd4c59a22c', 'LICENSE'), role: 'licence', optional: true, ...sums('macro/tideh-rt', 'LICENSE.txt') },
    ],
    time: { unit: 'seconds', origin: 'relative' },
    notes: ['The first line\'s second number is the post\'s start time in days (TiDeH uses its fraction, the time of day).', 'The end of the crawl is not stated: sizes are known up to each cascade\'s last retweet.'],
  },
  {
    name: 'seismic-tweet',
    title: 'SEISMIC tweet',
    task: 'macroscopic',
    format: 'seismic',
    description: 'One Twitter cascade with 15,563 tweets, the example data `tweet` of the CRAN package seismic',
    source: 'https://cran.r-project.org/package=seismic',
    licence: 'GPL-3 (the R package)',
    localDir: 'macro/seismic-tweet',
    files: [{ path: 'tweet.csv', role: 'cascades', ...sums('macro/seismic-tweet', 'tweet.csv') }],
    time: { unit: 'seconds', origin: 'relative' },
    manual:
      'The data ships inside the R package, not as a file: in R, `install.packages("seismic"); data(tweet, package = "seismic"); write.csv(tweet, "tweet.csv", row.names = FALSE, quote = FALSE)`, then place tweet.csv in the dataset folder.',
  },
  {
    name: 'weibo-sample',
    title: 'Weibo sample',
    task: 'macroscopic',
    format: 'weibo',
    description: '30 Sina Weibo retweet cascades in the DeepHawkes path format (the sample of the CasFlow code)',
    source: 'https://github.com/Xovee/casflow/tree/30ad9754b51243effb77fda49ad24d008e0e28b4/dataset/sample',
    licence: 'MIT (repository); Weibo data for research use',
    localDir: 'macro/weibo-sample',
    files: localFiles('macro/weibo-sample', 'Xovee/casflow', () => '30ad9754b51243effb77fda49ad24d008e0e28b4', 'dataset/sample/', { 'dataset.txt': 'cascades' }),
    time: { unit: 'seconds', origin: 'unix' },
    observedUntilSeconds: 86400,
    notes: ['The Weibo data of DeepHawkes holds each post\'s retweets within its first 24 hours (CasFlow predicts at 86,400 s), so sizes are known up to 24 h.', 'No follower counts: they read as 0.'],
  },
  {
    name: 'deepcas-test-net',
    title: 'DeepCas test-net',
    task: 'macroscopic',
    format: 'deepcas',
    description: 'The DeepCas example cascade graphs with size-increment labels (train/val/test 387/42/131)',
    source: 'https://github.com/chengli-um/DeepCas/tree/8b5228c8c2cfd464f28ae8ab46a6bd9a02870fbb/data/test-net',
    licence: 'none stated',
    localDir: 'macro/deepcas-test-net',
    files: localFiles('macro/deepcas-test-net', 'chengli-um/DeepCas', () => '8b5228c8c2cfd464f28ae8ab46a6bd9a02870fbb', 'data/test-net/', {
      'cascade_train.txt': 'train',
      'cascade_val.txt': 'validation',
      'cascade_test.txt': 'test',
    }),
    time: { unit: 'unknown', origin: 'unknown' },
    notes: ['Cascade graphs without event times: usable by graph-based models (loadDeepCasDataset), not by the windowed task.'],
  },
];

export function listDatasets(): readonly DatasetEntry[] {
  return REGISTRY;
}

/** The registry entry of `name`, or a DATA_NOT_FOUND error that lists the names (with a suggestion). */
export function getDataset(name: string): DatasetEntry {
  const e = REGISTRY.find((d) => d.name === name);
  if (e) return e;
  const names = REGISTRY.map((d) => d.name);
  const guess = didYouMean(name, names);
  throw new CascadeError('DATA_NOT_FOUND', `unknown dataset "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}`, { hint: `known datasets: ${names.join(', ')}; or give a path and a format` });
}

/** Role -> file name of an entry (the `files` option of the source readers). */
export function entryRoles(entry: DatasetEntry): Partial<Record<FileRole, string>> {
  const roles: Partial<Record<FileRole, string>> = {};
  for (const f of entry.files) {
    if (f.role === 'extra' || f.role === 'licence' || f.role === 'cascades' && entry.format === 'tideh') continue;
    if (!roles[f.role as FileRole]) roles[f.role as FileRole] = f.path;
  }
  return roles;
}
