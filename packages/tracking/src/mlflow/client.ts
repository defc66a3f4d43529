import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import axios, { isAxiosError, type AxiosInstance, type AxiosResponse, type ResponseType } from 'axios';
import { silentLogger, type Logger } from '@cascade-lab/core';
import { TrackingError, redactUri } from '../errors.js';
import { DEFAULT_RETRY_POLICY, parseRetryAfter, sleep, withRetry, type RetryDecision, type RetryPolicy } from '../retry.js';
import { splitLogBatch, type BatchChunk } from '../batching.js';
import { decodeMetricValue } from '../encoding.js';
import { MLFLOW_LIMITS, type BatchLimits } from '../limits.js';
import type { KeyValue, MetricPoint, RunStatus } from '../types.js';
import { normaliseArtifactPath } from '../paths.js';
import { DEFAULT_OUTAGE_OPTIONS, ServerOutage, seconds, type OutageOptions } from './outage.js';
import type {
  ArtifactEntry,
  MlflowExperiment,
  MlflowRun,
  MlflowRunInfo,
  MlflowWireMetric,
  SearchRunsPage,
  SearchRunsRequest,
} from './types.js';

export interface MlflowClientOptions {
  /** `http(s)://host:port[/prefix]`; `user:password@` in it is used for basic auth and never shown. */
  trackingUri: string;
  username?: string;
  password?: string;
  /** Bearer token (used when no username/password is given, as MLflow's client does). */
  token?: string;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout, ms (default 120 s, MLflow's `MLFLOW_HTTP_REQUEST_TIMEOUT`). */
  requestTimeoutMs?: number;
  /**
   * How long an idle kept-alive connection is kept for the next call, ms (default 1500). It must be
   * shorter than the server's own idle timeout (uvicorn, which `mlflow server` runs: 5 s; gunicorn:
   * 2 s): a connection the server has just closed, picked up for a request, fails with ECONNRESET.
   */
  idleSocketTimeoutMs?: number;
  /** Skip TLS verification (`MLFLOW_TRACKING_INSECURE_TLS`). */
  insecureTls?: boolean;
  /** CA bundle for the server's certificate (`MLFLOW_TRACKING_SERVER_CERT_PATH`). */
  caCertPath?: string;
  logger?: Logger;
  /** Jitter source (tests). */
  random?: () => number;
  /** When the server counts as down and how it is probed (see `ServerOutage`). */
  outage?: Partial<OutageOptions>;
}

/** Per-call knobs. */
export interface CallOptions {
  /** Absolute time (ms since the epoch) after which no further retry starts. */
  deadline?: number;
  signal?: AbortSignal;
  /** Send even while the server is known down, with a single attempt (the outage probe). */
  probe?: boolean;
}

// Network failures worth another try (connection refused/reset, timeouts, DNS hiccups).
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_NETWORK',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** A failure that says the server is away (not a request it refused). */
const RETRYABLE = (err: TrackingError): boolean =>
  err.networkCode !== undefined ? RETRYABLE_NETWORK_CODES.has(err.networkCode) : err.httpStatus !== undefined && err.httpStatus >= 500;

const envFlag = (v: string | undefined): boolean => v !== undefined && ['1', 'true', 'yes'].includes(v.toLowerCase());

/**
 * Typed client for the MLflow REST API 2.0 and the artifact proxy (`mlflow-artifacts`), built on
 * axios. Every call retries transient failures (see `RetryPolicy`) and throws `TrackingError`
 * carrying MLflow's `error_code`.
 */
export class MlflowClient {
  /** The tracking URI without credentials and without a trailing slash. */
  readonly trackingUri: string;
  readonly retryPolicy: RetryPolicy;
  private readonly http: AxiosInstance;
  private readonly logger: Logger;
  private readonly random?: () => number;
  private readonly agents: (http.Agent | https.Agent)[];
  /** Shared by every call and run of this client: once the server is down, calls fail at once. */
  readonly outage: ServerOutage;

