import { encodeMetricValue, type EncodedMetricValue } from './encoding.js';
import { MLFLOW_LIMITS, type BatchLimits } from './limits.js';
import type { KeyValue, MetricPoint } from './types.js';

export interface WireMetric {
  key: string;
  value: EncodedMetricValue;
  timestamp: number;
  step: number;
}

/** The JSON body of `POST /api/2.0/mlflow/runs/log-batch`. */
export interface LogBatchBody {
  run_id: string;
  metrics: WireMetric[];
  params: KeyValue[];
  tags: KeyValue[];
}

/** One request of a split batch, with the items it carries (to requeue them if it fails). */
export interface BatchChunk {
  body: LogBatchBody;
  metrics: MetricPoint[];
  params: KeyValue[];
  tags: KeyValue[];
  /** Exact UTF-8 size of `JSON.stringify(body)`. */
  bytes: number;
}

export function toWireMetric(m: MetricPoint): WireMetric {
  return { key: m.key, value: encodeMetricValue(m.value), timestamp: m.timestamp, step: m.step };
}

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Splits params, tags and metrics into log-batch requests that each respect the server's limits
 * (at most 1000 metrics, 100 params, 100 tags, 1000 entities and 1 MB of JSON). Items are placed
 * first-fit in order (params, then tags, then metrics), so a request is filled before the next
 * one is opened. Sizes are exact: each chunk's `bytes` equals the byte length of its body's JSON.
 */
export function splitLogBatch(
  runId: string,
  items: { metrics?: readonly MetricPoint[]; params?: readonly KeyValue[]; tags?: readonly KeyValue[] },
  limits: BatchLimits = MLFLOW_LIMITS,
): BatchChunk[] {
  const baseBytes = utf8(JSON.stringify({ run_id: runId, metrics: [], params: [], tags: [] }));
  const chunks: BatchChunk[] = [];
  const open = (): BatchChunk => {
    const c: BatchChunk = { body: { run_id: runId, metrics: [], params: [], tags: [] }, metrics: [], params: [], tags: [], bytes: baseBytes };
    chunks.push(c);
    return c;
  };
  const entities = (c: BatchChunk): number => c.metrics.length + c.params.length + c.tags.length;
  // First chunk index that may still take an item of each kind (chunks before it are full for it).
  const firstOpen = { metrics: 0, params: 0, tags: 0 };

  const place = <K extends 'metrics' | 'params' | 'tags'>(kind: K, item: BatchChunk[K][number], wire: LogBatchBody[K][number], max: number): void => {
    const itemBytes = utf8(JSON.stringify(wire));
    if (baseBytes + itemBytes > limits.batchBytes)
      throw new RangeError(`one ${kind.slice(0, -1)} (${itemBytes} bytes) does not fit in a ${limits.batchBytes}-byte request`);
    for (let i = firstOpen[kind]; i <= chunks.length; i++) {
      const c = i < chunks.length ? chunks[i] : open();
      const list = c[kind] as unknown[];
      const added = itemBytes + (list.length > 0 ? 1 : 0); // the comma
      if (list.length >= max || entities(c) >= limits.entitiesPerBatch) {
        if (i === firstOpen[kind]) firstOpen[kind] = i + 1;
        continue;
      }
      if (c.bytes + added > limits.batchBytes) continue;
      list.push(item);
      (c.body[kind] as unknown[]).push(wire);
      c.bytes += added;
      return;
    }
  };

  for (const p of items.params ?? []) place('params', p, { key: p.key, value: p.value }, limits.paramsPerBatch);
  for (const t of items.tags ?? []) place('tags', t, { key: t.key, value: t.value }, limits.tagsPerBatch);
  for (const m of items.metrics ?? []) place('metrics', m, toWireMetric(m), limits.metricsPerBatch);
  return chunks;
}
