/**
 * `cascade validate` catches, with file:line and exit 2, the config problems that used to pass and
 * fail the run later (issue 21, item 6).
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as run } from '../cli.test-util.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cascade-validate-'));
  writeFileSync(join(dir, 'afile'), 'x');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function config(lines: string[]): string {
  const file = join(dir, 'exp.yaml');
  writeFileSync(file, ['name: v', 'backend: cpu', 'model: { name: popularity }', ...lines, ''].join('\n'));
  return file;
}

describe('cascade validate: paths and URIs', () => {
  test.each<[string, string[], RegExp]>([
    ['a dataset.path that does not exist', ['dataset:', '  path: ./nowhere', '  format: ndm'], /exp\.yaml:5:\d+: dataset\.path: \S+\/nowhere does not exist/],
    ['tracking.uri: garbage', ['dataset: { name: irvine }', 'tracking:', '  uri: garbage'], /exp\.yaml:6:\d+: tracking\.uri: an MLflow server URI/],
    ['outputsDir under a regular file', ['dataset: { name: irvine }', 'tracking:', '  outputsDir: ./afile/out'], /exp\.yaml:6:\d+: tracking\.outputsDir: \S+\/afile\/out cannot be used: \S+\/afile is a file, not a directory/],
    ['runsDir under a regular file', ['dataset: { name: irvine }', 'tracking:', '  runsDir: afile/runs'], /exp\.yaml:6:\d+: tracking\.runsDir: .* is a file, not a directory/],
    ['outputsDir: /proc/nope (no endless mkdir)', ['dataset: { name: irvine }', 'tracking:', '  outputsDir: /proc/nope'], /exp\.yaml:6:\d+: tracking\.outputsDir: \/proc\/nope cannot be used: cannot create folders in \/proc/],
  ])('%s', async (_, lines, message) => {
    const cwd = process.cwd();
    process.chdir(dir); // output folders are relative to the working directory
    try {
      const r = await run('validate', config(lines));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    } finally {
      process.chdir(cwd);
    }
    expect(readdirSync(dir).sort()).toEqual(['afile', 'exp.yaml']); // nothing created
  });
});
