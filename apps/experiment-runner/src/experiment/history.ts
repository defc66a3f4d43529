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

  /**
   * Points of per-epoch metrics (logged at a step of 1 or more, or at several steps), finite values
   * only. A one-epoch run has a one-point curve per metric: still drawn (as points), not dropped.
   */
  curves(): SeriesPoint[] {
    const steps = new Map<string, Set<number>>();
    for (const p of this.points) {
      if (!steps.has(p.series)) steps.set(p.series, new Set());
      steps.get(p.series)!.add(p.step);
    }
    const perEpoch = (series: string) => {
      const s = steps.get(series);
      return s !== undefined && (s.size > 1 || [...s].some((step) => step >= 1));
    };
    return this.points.filter((p) => perEpoch(p.series) && Number.isFinite(p.value));
  }
}
