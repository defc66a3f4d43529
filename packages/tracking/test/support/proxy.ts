/**
 * A tiny HTTP proxy in front of the real server: records every request (method, path, headers,
 * body size) and can answer some requests itself (e.g. a 429 with Retry-After) instead of
 * forwarding them. Only the injected answers are fake; everything else reaches MLflow.
 */
import http from 'node:http';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
  body: Buffer;
  at: number;
  /** Answered by the proxy itself (injected fault). */
  injected: boolean;
}

export interface Injection {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export class RecordingProxy {
  readonly requests: RecordedRequest[] = [];
  /** Return an answer to inject instead of forwarding, or undefined to forward. */
  inject: (req: RecordedRequest) => Injection | undefined = () => undefined;
  /** Hold a request this many ms before forwarding it (a slow server). */
  delayMs: (req: RecordedRequest) => number = () => 0;
  private server?: http.Server;
  uri = '';

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const rec: RecordedRequest = {
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers: req.headers,
          bodyBytes: body.length,
          body,
          at: Date.now(),
          injected: false,
        };
        this.requests.push(rec);
        const fake = this.inject(rec);
        if (fake) {
          rec.injected = true;
          res.writeHead(fake.status, { 'Content-Type': 'application/json', ...fake.headers });
          res.end(fake.body ?? JSON.stringify({ error_code: 'TEMPORARILY_UNAVAILABLE', message: 'injected by the test proxy' }));
          return;
        }
        const headers = { ...req.headers, host: target.host };
        const forward = (): void => {
        const upstream = http.request(
          { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => {
          res.writeHead(502);
          res.end();
        });
        upstream.end(body);
        };
        const delay = this.delayMs(rec);
        if (delay > 0) setTimeout(forward, delay);
        else forward();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.uri = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  logBatches(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/runs/log-batch'));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
