/**
 * The `cascade` CLI as separate processes (from the sources, through tsx), for the integration
 * tests that run it: the queue's (sweeps, workers and evaluations through a real Redis) and the
 * local sweep's kill-and-resume test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../../../..');
const mainTs = resolve(here, '../main.ts');
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface Cli {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

export function cli(args: string[], cwd: string): Cli {
  const child = spawn(process.execPath, ['--import', tsx, mainTs, ...args], {
    cwd,
    env: { ...process.env, TSX_TSCONFIG_PATH: resolve(here, '../sweep/tsconfig.sources.json'), CASCADE_DATA_DIR: process.env.CASCADE_DATA_DIR ?? resolve(repoRoot, '../shared/data'), CASCADE_QUEUE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { child, output: () => text, exit };
}

export async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number, output: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; output:\n${output()}`);
}

/** Every file under `dir` (text or not), for the credential check. */
export function everyFile(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...everyFile(p));
    else out.push(p);
  }
  return out;
}

/** The exit code of a CLI process; on a timeout, fails with the output of every process given. */
export async function exitOf(c: Cli, timeoutMs: number, ...others: Cli[]): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit after ${timeoutMs} ms:\n${[c, ...others].map((o) => o.output()).join('\n-----\n')}`)), timeoutMs);
  });
  try {
    return await Promise.race([c.exit, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function stopAll(workers: Cli[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exit));
}
