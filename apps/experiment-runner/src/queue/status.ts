/** `cascade queue status`: the trial jobs in the queue, per sweep, and the shard jobs, per evaluation. */
import { Queue, type ConnectionOptions } from 'bullmq';
import { isShardJob, QUEUE_PREFIX, TRIALS_QUEUE, type QueuedJob, type TrialProgress } from './jobs.js';
import type { QueueTarget } from './connection.js';

export interface SweepJobCounts {
  /** The sweep's name, or `evaluation <id>` for the shards of a sharded evaluation. */
  sweep: string;
  queued: number;
  active: number;
  failed: number;
  completed: number;
  /** Running jobs: trial, worker, attempt, task. */
  running: { trial: string; worker?: string; attempt?: number; task?: string }[];
  /** Failed jobs: trial and the first line of the reason. */
  failures: { trial: string; reason: string }[];
}

export async function queueStatus(target: QueueTarget, sweep?: string): Promise<SweepJobCounts[]> {
  const queue = new Queue<QueuedJob>(TRIALS_QUEUE, { connection: { ...target.connection, maxRetriesPerRequest: 1 } as ConnectionOptions, prefix: QUEUE_PREFIX });
  try {
    const by = new Map<string, SweepJobCounts>();
    const entry = (name: string): SweepJobCounts => {
      let e = by.get(name);
      if (!e) by.set(name, (e = { sweep: name, queued: 0, active: 0, failed: 0, completed: 0, running: [], failures: [] }));
      return e;
    };
    const states = ['waiting', 'delayed', 'prioritized', 'active', 'failed', 'completed'] as const;
    for (const state of states) {
      const jobs = await queue.getJobs([state], 0, -1);
      for (const job of jobs) {
        if (!job?.data) continue;
        const data = job.data;
        const group = isShardJob(data) ? `evaluation ${data.evaluation}` : data.sweep;
        if (sweep && group !== sweep && !(isShardJob(data) && data.evaluation === sweep)) continue;
        const e = entry(group);
        const trial = isShardJob(data) ? `shard ${data.shard + 1}/${data.shards}` : `#${data.index} ${data.label} seed=${data.seed}`;
        if (state === 'active') {
          e.active++;
          const p = job.progress as TrialProgress | number;
          const t = typeof p === 'object' ? p : undefined;
          e.running.push({ trial, worker: t?.worker, attempt: t?.attempt, task: t?.task ? `${t.task.label} ${t.task.value}${t.task.total !== undefined ? `/${t.task.total}` : ''}` : undefined });
        } else if (state === 'failed') {
          e.failed++;
          e.failures.push({ trial, reason: (job.failedReason ?? '').split('\n')[0] });
        } else if (state === 'completed') e.completed++;
        else e.queued++;
      }
    }
    return [...by.values()].sort((a, b) => a.sweep.localeCompare(b.sweep));
  } finally {
    await queue.close();
  }
}

export function queueStatusText(target: QueueTarget, counts: SweepJobCounts[]): string {
  const lines = [`queue ${target.display}`];
  if (!counts.length) return `${lines[0]}: no trial or shard jobs\n`;
  const header = ['sweep / evaluation', 'queued', 'active', 'failed', 'completed'];
  const rows = counts.map((c) => [c.sweep, String(c.queued), String(c.active), String(c.failed), String(c.completed)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  lines.push('');
  for (const r of [header, ...rows]) lines.push(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  for (const c of counts) {
    for (const r of c.running) lines.push(`  ${c.sweep} ${r.trial}: running on ${r.worker ?? '?'}${r.attempt && r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}${r.task ? `, ${r.task}` : ''}`);
    for (const f of c.failures) lines.push(`  ${c.sweep} ${f.trial}: FAILED: ${f.reason}`);
  }
  return lines.join('\n') + '\n';
}
