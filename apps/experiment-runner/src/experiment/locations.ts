import { existsSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '@cascade-lab/core';
import type { ResolvedExperiment } from './config.js';

/**
 * Why a directory cannot hold a run's files, or undefined when it can: walks up to the nearest
 * existing ancestor (a regular file there is the answer) and creates and removes one probe
 * directory in the deepest existing folder. Nothing else is created. One level at a time on
 * purpose: Node's recursive mkdir can spin forever on paths like `/proc/nope` (issue 21).
 */
export function directoryProblem(path: string): string | undefined {
  let existing = resolve(path);
  for (;;) {
    try {
      if (!statSync(existing).isDirectory()) return `${existing} is a file, not a directory`;
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return `cannot inspect ${existing} (${code})`;
      if (dirname(existing) === existing) return 'no existing parent directory';
      existing = dirname(existing);
    }
  }
  try {
    rmdirSync(mkdtempSync(join(existing, '.cascade-probe-')));
  } catch (err) {
    return `cannot create folders in ${existing} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  return undefined;
}

/**
 * Checks, before any work, the paths a config names: `dataset.path` exists (relative to the
 * config's folder, as the loader reads it), `tracking.outputsDir` and `tracking.runsDir` can be
 * created and written (relative to the working directory, as the run uses them). Every problem is
 * reported at its line, as a ConfigError (exit 2).
 */
export function checkConfigPaths(exp: ResolvedExperiment, baseDir: string = dirname(resolve(exp.file))): void {
  const { config, loaded } = exp;
  const issues: ConfigIssue[] = [];
  if (config.dataset.path !== undefined) {
    const full = resolve(baseDir, config.dataset.path);
    if (!existsSync(full)) issues.push({ keyPath: 'dataset.path', message: `${full} does not exist`, ...loaded.locate(['dataset', 'path']) });
  }
  for (const key of ['outputsDir', 'runsDir'] as const) {
    const dir = config.tracking[key];
    if (dir === undefined) continue;
    const problem = directoryProblem(dir);
    if (problem) issues.push({ keyPath: `tracking.${key}`, message: `${resolve(dir)} cannot be used: ${problem}`, ...loaded.locate(['tracking', key]) });
  }
  if (issues.length > 0) throw new ConfigError(exp.file, issues, { hint: 'fix the paths (relative dataset paths are read from the config file\'s folder, output folders from the working directory)' });
}
