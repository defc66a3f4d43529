/**
 * Evaluation sharding (issue 20): the microscopic protocol split into shards of consecutive test
 * cascades, each shard's result sent through JSON (as a job queue does), then merged, gives the
 * metrics and predictions of the local evaluation to the last digit, whatever the number of shards.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, quietProgress, type Cascade, type MicroscopicDataset, type MicroscopicModel } from '@cascade-lab/core';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import { createPopularityModel, popularityCounts, SequentialSampler } from '@cascade-lab/simulation';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { claimPiece, mergeMicroscopicShards, pieceOrder, runMicroscopicProtocol, runMicroscopicShard, shardRange, workBalancedRanges, type MicroscopicShardResult, type ProtocolSettings } from './protocols.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = path.resolve(repoRoot, process.env.CASCADE_DATA_DIR ?? '../shared/data', 'micro/memetracker');

/** The popularity baseline as a whole model: simulations by the sequential sampler, next-user scores = the counts. */
function popularityModel(data: MicroscopicDataset): MicroscopicModel {
  const n = data.users.size;
  const counts = popularityCounts([...data.train, ...data.validation], n);
  const sampler = new SequentialSampler(createPopularityModel({ numUsers: n, counts }));
  return {
    simulate: (requests, rng, signal) => sampler.simulate(requests, rng, signal),
    nextUserScores: async (users) => users.slice(0, -1).map(() => Float32Array.from(counts)),
    save: async () => undefined,
    dispose: () => undefined,
  } as unknown as MicroscopicModel;
}

const ctx = () => ({ rng: Rng.fromSeed(11).derive('evaluation'), progress: quietProgress, signal: new AbortController().signal });

/** Runs every shard on its own (fresh generator, as on another machine), each result through JSON. */
async function sharded(model: MicroscopicModel, data: MicroscopicDataset, settings: ProtocolSettings, shards: number): Promise<MicroscopicShardResult[]> {
  const out: MicroscopicShardResult[] = [];
  for (let shard = 0; shard < shards; shard++) out.push(JSON.parse(JSON.stringify(await runMicroscopicShard(model, data, settings, ctx(), { shard, shards }))) as MicroscopicShardResult);
  return out;
}

const withoutTime = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'evaluation.seconds'));

describe('shardRange', () => {
  it('splits n cascades into consecutive ranges that differ by at most one (hand)', () => {
    // floor(k * 10 / 3) for k = 0..3: 0, 3, 6, 10
    expect([0, 1, 2].map((shard) => shardRange(10, { shard, shards: 3 }))).toEqual([{ start: 0, end: 3 }, { start: 3, end: 6 }, { start: 6, end: 10 }]);
    // more shards than cascades: floor(k * 2 / 4) = 0, 0, 1, 1, 2: two empty shards
    expect([0, 1, 2, 3].map((shard) => shardRange(2, { shard, shards: 4 }))).toEqual([{ start: 0, end: 0 }, { start: 0, end: 1 }, { start: 1, end: 1 }, { start: 1, end: 2 }]);
    expect(() => shardRange(5, { shard: 3, shards: 3 })).toThrow(RangeError);
  });
});

describe('workBalancedRanges', () => {
  const cascade = (...users: number[]): Cascade => ({ id: users.join('-'), events: users.map((user, time) => ({ user, time })) });
  it('cuts where the distinct users (|G_c| + 1) are even, not the counts (hand)', () => {
    // Weights 2, 2, 2, 10 (distinct users; 5 repeats in the second), total 16, goals 8 and 16.
    // Middles of the running weight: 1, 3, 5, 11: the first three stay below 8, the last goes to range 2.
    const cs = [cascade(2, 3), cascade(4, 5, 5), cascade(6, 7), cascade(...Array.from({ length: 10 }, (_, i) => 10 + i))];
    expect(workBalancedRanges(cs, 2)).toEqual([{ start: 0, end: 3 }, { start: 3, end: 4 }]);
    // One range: everything; more ranges than cascades: empty ones, still consecutive.
    expect(workBalancedRanges(cs, 1)).toEqual([{ start: 0, end: 4 }]);
    // Goals 16 k / 6 = 2.67, 5.33, 8, 10.67, 13.33, 16 against middles 1, 3, 5, 11: range 1 takes the
    // first (1 < 2.67), range 2 the next two (3, 5 < 5.33), ranges 3 and 4 nothing (11 >= 8, 10.67),
    // range 5 the last (11 < 13.33), range 6 nothing.
    expect(workBalancedRanges(cs, 6)).toEqual([{ start: 0, end: 1 }, { start: 1, end: 3 }, { start: 3, end: 3 }, { start: 3, end: 3 }, { start: 3, end: 4 }, { start: 4, end: 4 }]);
    expect(workBalancedRanges([], 3)).toEqual([{ start: 0, end: 0 }, { start: 0, end: 0 }, { start: 0, end: 0 }]);
  });
});

