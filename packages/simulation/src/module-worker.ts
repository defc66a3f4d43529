/**
 * Starting a worker thread on a module that may be TypeScript: the entry is loaded through
 * `worker-bootstrap.mjs` (plain JavaScript), which registers tsx first when asked to. The
 * simulation pool's workers start this way, and so can a plugin's own worker (ndm's dropout
 * thread): from `dist/` the entry is JavaScript and no loader is registered; from sources (Jest) or
 * in a process started with `--import tsx` (benchmarks, examples) it is registered.
 */
import { Worker } from 'node:worker_threads';
import { inheritedNodeFlags } from '@cascade-lab/core';

/** Whether this process runs TypeScript through tsx (`--import tsx`, or tsx in NODE_OPTIONS). */
export function underTsx(): boolean {
  return process.execArgv.some((a) => a.includes('tsx')) || (process.env.NODE_OPTIONS ?? '').includes('tsx');
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
    execArgv: inheritedNodeFlags(),
  });
}
