import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configHash, PluginRegistry, type MacroscopicPlugin, type MicroscopicPlugin } from '@cascade-lab/core';
import { z } from 'zod';
import { loadExperiment } from './config.js';

const plugin: MicroscopicPlugin<{ heads: number; window: number }> = {
  name: 'ndm',
  task: 'microscopic',
  description: 'test double',
  hyperparameters: z.strictObject({ heads: z.number().int().positive().default(8), window: z.number().int().positive().default(3) }),
  train: async () => {
    throw new Error('unused');
  },
  load: async () => {
    throw new Error('unused');
  },
};
const registry = new PluginRegistry([plugin]);
const sizes: MacroscopicPlugin<Record<string, never>> = {
  name: 'sizes',
  task: 'macroscopic',
  description: 'test double',
  hyperparameters: z.strictObject({}),
  train: async () => {
    throw new Error('unused');
  },
  load: async () => {
    throw new Error('unused');
  },
};
const dir = mkdtempSync(join(tmpdir(), 'cascade-config-'));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function configError(file: string, overrides: string[] = []): ConfigError {
  try {
    loadExperiment(file, registry, overrides);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const base = 'name: t\ndataset:\n  name: memetracker\nmodel:\n  name: ndm\n';

describe('loadExperiment', () => {
  it('resolves defaults of the experiment and of the plugin, and hashes the result', () => {
    const exp = loadExperiment(write('ok.yaml', base), registry);
    expect(exp.hyperparameters).toEqual({ heads: 8, window: 3 });
    expect(exp.config.evaluation.simulations).toBe(1000);
    expect(exp.config.backend).toBe('auto');
    expect(exp.hash).toMatch(/^[0-9a-f]{64}$/);
    const other = loadExperiment(write('ok2.yaml', base), registry, ['model.hyperparameters.heads=4']);
    expect(other.hyperparameters.heads).toBe(4);
    expect(other.hash).not.toBe(exp.hash);
  });

  it('refuses, before any work, a dataset that lacks what the plugin declares it needs (file:line of the dataset)', () => {
    const needy = { ...plugin, name: 'needy', dataNeeds: ['socialGraph'] as const };
    const reg = new PluginRegistry([plugin, needy]);
    const file = write('needs.yaml', 'name: t\ndataset:\n  name: memetracker\nmodel:\n  name: needy\n');
    let error: unknown;
    try {
      loadExperiment(file, reg);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({ keyPath: 'dataset.name', line: 3 });
    expect((error as ConfigError).message).toContain(`${file}:3:`);
    expect((error as ConfigError).message).toMatch(/model needy needs socialGraph \(a social graph.*which dataset memetracker \(ndm format\) does not offer/);
    // Christianity ships its social graph (graph.txt): accepted.
    expect(loadExperiment(write('needs-ok.yaml', 'name: t\ndataset:\n  name: christianity\nmodel:\n  name: needy\n'), reg).plugin.name).toBe('needy');
    // A path dataset: the line of `path`; a validation split asked for but disabled.
    const wantsValidation = { ...plugin, name: 'early-stop', dataNeeds: ['validationSplit'] as const };
    const reg2 = new PluginRegistry([wantsValidation]);
    const e2 = (() => {
      try {
        loadExperiment(write('val.yaml', 'name: t\ndataset:\n  format: ndm\n  path: ./data\n  split:\n    validationFraction: 0\nmodel:\n  name: early-stop\n'), reg2);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(e2.issues[0]).toMatchObject({ keyPath: 'dataset.path', line: 4 });
    expect(e2.message).toMatch(/needs validationSplit/);
  });

  it('refuses a dataset of the other task at the dataset line', () => {
    const e = configError(write('task.yaml', base.replace('memetracker', 'tideh-rt')));
    expect(e.issues[0]).toMatchObject({ keyPath: 'dataset.name', line: 3 });
    expect(e.message).toMatch(/tideh-rt \(tideh format\) is macroscopic, but model ndm is microscopic/);
  });

  it('keeps execution settings out of the config hash, and refuses them where they used to be (file:line)', () => {
    const plain = loadExperiment(write('exec0.yaml', base), registry);
    const exec = loadExperiment(write('exec1.yaml', base + 'execution:\n  workers: 3\n  batchRows: 512\n  gradients: tape\n'), registry);
    expect(exec.hash).toBe(plain.hash);
    expect(exec.config.execution).toEqual({ workers: 3, batchRows: 512, gradients: 'tape' });
    const moved = configError(write('moved.yaml', base + '  hyperparameters:\n    simulationBatchRows: 64\n    gradients: tape\nevaluation:\n  workers: 2\n'));
    expect(moved.issues.map((i) => [i.keyPath, i.line])).toEqual([
      ['evaluation.workers', 10],
      ['model.hyperparameters.simulationBatchRows', 7],
      ['model.hyperparameters.gradients', 8],
    ]);
    expect(moved.message).toMatch(/moved\.yaml:7:\d+: model\.hyperparameters\.simulationBatchRows: moved to execution\.batchRows/);
    expect(configError(write('exec-bad.yaml', base + 'execution:\n  worker: 3\n')).issues[0]).toMatchObject({ keyPath: 'execution.worker', line: 7 });
  });

  it('keeps evaluation.shards out of the config hash (a sharded evaluation computes the same numbers), and refuses it for the macroscopic protocol at its line', () => {
    const plain = loadExperiment(write('shards0.yaml', base), registry);
    const sharded = loadExperiment(write('shards1.yaml', base + 'evaluation:\n  shards: 4\n'), registry);
    expect(sharded.config.evaluation.shards).toBe(4);
    expect(sharded.hash).toBe(plain.hash);
    expect(loadExperiment(write('shards2.yaml', base), registry, ['evaluation.shards=3']).hash).toBe(plain.hash);
    // Hashes of configs without shards are the ones before the key existed: the resolved config less `execution`.
    const { execution: _execution, ...identity } = plain.resolved;
    expect(plain.hash).toBe(configHash(identity));
    expect(loadExperiment(write('shards3.yaml', base), registry, ['evaluation.simulations=10']).hash).not.toBe(plain.hash);
    const macro = new PluginRegistry([plugin, sizes]);
    const e = (() => {
      try {
        loadExperiment(write('shards-macro.yaml', 'name: t\ndataset:\n  name: tideh-rt\nmodel:\n  name: sizes\nevaluation:\n  shards: 2\n'), macro);
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(e.issues[0]).toMatchObject({ keyPath: 'evaluation.shards', line: 7 });
    expect(e.message).toMatch(/splits the microscopic protocol only; model sizes is macroscopic/);
  });

  it('points at an unknown model name with the known ones', () => {
    const e = configError(write('unknown.yaml', base.replace('name: ndm', 'name: nmd')));
    expect(e.issues[0]).toMatchObject({ keyPath: 'model.name', line: 5 });
    expect(e.message).toContain('did you mean "ndm"?');
  });

  it('checks hyperparameters against the plugin schema, with positions', () => {
    const file = write('hp.yaml', base + '  hyperparameters:\n    heads: 0\n    windw: 2\n');
    const e = configError(file);
    const byPath = Object.fromEntries(e.issues.map((i) => [i.keyPath, i]));
    expect(byPath['model.hyperparameters.heads'].line).toBe(7);
    expect(byPath['model.hyperparameters.heads'].message).toContain('found number 0');
    expect(byPath['model.hyperparameters.windw'].message).toContain('did you mean "window"?');
    expect(e.message.startsWith(`${file}: 2 problems`)).toBe(true);
  });

  it('validates the dataset section (unknown dataset, unknown keys)', () => {
    const e = configError(write('data.yaml', base.replace('name: memetracker', 'name: memetraker\n  splt: {}')));
    const paths = e.issues.map((i) => i.keyPath);
    expect(paths).toContain('dataset.splt');
  });
});
