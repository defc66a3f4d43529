/** Shapes of MLflow REST API 2.0 responses (only the fields this client uses). */
import type { EncodedMetricValue } from '../encoding.js';
import type { KeyValue, RunStatus } from '../types.js';

export interface MlflowExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: 'active' | 'deleted';
  creation_time?: number;
  last_update_time?: number;
  tags?: KeyValue[];
}

export interface MlflowRunInfo {
  run_id: string;
  run_uuid?: string;
  experiment_id: string;
  run_name?: string;
  user_id?: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage: 'active' | 'deleted';
}

export interface MlflowWireMetric {
  key: string;
  value: EncodedMetricValue;
  timestamp: number;
  step?: number;
}

export interface MlflowRunData {
  metrics?: MlflowWireMetric[];
  params?: KeyValue[];
  tags?: KeyValue[];
}

export interface MlflowRun {
  info: MlflowRunInfo;
  data: MlflowRunData;
}

export interface SearchRunsRequest {
  experimentIds: string[];
  /** MLflow search filter, e.g. `tags.\`cascade.localRunId\` = 'abc'`. */
  filter?: string;
  /** Runs per page (server maximum 50000). */
  maxResults?: number;
  orderBy?: string[];
  runViewType?: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
  pageToken?: string;
}

export interface SearchRunsPage {
  runs: MlflowRun[];
  nextPageToken?: string;
}

export interface ArtifactEntry {
  path: string;
  is_dir: boolean;
  file_size?: number;
}
