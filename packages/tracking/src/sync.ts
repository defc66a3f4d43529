import { hostname } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '@cascade-lab/core';
import { TrackingError } from './errors.js';
import { LocalStore, type LocalRunMeta, type SyncState } from './local/store.js';
import type { MlflowClient } from './mlflow/client.js';
import { CASCADE_TAGS, MLFLOW_TAGS } from './system-tags.js';
import type { EndStatus } from './types.js';

export interface SyncOptions {
  /** Report what would be uploaded; contact nobody, change nothing. */
  dryRun?: boolean;
  /** Only these local run ids (their parents must already be uploaded or be listed too). */
  runIds?: string[];
  /** Upload into this experiment instead of each run's own. */
  experiment?: string;
  logger?: Logger;
}

export type SyncAction = 'uploaded' | 'resumed' | 'skipped' | 'failed' | 'would-upload' | 'would-resume';

export interface SyncRunReport {
  localRunId: string;
  name: string;
  action: SyncAction;
  reason?: string;
  experimentId?: string;
  remoteRunId?: string;
  counts: { params: number; tags: number; metricPoints: number; artifacts: number };
}

/**
 * Is the process that owns a RUNNING local run still alive? Only knowable on the same host; a run
 * owned by another host is assumed alive.
 */
export function runOwnerAlive(meta: LocalRunMeta): boolean {
  if (meta.pid === undefined) return false;
  if (meta.host !== undefined && meta.host !== hostname()) return true;
  try {
    process.kill(meta.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Parents before children (runs whose parent is not in the list keep their place). */
function parentsFirst(runs: LocalRunMeta[]): LocalRunMeta[] {
  const byId = new Map(runs.map((r) => [r.runId, r]));
  const done = new Set<string>();
  const out: LocalRunMeta[] = [];
  const visit = (r: LocalRunMeta, path: Set<string>): void => {
    if (done.has(r.runId) || path.has(r.runId)) return;
    path.add(r.runId);
    const parent = r.parentRunId ? byId.get(r.parentRunId) : undefined;
    if (parent) visit(parent, path);
    done.add(r.runId);
    out.push(r);
  };
  for (const r of runs) visit(r, new Set());
  return out;
}

/**
 * Uploads local runs to an MLflow server: run name, start/end time, status, params, tags, every
 * metric point with its step and timestamp, artifacts, and parent/child nesting (parents go
 * first; `mlflow.parentRunId` is rewritten to the parent's remote id). Each run is uploaded once
 * per server: the mapping is kept in the run's `sync.json`, and uploaded runs carry the
 * `cascade.localRunId` tag, which is searched for when `sync.json` does not know the run yet (an
 * upload cut short after creating the remote run). An interrupted upload resumes into the same
 * remote run (MLflow ignores a metric point logged twice; params and tags are idempotent).
 * Runs spilled by an MLflow run whose server was away are completed in that remote run.
 */
export async function syncLocalRuns(store: LocalStore, client: MlflowClient, options: SyncOptions = {}): Promise<SyncRunReport[]> {
  const logger = options.logger ?? silentLogger;
  const uri = client.trackingUri;
  let runs = store.listRuns();
  if (options.runIds) {
    const wanted = new Set(options.runIds);
    for (const id of wanted) if (!runs.some((r) => r.runId === id)) throw new TrackingError(`no local run ${JSON.stringify(id)} in ${store.root}`);
    runs = runs.filter((r) => wanted.has(r.runId));
  }
  const reports: SyncRunReport[] = [];
  const failed = new Set<string>();
  const experimentIds = new Map<string, string>();

  for (const meta of parentsFirst(runs)) {
    const id = meta.runId;
    let params: Record<string, string>;
    let tags: Record<string, string>;
    let metricFiles: { key: string; file: string }[];
    let artifacts: string[];
    let counts: SyncRunReport['counts'];
    try {
      params = store.readParams(id);
      tags = store.readTags(id);
      metricFiles = store.metricFiles(id);
      artifacts = store.listArtifactFiles(id);
      counts = {
        params: Object.keys(params).length,
        tags: Object.keys(tags).length,
        metricPoints: metricFiles.reduce((n, m) => n + store.readMetricHistory(id, m.key).length, 0),
        artifacts: artifacts.length,
      };
    } catch (err) {
      // One damaged run is reported; the others are still uploaded.
      failed.add(id);
      reports.push({ localRunId: id, name: meta.name, action: 'failed', counts: { params: 0, tags: 0, metricPoints: 0, artifacts: 0 }, reason: (err as Error).message });
      logger.error(`run ${meta.name} (${id}): ${(err as Error).message}`);
      continue;
    }
    const report = (action: SyncAction, extra: Partial<SyncRunReport> = {}): void => {
      reports.push({ localRunId: id, name: meta.name, action, counts, ...extra });
    };
    const sync: SyncState = store.readSyncState(id);
    const target = sync.targets[uri];
    if (target?.state === 'complete') {
      report('skipped', { reason: `already uploaded as ${target.runId}`, remoteRunId: target.runId, experimentId: target.experimentId });
      continue;
    }
    if (meta.remote && meta.remote.trackingUri !== uri) {
      report('skipped', { reason: `holds the rest of a run on ${meta.remote.trackingUri}; sync it there` });
      continue;
    }
    let status = meta.status;
    let endTime = meta.endTime;
    let crashed = false;
    if (status === 'RUNNING' || status === 'SCHEDULED') {
      if (runOwnerAlive(meta)) {
        report('skipped', { reason: `still running (pid ${meta.pid} on ${meta.host})` });
        continue;
      }
      // Its process is gone without closing it (SIGKILL, power loss): it failed.
      status = 'FAILED';
      endTime = lastActivity(store, meta);
      crashed = true;
    }
    const parentTarget = meta.parentRunId ? store.hasRun(meta.parentRunId) && store.readSyncState(meta.parentRunId).targets[uri] : undefined;
    if (meta.parentRunId && failed.has(meta.parentRunId)) {
      failed.add(id);
      report('failed', { reason: `its parent run ${meta.parentRunId} was not uploaded` });
      continue;
    }
    const resume = meta.remote !== undefined || target !== undefined;
    if (options.dryRun) {
      report(resume ? 'would-resume' : 'would-upload', {
        remoteRunId: meta.remote?.runId ?? target?.runId,
        reason: crashed ? 'its process ended without closing it: uploads as FAILED' : undefined,
      });
      continue;
    }

    try {
      let experimentId: string;
      let remoteRunId: string;
      if (meta.remote) {
        experimentId = meta.remote.experimentId;
        remoteRunId = meta.remote.runId;
      } else {
        const expName = options.experiment ?? meta.experiment;
        if (!experimentIds.has(expName)) experimentIds.set(expName, (await client.getOrCreateExperiment(expName)).experiment_id);
        experimentId = experimentIds.get(expName)!;
        const found =
          target?.runId ??
          (
            await client.searchRuns({
              experimentIds: [experimentId],
              filter: `tags.\`${CASCADE_TAGS.localRunId}\` = '${id}'`,
              runViewType: 'ALL',
              maxResults: 1,
            })
          ).runs[0]?.info.run_id;
        if (found) remoteRunId = found;
        else {
          const created = await client.createRun({
            experimentId,
            runName: meta.name,
            startTime: meta.startTime,
            userId: tags[MLFLOW_TAGS.user],
            tags: { [CASCADE_TAGS.localRunId]: id },
          });
          remoteRunId = created.info.run_id;
        }
        sync.targets[uri] = { experimentId, runId: remoteRunId, state: 'partial', updatedAt: Date.now() };
        store.writeSyncState(id, sync);
      }

      const remoteTags: Record<string, string> = { ...tags };
      if (!meta.remote) {
        remoteTags[MLFLOW_TAGS.runName] = meta.name;
        remoteTags[CASCADE_TAGS.localRunId] = id;
        delete remoteTags[MLFLOW_TAGS.parentRunId];
        if (meta.parentRunId) {
          if (parentTarget) remoteTags[MLFLOW_TAGS.parentRunId] = parentTarget.runId;
          else logger.warn(`run ${meta.name} (${id}): parent ${meta.parentRunId} is not on ${uri}; uploading it without nesting`);
        }
      }
      if (crashed) remoteTags[CASCADE_TAGS.error] = 'the process ended without closing the run';
      await client.logBatch(remoteRunId, {
        params: Object.entries(params).map(([key, value]) => ({ key, value })),
        tags: Object.entries(remoteTags).map(([key, value]) => ({ key, value })),
      });
      for (const { key } of metricFiles) await client.logBatch(remoteRunId, { metrics: store.readMetricHistory(id, key) });
      if (artifacts.length > 0) {
        const artifactUri = (await client.getRun(remoteRunId)).info.artifact_uri ?? '';
        for (const path of artifacts) await client.uploadArtifact(artifactUri, join(store.artifactsDir(id), ...path.split('/')), path);
      }
      await client.updateRun(remoteRunId, { status: status as EndStatus, endTime: endTime ?? Date.now() });
      if (crashed) store.updateMeta(id, { status: 'FAILED', endTime });
      sync.targets[uri] = { experimentId, runId: remoteRunId, state: 'complete', updatedAt: Date.now() };
      store.writeSyncState(id, sync);
      report(resume ? 'resumed' : 'uploaded', { experimentId, remoteRunId });
      logger.info(`${resume ? 'completed' : 'uploaded'} ${meta.name} (${id}) -> ${client.runPageUrl(experimentId, remoteRunId)}`);
    } catch (err) {
      failed.add(id);
      report('failed', { reason: (err as Error).message });
      logger.error(`run ${meta.name} (${id}): ${(err as Error).message}`);
    }
  }
  // Runs whose meta.json cannot be read are not uploaded, and say so.
  for (const broken of store.broken()) {
    if (options.runIds && !options.runIds.includes(broken.runId)) continue;
    reports.push({ localRunId: broken.runId, name: broken.runId, action: 'failed', counts: { params: 0, tags: 0, metricPoints: 0, artifacts: 0 }, reason: broken.message });
  }
  return reports;
}

/** When a crashed run was last seen doing something: its latest metric timestamp, else its start. */
function lastActivity(store: LocalStore, meta: LocalRunMeta): number {
  const latest = Object.values(store.latestMetrics(meta.runId)).map((p) => p.timestamp);
  return Math.max(meta.startTime, ...latest);
}
