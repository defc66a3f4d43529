/**
 * Starts and stops real `mlflow server` processes for the integration suite: loopback, a SQLite
 * store and artifact proxying in a temp directory, one uvicorn worker, no job runner (faster to
 * start on small machines).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, closeSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function mlflowVersion(): string | undefined {
  const res = spawnSync(process.env.MLFLOW_BIN ?? 'mlflow', ['--version'], { encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) return undefined;
  return res.stdout.trim().replace(/^mlflow,?\s*version\s*/i, '');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(uri: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`mlflow server exited (${child.exitCode ?? child.signalCode}) before answering:\n${tail(logFile)}`);
    try {
      const res = await fetch(`${uri}/health`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`mlflow server at ${uri} did not answer /health within ${timeoutMs} ms:\n${tail(logFile)}`);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

/** One server we own: can be killed (crash) and started again on the same port and store. */
export class MlflowTestServer {
  private child?: ChildProcess;
  readonly uri: string;
  readonly logFile: string;
  private readonly exitHook = (): void => this.killGroup('SIGKILL');

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.uri = `http://127.0.0.1:${port}`;
    this.logFile = join(dir, 'server.log');
  }

  static async start(options: { timeoutMs?: number } = {}): Promise<MlflowTestServer> {
    const server = new MlflowTestServer(mkdtempSync(join(tmpdir(), 'cascade-mlflow-')), await freePort());
    await server.launch(options.timeoutMs ?? 90_000);
    return server;
  }

  private async launch(timeoutMs: number): Promise<void> {
    const log = openSync(this.logFile, 'a');
    this.child = spawn(
      process.env.MLFLOW_BIN ?? 'mlflow',
      [
        'server',
        '--backend-store-uri', `sqlite:///${join(this.dir, 'mlflow.db')}`,
        '--artifacts-destination', join(this.dir, 'artifacts'),
        '--host', '127.0.0.1',
        '--port', String(this.port),
        '--workers', '1',
      ],
      // Own process group, so the uvicorn workers die with it.
      { detached: true, stdio: ['ignore', log, log], env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' } },
    );
    closeSync(log);
    process.on('exit', this.exitHook);
    await waitHealthy(this.uri, this.child, this.logFile, timeoutMs);
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (this.child?.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      /* already gone */
    }
  }

  private async waitExit(timeoutMs: number): Promise<boolean> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      child.once('exit', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Simulates a crash: SIGKILL to the whole server process group. */
  async kill(): Promise<void> {
    this.killGroup('SIGKILL');
    await this.waitExit(10_000);
    process.off('exit', this.exitHook);
    // Wait until the port refuses connections (workers gone).
    for (let i = 0; i < 50; i++) {
      try {
        await fetch(`${this.uri}/health`);
        await new Promise((r) => setTimeout(r, 100));
      } catch {
        return;
      }
    }
  }

  /** Starts the server again on the same port and store. */
  async restart(timeoutMs = 90_000): Promise<void> {
    await this.launch(timeoutMs);
  }

  async stop(options: { keepFiles?: boolean } = {}): Promise<void> {
    this.killGroup('SIGTERM');
    if (!(await this.waitExit(15_000))) {
      this.killGroup('SIGKILL');
      await this.waitExit(5_000);
    }
    process.off('exit', this.exitHook);
    if (!options.keepFiles) rmSync(this.dir, { recursive: true, force: true });
  }
}