describe('sharded microscopic protocol on Memetracker (real data)', () => {
  let data: MicroscopicDataset;
  let model: MicroscopicModel;
  const settings: ProtocolSettings = { simulations: 40, maxTestCascades: 90, rankingK: [1, 10] };
  beforeAll(async () => {
    data = await loadMicroscopicDataset({ path: dir, format: 'ndm' });
    model = popularityModel(data);
  });

  it('merged shards give the local metrics and predictions to the last digit, for 1, 2, 3 and 7 shards', async () => {
    const local = await runMicroscopicProtocol(model, data, settings, ctx());
    expect(local.metrics['test.cascades']).toBeGreaterThan(50);
    expect(local.metrics['test.hitsAt10']).toBeGreaterThan(0);
    for (const shards of [1, 2, 3, 7]) {
      // Merged in any order: reversed here.
      const parts = (await sharded(model, data, settings, shards)).reverse();
      const merged = mergeMicroscopicShards(parts, settings, { seconds: 0 });
      // toEqual on numbers is exact (Object.is): identical doubles, not close ones.
      expect(withoutTime(merged.metrics)).toEqual(withoutTime(local.metrics));
      expect(merged.predictions).toEqual(local.predictions);
    }
  });

  it('shards cut by workBalancedRanges merge to the local numbers too', async () => {
    const local = await runMicroscopicProtocol(model, data, settings, ctx());
    const test = data.test.slice(0, settings.maxTestCascades);
    const ranges = workBalancedRanges(test, 3);
    expect(ranges.map((r) => r.end)).not.toEqual([1, 2, 3].map((k) => shardRange(test.length, { shard: k - 1, shards: 3 }).end));
    const parts: MicroscopicShardResult[] = [];
    for (let shard = 0; shard < 3; shard++) parts.push(JSON.parse(JSON.stringify(await runMicroscopicShard(model, data, settings, ctx(), { shard, shards: 3, range: ranges[shard] }))) as MicroscopicShardResult);
    const merged = mergeMicroscopicShards(parts, settings, { seconds: 0 });
    expect(withoutTime(merged.metrics)).toEqual(withoutTime(local.metrics));
    expect(merged.predictions).toEqual(local.predictions);
    // A gap between ranges is not a split of the test set.
    const gap = JSON.parse(JSON.stringify(await runMicroscopicShard(model, data, settings, ctx(), { shard: 1, shards: 3, range: { start: ranges[1].start + 1, end: ranges[1].end } }))) as MicroscopicShardResult;
    expect(() => mergeMicroscopicShards([parts[0], gap, parts[2]], settings, { seconds: 0 })).toThrow(/not the shards of one evaluation/);
  });

  it('pieces claimed by two processes in turn (pieceOrder, claimPiece) merge to the local numbers', async () => {
    const local = await runMicroscopicProtocol(model, data, settings, ctx());
    const test = data.test.slice(0, settings.maxTestCascades);
    const ranges = workBalancedRanges(test, 2 * 4);
    const order = pieceOrder(test, ranges);
    const claims = mkdtempSync(path.join(tmpdir(), 'pieces-'));
    try {
      // Two processes walk the same order; here they alternate, so each skips what the other took.
      const byProcess: MicroscopicShardResult[][] = [[], []];
      for (let step = 0; step < 2 * order.length; step++) {
        const p = step % 2;
        const k = order.find((piece) => claimPiece(claims, piece));
        if (k === undefined) break;
        byProcess[p].push(JSON.parse(JSON.stringify(await runMicroscopicShard(model, data, settings, ctx(), { shard: k, shards: ranges.length, range: ranges[k] }))) as MicroscopicShardResult);
      }
      expect(byProcess[0].length + byProcess[1].length).toBe(ranges.length);
      const merged = mergeMicroscopicShards(byProcess.flat(), settings, { seconds: 0, processSeconds: [12.5, 14.25] });
      expect(withoutTime(merged.metrics)).toEqual(withoutTime(local.metrics));
      expect(merged.predictions).toEqual(local.predictions);
      expect(merged.summary).toMatch(/14\.3 s in the longest of 2 processes\)/);
      // A piece run twice (two processes without the claims) is refused.
      expect(() => mergeMicroscopicShards([...byProcess.flat(), byProcess[0][0]], settings, { seconds: 0 })).toThrow(/shard results for/);
    } finally {
      rmSync(claims, { recursive: true, force: true });
    }
  });

  it('more shards than test cascades: the empty shards add nothing', async () => {
    const few: ProtocolSettings = { ...settings, maxTestCascades: 3 };
    const local = await runMicroscopicProtocol(model, data, few, ctx());
    const merged = mergeMicroscopicShards(await sharded(model, data, few, 5), few, { seconds: 0 });
    expect(withoutTime(merged.metrics)).toEqual(withoutTime(local.metrics));
  });

  it('refuses results that are not the N shards of one evaluation', async () => {
    const parts = await sharded(model, data, { ...settings, maxTestCascades: 12 }, 3);
    expect(() => mergeMicroscopicShards(parts.slice(0, 2), settings, { seconds: 0 })).toThrow(/2 shard results for 3 shards/);
    expect(() => mergeMicroscopicShards([parts[0], parts[1], parts[1]], settings, { seconds: 0 })).toThrow(/not the shards of one evaluation/);
    const other = (await sharded(model, data, { ...settings, maxTestCascades: 12, simulations: 5 }, 3))[2];
    expect(() => mergeMicroscopicShards([parts[0], parts[1], other], settings, { seconds: 0 })).toThrow(/not the shards of one evaluation/);
  });
});
