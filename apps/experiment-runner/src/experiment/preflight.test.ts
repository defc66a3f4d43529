/**
 * What a run checks before any work (issue 21): where it will be recorded (the tracking server,
 * the output folder) is verified before the dataset is read, so a dead server or an unusable
 * folder is reported in seconds with its own error, not after loading or halfway through.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContainer, MemoryLogger, PluginRegistry, quietProgress } from '@cascade-lab/core';
import { pluginModules } from '../plugin-modules.js';
import { loadExperiment } from './config.js';
import { runExperiment } from './run.js';

const registry = createContainer(pluginModules).get(PluginRegistry);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cascade-preflight-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port nothing listens on. */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

function experiment(tracking: string, dataset = `{ format: ndm, path: ${join(dir, 'missing')} }`): string {
  const file = join(dir, 'exp.yaml');
  writeFileSync(file, ['name: preflight', 'backend: cpu', `dataset: ${dataset}`, 'model: { name: popularity }', `tracking: ${tracking}`, ''].join('\n'));
  return file;
}

const run = (file: string) =>
  runExperiment(loadExperiment(file, registry), { logger: new MemoryLogger(), progress: quietProgress, signal: new AbortController().signal });

describe('before any data is read', () => {
  it('an unreachable MLflow server with tracking.failFast is a TRACKING error at once (the missing dataset is never reached)', async () => {
    const file = experiment(`{ uri: "http://127.0.0.1:${await closedPort()}", failFast: true, runsDir: ${join(dir, 'runs')}, outputsDir: ${join(dir, 'out')} }`);
    const t0 = Date.now();
    await expect(run(file)).rejects.toMatchObject({ code: 'TRACKING', networkCode: 'ECONNREFUSED' });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('an outputsDir under a regular file is a TRACKING error naming it, not an INTERNAL ENOTDIR after training', async () => {
    writeFileSync(join(dir, 'afile'), 'x');
    const file = experiment(`{ runsDir: ${join(dir, 'runs')}, outputsDir: ${join(dir, 'afile', 'out')} }`);
    await expect(run(file)).rejects.toMatchObject({ code: 'TRACKING', message: expect.stringContaining(`${join(dir, 'afile')} is a file`) });
  });

  it('outputsDir: /proc/nope fails at once instead of spinning in a recursive mkdir', async () => {
    const file = experiment(`{ runsDir: ${join(dir, 'runs')}, outputsDir: /proc/nope/deeper }`);
    await expect(run(file)).rejects.toMatchObject({ code: 'TRACKING', message: expect.stringContaining('/proc/nope') });
  });
});

describe('before training', () => {
  it('a training split without a cascade of two or more users is refused for every plugin (popularity trained on nothing before)', async () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'idx2u.tsv'), '0\t<blank>\n1\t</s>\n2\ta\n3\tb\n4\tc\n');
    writeFileSync(join(data, 'cascade.txt'), 'a,1\nb,2\nc,3\n'); // one user each
    writeFileSync(join(data, 'cascadetest.txt'), 'a,1 b,2 c,3\nb,1 c,2\n');
    const runs = join(dir, 'runs');
    const file = experiment(`{ runsDir: ${runs}, outputsDir: ${join(dir, 'out')} }`, `{ path: ${data}, format: ndm, split: { validationFraction: 0 } }`);
    const err = await run(file).catch((e) => e);
    expect(err).toMatchObject({ code: 'DATA_FORMAT', message: expect.stringContaining('the training split has no cascades with two or more users') });
    // Refused before the run was opened: no FAILED run left behind.
    expect(readdirSync(runs)).toEqual([]);
  });
});
