import type { MetricLogger } from '@cascade-lab/core';
import type { SeriesPoint } from '../plots.js';

/**
 * A MetricLogger that forwards every point to the run and keeps a copy, so the learning-curve plot
 * can be drawn at the end without reading the metrics back from the tracker.
 */
export class RecordingMetrics implements MetricLogger {
  readonly points: SeriesPoint[] = [];
  constructor(private readonly target: MetricLogger) {}

  logMetric(key: string, value: number, step?: number): void {
    this.target.logMetric(key, value, step);
    this.points.push({ series: key, value, step: step ?? 0 });
  }

  /** Points of metrics that have more than one step (per-epoch curves), finite values only. */
  curves(): SeriesPoint[] {
    const steps = new Map<string, Set<number>>();
    for (const p of this.points) {
      if (!steps.has(p.series)) steps.set(p.series, new Set());
      steps.get(p.series)!.add(p.step);
    }
    return this.points.filter((p) => (steps.get(p.series)?.size ?? 0) > 1 && Number.isFinite(p.value));
  }
}
