import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { splitLogBatch, type BatchChunk } from './batching.js';
import { MLFLOW_LIMITS, type BatchLimits } from './limits.js';
import type { KeyValue, MetricPoint } from './types.js';

const metric = (i: number, key = 'loss'): MetricPoint => ({ key, value: i / 7, step: i, timestamp: 1_700_000_000_000 + i });

function checkInvariants(chunks: BatchChunk[], limits: BatchLimits): void {
  for (const c of chunks) {
    const json = JSON.stringify(c.body);
    expect(c.bytes).toBe(Buffer.byteLength(json, 'utf8'));
    expect(c.bytes).toBeLessThanOrEqual(limits.batchBytes);
    expect(c.metrics.length).toBeLessThanOrEqual(limits.metricsPerBatch);
    expect(c.params.length).toBeLessThanOrEqual(limits.paramsPerBatch);
    expect(c.tags.length).toBeLessThanOrEqual(limits.tagsPerBatch);
    expect(c.metrics.length + c.params.length + c.tags.length).toBeLessThanOrEqual(limits.entitiesPerBatch);
    expect(c.body.metrics.length).toBe(c.metrics.length);
    expect(c.metrics.length + c.params.length + c.tags.length).toBeGreaterThan(0);
  }
}

describe('splitLogBatch', () => {
  it('respects the count limits: 2500 metrics -> 1000 + 1000 + 500', () => {
    const metrics = Array.from({ length: 2500 }, (_, i) => metric(i));
    const chunks = splitLogBatch('run', { metrics });
    expect(chunks.map((c) => c.metrics.length)).toEqual([1000, 1000, 500]);
    checkInvariants(chunks, MLFLOW_LIMITS);
    expect(chunks.flatMap((c) => c.metrics)).toEqual(metrics);
  });

  it('fills first-fit under every limit (hand-traced with tiny limits)', () => {
    const limits: BatchLimits = { metricsPerBatch: 3, paramsPerBatch: 2, tagsPerBatch: 2, entitiesPerBatch: 4, batchBytes: 1_000_000 };
    const params: KeyValue[] = ['p1', 'p2', 'p3'].map((k) => ({ key: k, value: 'v' }));
    const tags: KeyValue[] = [{ key: 't1', value: 'v' }];
    const metrics = [1, 2, 3, 4, 5].map((i) => metric(i, `m${i}`));
    const chunks = splitLogBatch('r', { params, tags, metrics }, limits);
    // p1,p2 fill chunk 0's params; p3 opens chunk 1; t1 and m1 complete chunk 0's 4 entities;
    // m2..m4 join p3 in chunk 1 (4 entities); m5 opens chunk 2.
    expect(chunks.map((c) => [c.params.map((p) => p.key), c.tags.map((t) => t.key), c.metrics.map((m) => m.key)])).toEqual([
      [['p1', 'p2'], ['t1'], ['m1']],
      [['p3'], [], ['m2', 'm3', 'm4']],
      [[], [], ['m5']],
    ]);
    checkInvariants(chunks, limits);
  });

  it('splits on the byte limit exactly', () => {
    // '{"run_id":"r","metrics":[],"params":[],"tags":[]}' is 49 bytes and
    // '{"key":"m","value":1,"timestamp":1,"step":0}' is 44: two metrics and a comma need 138 bytes.
    const limits: BatchLimits = { ...MLFLOW_LIMITS, batchBytes: 49 + 44 + 1 + 44 };
    const m: MetricPoint = { key: 'm', value: 1, timestamp: 1, step: 0 };
    const chunks = splitLogBatch('r', { metrics: [m, m, m, m, m] }, limits);
    expect(chunks.map((c) => c.metrics.length)).toEqual([2, 2, 1]);
    expect(chunks[0].bytes).toBe(138);
    expect(splitLogBatch('r', { metrics: [m, m, m] }, { ...limits, batchBytes: 137 }).map((c) => c.metrics.length)).toEqual([1, 1, 1]);
  });

  it('keeps a realistic oversized request under 1 MB: long params and tags are split by size', () => {
    const params = Array.from({ length: 250 }, (_, i) => ({ key: `model.p${i}`, value: 'x'.repeat(6000) }));
    const tags = Array.from({ length: 250 }, (_, i) => ({ key: `note${i}`, value: 'é'.repeat(4000) })); // 8000 bytes each
    const metrics = Array.from({ length: 2500 }, (_, i) => metric(i));
    const chunks = splitLogBatch('0123456789abcdef0123456789abcdef', { params, tags, metrics });
    checkInvariants(chunks, MLFLOW_LIMITS);
    expect(chunks.flatMap((c) => c.params)).toEqual(params);
    expect(chunks.flatMap((c) => c.tags)).toEqual(tags);
    expect(chunks.flatMap((c) => c.metrics)).toHaveLength(2500);
    // 250 tags of ~8 KB cannot share requests with more than ~120 such items: several requests.
    expect(chunks.length).toBeGreaterThanOrEqual(5);
  });

  it('refuses an item that cannot fit in any request', () => {
    expect(() => splitLogBatch('r', { params: [{ key: 'k', value: 'x'.repeat(200) }] }, { ...MLFLOW_LIMITS, batchBytes: 100 })).toThrow(RangeError);
  });

  it('property: every item lands in exactly one request and every request is within the limits', () => {
    const item = fc.record({ key: fc.string({ minLength: 1, maxLength: 12 }), value: fc.string({ maxLength: 300 }) });
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 40 }),
        fc.array(item, { maxLength: 40 }),
        fc.array(fc.record({ key: fc.string({ minLength: 1, maxLength: 8 }), value: fc.double(), step: fc.nat(), timestamp: fc.nat() }), { maxLength: 60 }),
        fc.record({
          metricsPerBatch: fc.integer({ min: 1, max: 20 }),
          paramsPerBatch: fc.integer({ min: 1, max: 10 }),
          tagsPerBatch: fc.integer({ min: 1, max: 10 }),
          entitiesPerBatch: fc.integer({ min: 1, max: 25 }),
          batchBytes: fc.integer({ min: 2000, max: 6000 }),
        }),
        (params, tags, metrics, limits) => {
          const chunks = splitLogBatch('run', { params, tags, metrics }, limits);
          checkInvariants(chunks, limits);
          expect(chunks.flatMap((c) => c.params)).toEqual(params);
          expect(chunks.flatMap((c) => c.tags)).toEqual(tags);
          expect(new Set(chunks.flatMap((c) => c.metrics))).toEqual(new Set(metrics));
          expect(chunks.flatMap((c) => c.metrics)).toHaveLength(metrics.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