  constructor(options: MlflowClientOptions) {
    let url: URL;
    try {
      url = new URL(options.trackingUri);
    } catch {
      throw new TrackingError(`invalid MLflow tracking URI ${JSON.stringify(redactUri(options.trackingUri))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TrackingError(`the MLflow client needs an http(s) tracking URI, got ${JSON.stringify(redactUri(options.trackingUri))}`);
    const username = options.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
    const password = options.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
    url.username = '';
    url.password = '';
    this.trackingUri = url.toString().replace(/\/+$/, '');
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.logger = options.logger ?? silentLogger;
    this.random = options.random;

    const headers: Record<string, string> = { 'User-Agent': 'cascade-lab-tracking' };
    if (username && password) headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    else if (options.token) headers.Authorization = `Bearer ${options.token}`;

    // Node's agent destroys a free socket when its `timeout` passes; a request sets its own timeout
    // (axios' `timeout`) while it runs. Servers rarely announce their idle timeout (uvicorn does not
    // send Keep-Alive: timeout=...), so without this a metrics batch every ~5 s races the server's close.
    const idle = options.idleSocketTimeoutMs ?? 1500;
    const httpAgent = new http.Agent({ keepAlive: true, timeout: idle });
    const httpsAgent = new https.Agent({
      keepAlive: true,
      timeout: idle,
      rejectUnauthorized: !options.insecureTls,
      ca: options.caCertPath ? readFileSync(options.caCertPath) : undefined,
    });
    this.agents = [httpAgent, httpsAgent];
    this.http = axios.create({
      baseURL: this.trackingUri + '/',
      headers,
      timeout: options.requestTimeoutMs ?? 120_000,
      httpAgent,
      httpsAgent,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      // Every status comes back as a response; `send` turns non-2xx into TrackingError itself.
      validateStatus: () => true,
      // Timeouts surface as ETIMEDOUT (retryable) rather than a generic ECONNABORTED.
      transitional: { clarifyTimeoutError: true },
    });
    this.outage = new ServerOutage(this.trackingUri, () => this.ping(), this.logger, { ...DEFAULT_OUTAGE_OPTIONS, ...options.outage });
  }

  /** True while the server is known to be unreachable (a background probe watches for its return). */
  get isDown(): boolean {
    return this.outage.down;
  }

  /**
   * One request, no retries, 5 s at most: resolves when the server answers anything that is not a
   * transient failure (even 401/403: it is up), else throws the TrackingError.
   */
  async ping(): Promise<void> {
    try {
      await this.send('GET', 'api/2.0/mlflow/experiments/search', { params: { max_results: 1 }, timeoutMs: 5000 }, { probe: true });
    } catch (err) {
      if (err instanceof TrackingError && err.transient) throw err;
    }
  }

  /**
   * A client configured like MLflow's own: `MLFLOW_TRACKING_URI`, `MLFLOW_TRACKING_USERNAME`,
   * `MLFLOW_TRACKING_PASSWORD`, `MLFLOW_TRACKING_TOKEN`, `MLFLOW_HTTP_REQUEST_MAX_RETRIES`,
   * `MLFLOW_HTTP_REQUEST_TIMEOUT` (seconds), `MLFLOW_TRACKING_INSECURE_TLS`,
   * `MLFLOW_TRACKING_SERVER_CERT_PATH`. `overrides` win over the environment.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<MlflowClientOptions> = {}): MlflowClient {
    const trackingUri = overrides.trackingUri ?? env.MLFLOW_TRACKING_URI;
    if (!trackingUri) throw new TrackingError('no MLflow tracking URI', { hint: 'set MLFLOW_TRACKING_URI or pass --uri' });
    const retries = env.MLFLOW_HTTP_REQUEST_MAX_RETRIES;
    const timeout = env.MLFLOW_HTTP_REQUEST_TIMEOUT;
    return new MlflowClient({
      username: env.MLFLOW_TRACKING_USERNAME || undefined,
      password: env.MLFLOW_TRACKING_PASSWORD || undefined,
      token: env.MLFLOW_TRACKING_TOKEN || undefined,
      insecureTls: envFlag(env.MLFLOW_TRACKING_INSECURE_TLS),
      caCertPath: env.MLFLOW_TRACKING_SERVER_CERT_PATH || undefined,
      requestTimeoutMs: timeout && Number.isFinite(Number(timeout)) ? Number(timeout) * 1000 : undefined,
      ...overrides,
      trackingUri,
      retry: { ...(retries && Number.isInteger(Number(retries)) ? { maxRetries: Number(retries) } : {}), ...overrides.retry },
    });
  }

  /** Closes pooled connections. */
  close(): void {
    this.outage.close();
    for (const a of this.agents) a.destroy();
  }

  /** The run's page in the MLflow UI. */
  runPageUrl(experimentId: string, runId: string): string {
    return `${this.trackingUri}/#/experiments/${experimentId}/runs/${runId}`;
  }

  // ---------------------------------------------------------------- transport

  private async send<T>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    request: {
      params?: Record<string, unknown>;
      data?: unknown;
      dataFactory?: () => Promise<unknown> | unknown;
      headers?: Record<string, string | number>;
      responseType?: ResponseType;
      timeoutMs?: number;
    },
    options: CallOptions = {},
  ): Promise<T> {
    const endpoint = `${method} /${path}`;
    const outage = this.outage;
    if (outage.down && !options.probe) throw outage.error(endpoint);
    // A wait or request of this call stops when another call finds the server down.
    const signal = options.probe ? options.signal : options.signal ? AbortSignal.any([options.signal, outage.signal]) : outage.signal;
    const cancelledByCaller = (): boolean => options.signal?.aborted === true;
    const attempt = async (): Promise<T> => {
      let res: AxiosResponse;
      try {
        res = await this.http.request({
          method,
          url: path,
          params: request.params,
          data: request.dataFactory ? await request.dataFactory() : request.data,
          headers: request.headers,
          responseType: request.responseType,
          timeout: request.timeoutMs,
          signal,
        });
      } catch (err) {
        if (!cancelledByCaller() && outage.down && !options.probe) throw outage.error(endpoint);
        throw this.networkError(endpoint, err);
      }
      if (res.status >= 200 && res.status < 300) return res.data as T;
      throw httpError(endpoint, res);
    };
    const classify = (err: unknown): RetryDecision => {
      if (!(err instanceof TrackingError)) return { retryable: false };
      if (err.networkCode !== undefined) return { retryable: RETRYABLE_NETWORK_CODES.has(err.networkCode) };
      if (err.httpStatus !== undefined && this.retryPolicy.retryStatuses.has(err.httpStatus))
        return { retryable: true, retryAfterMs: err.retryAfterMs };
      return { retryable: false };
    };
    if (options.probe) return attempt();
    // Connection failures and 5xx are retried for `declareAfterMs` at most; then the server is
    // declared down for every call. A 429 (the server is up, only busy) keeps its own deadline.
    const declareAt = Date.now() + outage.options.declareAfterMs;
    let rateLimited = false;
    const classifyAndTrack = (err: unknown): RetryDecision => {
      const decision = classify(err);
      rateLimited = err instanceof TrackingError && err.httpStatus === 429;
      if (decision.retryable && !rateLimited && Date.now() >= declareAt) return { retryable: false };
      return decision;
    };
    try {
      return await withRetry(attempt, classifyAndTrack, this.retryPolicy, {
        deadline: options.deadline,
        signal,
        random: this.random,
        onRetry: ({ attempt: n, delayMs, error }) => {
          const cut = !rateLimited && Date.now() + delayMs > declareAt;
          const message = (error as Error).message;
          const what = message.startsWith('MLflow ') ? message : `MLflow ${endpoint}: ${message}`;
          this.logger.warn(`${what}; retrying (attempt ${n}, next in ${seconds(cut ? Math.max(0, declareAt - Date.now()) : delayMs)})`);
        },
        sleep: (ms, s) => sleep(rateLimited ? ms : Math.min(ms, Math.max(0, declareAt - Date.now())), s),
      });
    } catch (err) {
      if (cancelledByCaller()) throw err;
      if (outage.down) throw err instanceof TrackingError && err.transient ? err : outage.error(endpoint);
      if (err instanceof TrackingError && err.transient && err.httpStatus !== 429 && RETRYABLE(err)) outage.declare(err);
      throw err;
    }
  }

  private networkError(endpoint: string, err: unknown): TrackingError {
    const code = (isAxiosError(err) ? err.code : (err as NodeJS.ErrnoException)?.code) ?? 'ERR_NETWORK';
    const detail = err instanceof Error ? err.message : String(err);
    return new TrackingError(`MLflow ${endpoint}: cannot reach ${this.trackingUri} (${code}: ${detail})`, {
      networkCode: code,
      endpoint,
      hint: 'is the MLflow server running? check MLFLOW_TRACKING_URI',
    });
  }

  private api<T>(method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>, options?: CallOptions): Promise<T> {
    const path = `api/2.0/mlflow/${endpoint}`;
    return method === 'GET'
      ? this.send<T>('GET', path, { params: body }, options)
      : this.send<T>('POST', path, { data: body ?? {}, headers: { 'Content-Type': 'application/json' } }, options);
  }

  // ---------------------------------------------------------------- experiments

  /** The experiment of that name (active or deleted), or undefined. */
  async getExperimentByName(name: string, options?: CallOptions): Promise<MlflowExperiment | undefined> {
    try {
      const res = await this.api<{ experiment: MlflowExperiment }>('GET', 'experiments/get-by-name', { experiment_name: name }, options);
      return res.experiment;
    } catch (err) {
      if (err instanceof TrackingError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  async getExperiment(experimentId: string, options?: CallOptions): Promise<MlflowExperiment> {
    const res = await this.api<{ experiment: MlflowExperiment }>('GET', 'experiments/get', { experiment_id: experimentId }, options);
    return res.experiment;
  }

  /** Creates an experiment; returns its id. Throws RESOURCE_ALREADY_EXISTS when the name is taken. */
  async createExperiment(name: string, tags: Record<string, string> = {}, options?: CallOptions): Promise<string> {
    const res = await this.api<{ experiment_id: string }>(
      'POST',
      'experiments/create',
      { name, tags: Object.entries(tags).map(([key, value]) => ({ key, value })) },
      options,
    );
    return res.experiment_id;
  }

  async deleteExperiment(experimentId: string, options?: CallOptions): Promise<void> {
    await this.api('POST', 'experiments/delete', { experiment_id: experimentId }, options);
  }

  async restoreExperiment(experimentId: string, options?: CallOptions): Promise<void> {
    await this.api('POST', 'experiments/restore', { experiment_id: experimentId }, options);
  }

  /**
   * Gets the experiment by name, creating it if missing. Safe when several processes race: a
   * `RESOURCE_ALREADY_EXISTS` from create means another one won, so the name is looked up again.
   * A deleted experiment of that name is restored (MLflow keeps deleted names reserved), or, with
   * `restoreDeleted: false`, reported as an error.
   */
  async getOrCreateExperiment(name: string, opts: { restoreDeleted?: boolean } & CallOptions = {}): Promise<MlflowExperiment> {
    const restoreDeleted = opts.restoreDeleted ?? true;
    for (let round = 0; round < 5; round++) {
      const found = await this.getExperimentByName(name, opts);
      if (found) {
        if (found.lifecycle_stage !== 'deleted') return found;
        if (!restoreDeleted)
          throw new TrackingError(`MLflow experiment ${JSON.stringify(name)} (id ${found.experiment_id}) is deleted`, {
            errorCode: 'EXPERIMENT_DELETED',
            hint: 'restore it in the MLflow UI (or let the client restore it), or use another experiment name',
          });
        try {
          await this.restoreExperiment(found.experiment_id, opts);
          this.logger.info(`restored the deleted MLflow experiment ${JSON.stringify(name)} (id ${found.experiment_id})`);
        } catch (err) {
          // Another process may have restored it first; the next round re-reads the state.
          if (!(err instanceof TrackingError) || err.errorCode === undefined) throw err;
        }
        continue;
      }
      try {
        const id = await this.createExperiment(name, {}, opts);
        return await this.getExperiment(id, opts);
      } catch (err) {
        if (err instanceof TrackingError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') continue;
        throw err;
      }
    }
    throw new TrackingError(`could not get or create the MLflow experiment ${JSON.stringify(name)}: it kept changing state`);
  }

  // ---------------------------------------------------------------- runs

  async createRun(
    req: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string>; userId?: string },
    options?: CallOptions,
  ): Promise<MlflowRun> {
    const res = await this.api<{ run: MlflowRun }>(
      'POST',
      'runs/create',
      {
        experiment_id: req.experimentId,
        run_name: req.runName,
        start_time: req.startTime ?? Date.now(),
        user_id: req.userId,
        tags: Object.entries(req.tags ?? {}).map(([key, value]) => ({ key, value })),
      },
      options,
    );
    return res.run;
  }

  async updateRun(runId: string, update: { status?: RunStatus; endTime?: number; runName?: string }, options?: CallOptions): Promise<MlflowRunInfo> {
    const res = await this.api<{ run_info: MlflowRunInfo }>(
      'POST',
      'runs/update',
      { run_id: runId, status: update.status, end_time: update.endTime, run_name: update.runName },
      options,
    );
    return res.run_info;
  }

  async getRun(runId: string, options?: CallOptions): Promise<MlflowRun> {
    const res = await this.api<{ run: MlflowRun }>('GET', 'runs/get', { run_id: runId }, options);
    return res.run;
  }

  async deleteRun(runId: string, options?: CallOptions): Promise<void> {
    await this.api('POST', 'runs/delete', { run_id: runId }, options);
  }

  async setTag(runId: string, key: string, value: string, options?: CallOptions): Promise<void> {
    await this.api('POST', 'runs/set-tag', { run_id: runId, key, value }, options);
  }

  /** Sends one request of a split batch (see `splitLogBatch`). */
  async sendLogBatch(chunk: BatchChunk, options?: CallOptions): Promise<void> {
    await this.api('POST', 'runs/log-batch', chunk.body as unknown as Record<string, unknown>, options);
  }

  /**
   * Logs params, tags and metrics, split into as many requests as the limits need. Returns the
   * number of requests sent.
   */
  async logBatch(
    runId: string,
    items: { metrics?: readonly MetricPoint[]; params?: readonly KeyValue[]; tags?: readonly KeyValue[] },
    options?: CallOptions & { limits?: BatchLimits },
  ): Promise<number> {
    const chunks = splitLogBatch(runId, items, options?.limits ?? MLFLOW_LIMITS);
    for (const chunk of chunks) await this.sendLogBatch(chunk, options);
    return chunks.length;
  }

  /** One page of `runs/search`. */
  async searchRuns(req: SearchRunsRequest, options?: CallOptions): Promise<SearchRunsPage> {
    const res = await this.api<{ runs?: MlflowRun[]; next_page_token?: string }>(
      'POST',
      'runs/search',
      {
        experiment_ids: req.experimentIds,
        filter: req.filter,
        max_results: req.maxResults ?? 1000,
        order_by: req.orderBy,
        run_view_type: req.runViewType,
        page_token: req.pageToken,
      },
      options,
    );
    return { runs: res.runs ?? [], nextPageToken: res.next_page_token || undefined };
  }

  /** Every run matching the search, following `next_page_token` through all pages. */
  async searchAllRuns(req: Omit<SearchRunsRequest, 'pageToken'>, options?: CallOptions): Promise<MlflowRun[]> {
    const all: MlflowRun[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.searchRuns({ ...req, pageToken }, options);
      all.push(...page.runs);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  /** A metric's full history, in the server's order, values decoded (NaN, ±Infinity restored). */
  async getMetricHistory(runId: string, key: string, options?: CallOptions & { pageSize?: number }): Promise<MetricPoint[]> {
    const points: MetricPoint[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.api<{ metrics?: MlflowWireMetric[]; next_page_token?: string }>(
        'GET',
        'metrics/get-history',
        { run_id: runId, metric_key: key, max_results: options?.pageSize ?? 25_000, page_token: pageToken },
        options,
      );
      for (const m of res.metrics ?? [])
        points.push({ key: m.key, value: decodeMetricValue(m.value), step: Number(m.step ?? 0), timestamp: Number(m.timestamp) });
      pageToken = res.next_page_token || undefined;
    } while (pageToken);
    return points;
  }

  // ---------------------------------------------------------------- artifacts

  private artifactUrl(artifactUri: string, artifactPath?: string): string {
    const root = artifactProxyPath(artifactUri);
    const rel = artifactPath === undefined ? '' : normaliseArtifactPath(artifactPath);
    const full = [root, rel].filter(Boolean).join('/');
    return `api/2.0/mlflow-artifacts/artifacts/${full.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** Streams a local file to the run's artifact store through the server's proxy. */
  async uploadArtifact(artifactUri: string, localPath: string, artifactPath: string, options?: CallOptions): Promise<void> {
    const info = await stat(localPath).catch((err: NodeJS.ErrnoException) => {
      throw new TrackingError(`cannot read artifact ${localPath}: ${err.code ?? err.message}`);
    });
    if (!info.isFile()) throw new TrackingError(`artifact ${localPath} is not a file`);
    await this.send(
      'PUT',
      this.artifactUrl(artifactUri, artifactPath),
      {
        // A fresh stream per attempt: a stream consumed by a failed attempt cannot be replayed.
        dataFactory: () => createReadStream(localPath),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': info.size },
      },
      options,
    );
  }

  async uploadArtifactBytes(artifactUri: string, data: string | Uint8Array, artifactPath: string, options?: CallOptions): Promise<void> {
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.send(
      'PUT',
      this.artifactUrl(artifactUri, artifactPath),
      { data: body, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': body.byteLength } },
      options,
    );
  }

  /** Entries directly under `path` (relative to the run's artifact root). */
  async listArtifacts(artifactUri: string, path = '', options?: CallOptions): Promise<ArtifactEntry[]> {
    const root = artifactProxyPath(artifactUri);
    const dir = [root, path ? normaliseArtifactPath(path) : ''].filter(Boolean).join('/');
    const res = await this.send<{ files?: ArtifactEntry[] }>('GET', 'api/2.0/mlflow-artifacts/artifacts', { params: { path: dir } }, options);
    return (res.files ?? []).map((f) => ({ ...f, path: path ? `${normaliseArtifactPath(path)}/${f.path}` : f.path }));
  }

  async downloadArtifact(artifactUri: string, artifactPath: string, options?: CallOptions): Promise<Buffer> {
    const data = await this.send<ArrayBuffer>('GET', this.artifactUrl(artifactUri, artifactPath), { responseType: 'arraybuffer' }, options);
    return Buffer.from(data);
  }
}

function httpError(endpoint: string, res: AxiosResponse): TrackingError {
  let body: unknown = res.data;
  if (body instanceof ArrayBuffer || Buffer.isBuffer(body)) body = Buffer.from(body as ArrayBuffer).toString('utf8');
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* not JSON: keep the text */
    }
  }
  const errorCode = typeof body === 'object' && body !== null ? (body as { error_code?: string }).error_code : undefined;
  const rawMessage =
    typeof body === 'object' && body !== null ? String((body as { message?: string }).message ?? '') : String(body ?? '').replace(/\s+/g, ' ');
  const message = rawMessage.length > 500 ? rawMessage.slice(0, 500) + '...' : rawMessage;
  const retryAfter = res.headers?.['retry-after'];
  return new TrackingError(
    `MLflow ${endpoint} failed: ${res.status}${errorCode ? ` ${errorCode}` : ''}${message ? `: ${message}` : ''}`,
    {
      errorCode,
      httpStatus: res.status,
      endpoint,
      retryAfterMs: parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined),
      hint: res.status === 401 || res.status === 403 ? 'check MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN' : undefined,
    },
  );
}

/**
 * The path under `/api/2.0/mlflow-artifacts/artifacts/` for a run's artifact URI. The server's
 * proxy gives runs URIs like `mlflow-artifacts:/1/<run>/artifacts` (or with `//host:port`); an
 * experiment whose artifacts are not proxied (a local path, `s3://`) cannot be written through
 * the REST API.
 */
export function artifactProxyPath(artifactUri: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(artifactUri);
  if (m) return m[1].replace(/\/+$/, '');
  const h = /^https?:\/\/[^/]+(?:\/.*)?\/api\/2\.0\/mlflow-artifacts\/artifacts\/*(.*)$/.exec(artifactUri);
  if (h) return h[1].replace(/\/+$/, '');
  throw new TrackingError(`the run's artifact location ${JSON.stringify(artifactUri)} is not served by the MLflow artifact proxy`, {
    errorCode: 'ARTIFACTS_NOT_PROXIED',
    hint: 'start the server with artifact serving (the default; `--artifacts-destination DIR`), and use an experiment created by that server',
  });
}
