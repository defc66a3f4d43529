import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { hostname, userInfo } from 'node:os';
import { basename, join } from 'node:path';
import type { BackendInfo } from '@cascade-lab/core';
import { configHash } from './hash.js';
import { MLFLOW_LIMITS } from './limits.js';
import { shortenValue } from './flatten.js';

/** MLflow's reserved tag names this package writes. */
export const MLFLOW_TAGS = {
  runName: 'mlflow.runName',
  user: 'mlflow.user',
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  gitCommit: 'mlflow.source.git.commit',
  gitBranch: 'mlflow.source.git.branch',
  gitRepoUrl: 'mlflow.source.git.repoURL',
  parentRunId: 'mlflow.parentRunId',
  note: 'mlflow.note.content',
} as const;

/** Our own tags. */
export const CASCADE_TAGS = {
  gitDirty: 'cascade.git.dirty',
  configHash: 'cascade.configHash',
  backend: 'cascade.backend',
  backendPackage: 'cascade.backend.package',
  device: 'cascade.device',
  seed: 'cascade.seed',
  versions: 'cascade.versions',
  host: 'cascade.host',
  /** Set by `cascade mlflow sync` on uploaded runs: the local run id (makes uploads idempotent). */
  localRunId: 'cascade.localRunId',
  error: 'cascade.error',
} as const;

export interface GitInfo {
  commit: string;
  branch?: string;
  dirty: boolean;
  repoUrl?: string;
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}

/** Commit, branch, dirty flag and remote of the git checkout around `cwd`; undefined outside git. */
export function gitInfo(cwd: string = process.cwd()): GitInfo | undefined {
  const commit = git(cwd, ['rev-parse', 'HEAD']);
  if (!commit) return undefined;
  const branch = git(cwd, ['rev-parse', '--abbrev-ref', 'HEAD']);
  const status = git(cwd, ['status', '--porcelain', '--untracked-files=no']);
  const remote = git(cwd, ['config', '--get', 'remote.origin.url']);
  return {
    commit,
    branch: branch && branch !== 'HEAD' ? branch : undefined,
    dirty: status !== undefined && status.length > 0,
    repoUrl: remote ? stripCredentials(remote) : undefined,
  };
}

function stripCredentials(url: string): string {
  return url.replace(/^(\w+:\/\/)[^/@]*@/, '$1');
}

/**
 * Versions of the named packages as resolved from `fromDir` (missing ones are left out), plus
 * `node`. Example: `packageVersions(['@tensorflow/tfjs', '@cascade-lab/core'])`.
 */
export function packageVersions(names: readonly string[], fromDir: string = process.cwd()): Record<string, string> {
  const req = createRequire(join(fromDir, 'noop.js'));
  const out: Record<string, string> = { node: process.version };
  for (const name of names) {
    try {
      const pkg = req(`${name}/package.json`) as { version?: string };
      if (pkg.version) out[name] = pkg.version;
    } catch {
      // Not installed, or its exports hide package.json: look for the file on the resolution paths.
      for (const dir of req.resolve.paths(name) ?? []) {
        try {
          const pkg = req(join(dir, name, 'package.json')) as { version?: string };
          if (pkg.version) {
            out[name] = pkg.version;
            break;
          }
        } catch {
          /* try the next path */
        }
      }
    }
  }
  return out;
}

export interface SystemTagOptions {
  /** Working directory for git (default cwd). */
  cwd?: string;
  /** `mlflow.source.name`; default the entry script and its arguments' base names, e.g. `cascade run`. */
  sourceName?: string;
  /** Default `$MLFLOW_TRACKING_USERNAME`, `$USER`, else the OS user. */
  user?: string;
  backend?: BackendInfo | string;
  device?: string;
  seed?: number | string;
  /** Package versions for `cascade.versions` (see `packageVersions`); `node` is always added. */
  versions?: Record<string, string>;
  /** Adds `cascade.configHash` (the full config and note are logged by `TrackedRun.logConfig`). */
  config?: unknown;
  /** The config's identity hash when it is not the hash of `config` itself (e.g. execution settings left out). */
  configHash?: string;
}

function defaultUser(env: NodeJS.ProcessEnv): string {
  if (env.USER) return env.USER;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function defaultSourceName(): string {
  const script = process.argv[1] ? basename(process.argv[1]) : 'node';
  const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
  return command ? `${script} ${command}` : script;
}

/**
 * The tags every run should carry: `mlflow.user`, `mlflow.source.name`, `mlflow.source.type`
 * (LOCAL), `mlflow.source.git.commit` / `.branch` / `.repoURL`, and ours: `cascade.git.dirty`,
 * `cascade.host`, `cascade.backend`, `cascade.device`, `cascade.seed`, `cascade.versions` (JSON),
 * `cascade.configHash`. Values are shortened to MLflow's 8000-character tag limit.
 */
export function collectSystemTags(options: SystemTagOptions = {}, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const tags: Record<string, string> = {
    [MLFLOW_TAGS.user]: options.user ?? defaultUser(env),
    [MLFLOW_TAGS.sourceName]: options.sourceName ?? defaultSourceName(),
    [MLFLOW_TAGS.sourceType]: 'LOCAL',
  };
  const g = gitInfo(options.cwd);
  if (g) {
    tags[MLFLOW_TAGS.gitCommit] = g.commit;
    if (g.branch) tags[MLFLOW_TAGS.gitBranch] = g.branch;
    if (g.repoUrl) tags[MLFLOW_TAGS.gitRepoUrl] = g.repoUrl;
    tags[CASCADE_TAGS.gitDirty] = String(g.dirty);
  }
  tags[CASCADE_TAGS.host] = hostname();
  if (options.backend !== undefined) {
    if (typeof options.backend === 'string') tags[CASCADE_TAGS.backend] = options.backend;
    else {
      tags[CASCADE_TAGS.backend] = options.backend.name;
      tags[CASCADE_TAGS.backendPackage] = options.backend.package;
      tags[CASCADE_TAGS.device] = options.backend.device;
    }
  }
  if (options.device !== undefined) tags[CASCADE_TAGS.device] = options.device;
  if (options.seed !== undefined) tags[CASCADE_TAGS.seed] = String(options.seed);
  tags[CASCADE_TAGS.versions] = JSON.stringify({ node: process.version, ...options.versions });
  if (options.configHash !== undefined) tags[CASCADE_TAGS.configHash] = options.configHash;
  else if (options.config !== undefined) tags[CASCADE_TAGS.configHash] = configHash(options.config);
  for (const k of Object.keys(tags)) tags[k] = shortenValue(tags[k], MLFLOW_LIMITS.tagValueLength);
  return tags;
}
