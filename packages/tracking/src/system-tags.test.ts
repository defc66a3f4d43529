import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectSystemTags, gitInfo, packageVersions } from './system-tags.js';
import { configHash } from './hash.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('gitInfo', () => {
  it('reports commit, branch and the dirty flag of a checkout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cascade-git-'));
    try {
      git(dir, 'init', '-q', '-b', 'trunk');
      git(dir, 'config', 'user.email', 't@example.com');
      git(dir, 'config', 'user.name', 't');
      git(dir, 'config', 'remote.origin.url', 'https://user:secret@example.com/lab.git');
      writeFileSync(join(dir, 'a.txt'), '1');
      git(dir, 'add', 'a.txt');
      git(dir, 'commit', '-q', '-m', 'one');
      const clean = gitInfo(dir)!;
      expect(clean).toEqual({ commit: git(dir, 'rev-parse', 'HEAD'), branch: 'trunk', dirty: false, repoUrl: 'https://example.com/lab.git' });
      writeFileSync(join(dir, 'a.txt'), '2');
      expect(gitInfo(dir)!.dirty).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is undefined outside a checkout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cascade-nogit-'));
    try {
      expect(gitInfo(dir)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('collectSystemTags', () => {
  it('fills the MLflow system tags and ours', () => {
    const tags = collectSystemTags(
      {
        cwd: repoRoot,
        sourceName: 'cascade run configs/x.yaml',
        backend: { name: 'tensorflow', package: '@tensorflow/tfjs-node', device: 'cpu' },
        seed: 13,
        versions: { '@cascade-lab/tracking': '0.1.0' },
        config: { a: 1 },
      },
      { USER: 'ana' },
    );
    expect(tags).toMatchObject({
      'mlflow.user': 'ana',
      'mlflow.source.name': 'cascade run configs/x.yaml',
      'mlflow.source.type': 'LOCAL',
      'mlflow.source.git.commit': git(repoRoot, 'rev-parse', 'HEAD'),
      'cascade.backend': 'tensorflow',
      'cascade.backend.package': '@tensorflow/tfjs-node',
      'cascade.device': 'cpu',
      'cascade.seed': '13',
      'cascade.configHash': configHash({ a: 1 }),
    });
    expect(['true', 'false']).toContain(tags['cascade.git.dirty']);
    expect(JSON.parse(tags['cascade.versions'])).toEqual({ node: process.version, '@cascade-lab/tracking': '0.1.0' });
  });
});

describe('packageVersions', () => {
  it('reads installed versions and leaves out missing packages', () => {
    const axiosVersion = JSON.parse(readFileSync(join(repoRoot, 'node_modules/axios/package.json'), 'utf8')).version;
    expect(packageVersions(['axios', 'no-such-package-xyz'], repoRoot)).toEqual({ node: process.version, axios: axiosVersion });
  });
});

describe('configHash', () => {
  it('ignores key order and tells different values apart', () => {
    expect(configHash({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(configHash({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
    expect(configHash({ a: NaN })).not.toBe(configHash({ a: null }));
    // python3: hashlib.sha256(b'{"a":1,"b":[1,2]}').hexdigest()
    expect(configHash({ b: [1, 2], a: 1 })).toBe('8baa73198470c7bb4c3ce142a8fd651affc0310d878bb9bd159e37a573fb4874');
  });
});
