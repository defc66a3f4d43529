// `npm run bench -- data`: parsing speed, batch padding waste with and without bucketing, and
// windowing speed, on the real files (CASCADE_DATA_DIR, default ../shared/data). Prints tables.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '@cascade-lab/core';
import { Vocabulary, makeSequenceBatches, parseIdx2u, parseNdmCascades, readMacroscopicSource, windowCascades } from '@cascade-lab/data';

const dataDir = path.resolve(process.env.CASCADE_DATA_DIR ?? '../shared/data');
const repeats = Number(process.env.BENCH_REPEATS ?? 7);

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const runs: number[] = [];
  let value!: T;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    value = fn();
    runs.push(performance.now() - t0);
  }
  return { ms: median(runs), value };
}

function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  console.log(`\n${title}`);
  for (const [k, r] of cells.entries()) {
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
    if (k === 0) console.log(w.map((n) => '-'.repeat(n)).join('  '));
  }
}

const meme = path.join(dataDir, 'micro/memetracker');
const text = readFileSync(path.join(meme, 'cascade.txt'), 'utf8');
const users = parseIdx2u(readFileSync(path.join(meme, 'idx2u.tsv'), 'utf8'), 'idx2u.tsv');
const parsed = time(() => parseNdmCascades(text, 'cascade.txt', { vocabulary: users }));
const mb = Buffer.byteLength(text) / 1e6;
table(`Parsing (median of ${repeats})`, ['input', 'MB', 'cascades', 'ms', 'MB/s'], [['memetracker cascade.txt', mb.toFixed(2), parsed.value.length, parsed.ms.toFixed(1), (mb / (parsed.ms / 1000)).toFixed(1)]]);

const cascades = parsed.value;
const rows: (string | number)[][] = [];
for (const batchSize of [32, 128]) {
  for (const [label, opts] of [
    ['no bucketing', { bucketing: 'none' as const }],
    ['bucketing, pool 16 batches', { poolBatches: 16 }],
    ['bucketing, pool 64 batches', { poolBatches: 64 }],
    ['bucketing, whole epoch', { poolBatches: 1e9 }],
  ] as const) {
    const r = time(() => makeSequenceBatches(cascades, { batchSize, rng: Rng.fromSeed(1), ...opts }));
    rows.push([label, batchSize, r.value.batches.length, (100 * r.value.paddingWaste).toFixed(1) + '%', r.value.totalCells, r.ms.toFixed(1)]);
  }
}
table(`Sequence batches, memetracker train (${cascades.length} cascades, </s> appended)`, ['strategy', 'batch', 'batches', 'padding', 'cells', 'ms/epoch'], rows);

const tideh = await readMacroscopicSource(path.join(dataDir, 'macro/tideh-rt'), 'tideh');
const all = tideh.parts.all!;
const events = all.reduce((s, c) => s + c.events.length, 0);
const w = time(() => windowCascades(all));
table('Windowing (6 h / 5 min, 9 horizons)', ['input', 'cascades', 'retweets', 'ms', 'retweets/ms'], [['tideh-rt', all.length, events, w.ms.toFixed(2), (events / w.ms).toFixed(0)]]);
void Vocabulary;
