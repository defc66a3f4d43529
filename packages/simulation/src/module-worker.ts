/**
 * Starting a worker thread on a module that may be TypeScript: the entry is loaded through
 * `worker-bootstrap.mjs` (plain JavaScript), which registers tsx first when asked to. The
 * simulation pool's workers start this way, and so can a plugin's own worker (ndm's dropout
 * thread): from `dist/` the entry is JavaScript and no loader is registered; from sources (Jest) or
 * in a process started with `--import tsx` (benchmarks, examples) it is registered.
 */
import { Worker } from 'node:worker_threads';

/** Whether this process runs TypeScript through tsx (`--import tsx`, or tsx in NODE_OPTIONS). */
export function underTsx(): boolean {
  return process.execArgv.some((a) => a.includes('tsx')) || (process.env.NODE_OPTIONS ?? '').includes('tsx');
}

/**
 * The parent's Node flags that make sense in a worker: module resolution conditions, source maps,
 * warning switches and memory limits. Everything else (Jest's `--experimental-vm-modules`, module
 * hooks such as `--import tsx`, `--input-type`, `--eval`, inspector flags) is left out: the
 * bootstrap registers tsx itself where needed.
 */
export function workerExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--conditions' || a === '-C') {
      if (i + 1 < args.length) out.push(a, args[++i]);
    } else if (/^--(conditions=|enable-source-maps$|no-warnings|disable-warning=|max-old-space-size=|max-semi-space-size=|stack-size=)/.test(a)) out.push(a);
  }
  return out;
}

export interface ModuleWorkerOptions {
  /** Register tsx in the worker before importing the entry (default: the entry ends in `.ts`, or this process runs under tsx). */
  typescript?: boolean;
  /** tsconfig for tsx (e.g. one mapping `@cascade-lab/*` to sources); default: tsx's own lookup. */
  tsconfig?: string;
}

/** A worker thread running the module at `entry` (a `file:` URL, `.js` or `.ts`). */
export function moduleWorker(entry: URL, options: ModuleWorkerOptions = {}): Worker {
  const typescript = options.typescript ?? (entry.pathname.endsWith('.ts') || underTsx());
  return new Worker(new URL('../worker-bootstrap.mjs', import.meta.url), {
    workerData: { entry: entry.href, tsx: typescript, tsconfig: options.tsconfig },
    execArgv: workerExecArgv(),
  });
}
