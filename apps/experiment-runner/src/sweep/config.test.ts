import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createContainer, PluginRegistry } from '@cascade-lab/core';
import { pluginModules } from '../plugin-modules.js';
import { trialTags } from './run-sweep.js';
import { expandSweep, labelPattern, loadSweep, sweepFileSchema } from './config.js';

const registry = createContainer(pluginModules).get(PluginRegistry);
const dir = mkdtempSync(join(tmpdir(), 'cascade-sweep-config-'));
const base = join(dir, 'base.yaml');
writeFileSync(base, ['name: pop', 'seed: 1', 'backend: cpu', 'dataset: { name: irvine }', 'model: { name: popularity }', 'evaluation: { simulations: 10 }', ''].join('\n'));

function sweepFile(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('expandSweep', () => {
  const section = (s: unknown) => sweepFileSchema.shape.sweep.parse(s);

  it('grid is the cartesian product, the last key varying fastest', () => {
    const specs = expandSweep(section({ grid: { 'model.hyperparameters.a': [1, 2], 'evaluation.b': ['x', 'y', 'z'] } }));
    expect(specs.map((s) => s.label)).toEqual(['a=1 b=x', 'a=1 b=y', 'a=1 b=z', 'a=2 b=x', 'a=2 b=y', 'a=2 b=z']);
    expect(specs[4].overrides.map((o) => [o.path, o.value, o.source.join('.')])).toEqual([
      ['model.hyperparameters.a', 2, 'sweep.grid.model.hyperparameters.a.1'],
      ['evaluation.b', 'y', 'sweep.grid.evaluation.b.1'],
    ]);
  });

  it('zip pairs the i-th values; list entries keep their labels; seeds repeat every trial innermost', () => {
    const specs = expandSweep(
      section({
        list: [{ label: 'full', set: {} }, { label: '-text', set: { 'model.hyperparameters.variant': 'no-news' } }],
        zip: { 'x.a': [1, 2], 'x.b': [10, 20] },
        seeds: [1, 2],
      }),
    );
    // 2 list entries x 2 zipped rows x 2 seeds = 8 trials.
    expect(specs.map((s) => `${s.label}/${s.seed}`)).toEqual([
      'full a=1 b=10/1', 'full a=1 b=10/2', 'full a=2 b=20/1', 'full a=2 b=20/2',
      '-text a=1 b=10/1', '-text a=1 b=10/2', '-text a=2 b=20/1', '-text a=2 b=20/2',
    ]);
    expect(specs[5].overrides.map((o) => o.path)).toEqual(['model.hyperparameters.variant', 'x.a', 'x.b']);
  });

  it('labels use full paths when two swept paths end alike, and "base" when nothing is overridden', () => {
    const specs = expandSweep(section({ list: [{}, { 'a.size': 1 }, { 'b.size': 2 }] }));
    expect(specs.map((s) => s.label)).toEqual(['base', 'a.size=1', 'b.size=2']);
  });
});

describe('loadSweep', () => {
  it('resolves every trial against the base config and the plugin schema, with a hash per trial', () => {
    const file = sweepFile(
      'ok.yaml',
      [
        'name: pop-smoothing',
        'base: base.yaml',
        'set: { evaluation.maxTestCascades: 5 }',
        'sweep:',
        '  grid: { model.hyperparameters.smoothing: [0, 0.5] }',
        '  seeds: [1, 2]',
        '',
      ].join('\n'),
    );
    const sweep = loadSweep(file, registry, ['evaluation.simulations=7']);
    expect(sweep.trials).toHaveLength(4);
    expect(sweep.trials.map((t) => t.runName)).toEqual(['pop-smoothing: smoothing=0 seed=1', 'pop-smoothing: smoothing=0 seed=2', 'pop-smoothing: smoothing=0.5 seed=1', 'pop-smoothing: smoothing=0.5 seed=2']);
    const t = sweep.trials[3];
    expect(t.experiment.config.seed).toBe(2);
    expect(t.experiment.hyperparameters).toEqual({ smoothing: 0.5 });
    expect(t.experiment.config.evaluation.maxTestCascades).toBe(5);
    expect(t.experiment.config.evaluation.simulations).toBe(7);
    expect(t.swept).toEqual({ 'model.hyperparameters.smoothing': 0.5 });
    expect(new Set(sweep.trials.map((x) => x.hash)).size).toBe(4);
    expect(sweep.experiment).toBe('cascade-lab');
  });

  it('runs a trial once when two resolve to the same config (smoothing 0 is the plugin default)', () => {
    const file = sweepFile('dup.yaml', 'name: d\nbase: base.yaml\nsweep:\n  list:\n    - { label: base, set: {} }\n    - { model.hyperparameters.smoothing: 0 }\n    - { model.hyperparameters.smoothing: 1 }\n');
    const sweep = loadSweep(file, registry);
    expect(sweep.trials.map((t) => t.label)).toEqual(['base', 'smoothing=1']);
    expect(sweep.duplicates).toEqual([['smoothing=0 seed=1', 'base seed=1']]);
  });

  it('--only keeps the trials whose label matches, with their hashes and whole-sweep positions unchanged', () => {
    const file = sweepFile(
      'only.yaml',
      'name: o\nbase: base.yaml\nsweep:\n  list:\n    - { label: pop a, set: { model.hyperparameters.smoothing: 0.5 } }\n    - { label: pop b, set: { model.hyperparameters.smoothing: 1 } }\n    - { label: other (x), set: { model.hyperparameters.smoothing: 2 } }\n  seeds: [1, 2]\n',
    );
    const all = loadSweep(file, registry);
    expect(all.trials.map((t) => [t.index, t.fileIndex])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, i]));
    const some = loadSweep(file, registry, [], { only: ['POP B', 'other (?)'] });
    expect(some.trials.map((t) => `${t.label} ${t.seed}`)).toEqual(['pop b 1', 'pop b 2', 'other (x) 1', 'other (x) 2']);
    expect(some.trials.map((t) => t.index)).toEqual([0, 1, 2, 3]);
    expect(some.trials.map((t) => t.fileIndex)).toEqual([2, 3, 4, 5]);
    expect(some.trials.map((t) => t.hash)).toEqual(all.trials.slice(2).map((t) => t.hash));
    // The run's trial-index tag (reports order a sweep's methods by it) is the whole-sweep position.
    expect(trialTags(some, some.trials[0])['cascade.trial.index']).toBe('2');
    // `*` spans any text, but a pattern must match the whole label: "pop" alone matches nothing.
    expect(loadSweep(file, registry, [], { only: ['pop *'] }).trials.map((t) => t.label)).toEqual(['pop a', 'pop a', 'pop b', 'pop b']);
    expect(() => loadSweep(file, registry, [], { only: ['pop'] })).toThrow(/--only "pop" matches no trial of .*only\.yaml; its trial labels: "pop a", "pop b", "other \(x\)"/);
  });

  it('labelPattern: * and ? are the only wildcards; every other character is literal', () => {
    expect(labelPattern('a.b').test('a.b')).toBe(true);
    expect(labelPattern('a.b').test('axb')).toBe(false);
    expect(labelPattern('ndm [x]+').test('NDM [x]+')).toBe(true);
    expect(labelPattern('n?m *').test('ndm memetracker')).toBe(true);
    expect(labelPattern('n?m *').test('nm memetracker')).toBe(false);
  });

  it('reports a misspelt swept key at its place in the sweep file, with did-you-mean', () => {
    const file = sweepFile('typo.yaml', 'name: t\nbase: base.yaml\nsweep:\n  grid:\n    model.hyperparameters.smothing: [0, 1]\n');
    const err = configError(() => loadSweep(file, registry));
    expect(err.file).toBe(file);
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ keyPath: 'sweep.grid.model.hyperparameters.smothing', line: 5, column: 5 });
    expect(err.issues[0].message).toMatch(/unknown key "smothing" \(did you mean "smoothing"\?\)/);
  });

  it('reports a bad swept value at the value, with what was expected', () => {
    const file = sweepFile('bad-value.yaml', 'name: t\nbase: base.yaml\nsweep:\n  list:\n    - { model.hyperparameters.smoothing: 1 }\n    - { model.hyperparameters.smoothing: -2 }\n');
    const err = configError(() => loadSweep(file, registry));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ keyPath: 'sweep.list.1.model.hyperparameters.smoothing', line: 6 });
    expect(err.issues[0].message).toMatch(/model\.hyperparameters\.smoothing: .*>=0.*found number -2/);
  });

  it('checks the sweep section itself: unknown keys, zip lengths, a path swept twice, tracking keys, label without set', () => {
    const unknown = configError(() => loadSweep(sweepFile('u.yaml', 'name: t\nbase: base.yaml\nsweep:\n  gird: { seed: [1] }\n'), registry));
    expect(unknown.issues[0]).toMatchObject({ keyPath: 'sweep.gird', line: 4 });
    expect(unknown.issues[0].message).toMatch(/did you mean "grid"/);

    const zip = configError(() => loadSweep(sweepFile('z.yaml', 'name: t\nbase: base.yaml\nsweep:\n  zip:\n    evaluation.simulations: [1, 2]\n    evaluation.earlyStageUsers: [1, 2, 3]\n'), registry));
    expect(zip.issues[0]).toMatchObject({ keyPath: 'sweep.zip.evaluation.earlyStageUsers', line: 6 });
    expect(zip.issues[0].message).toMatch(/same length: evaluation.simulations has 2 values, this one 3/);

    const twice = configError(() => loadSweep(sweepFile('tw.yaml', 'name: t\nbase: base.yaml\nsweep:\n  grid: { seed: [1, 2] }\n  seeds: [3]\n'), registry));
    expect(twice.issues.map((i) => i.message).join('\n')).toMatch(/seed is swept in grid and by sweep.seeds/);

    const tracking = configError(() => loadSweep(sweepFile('tr.yaml', 'name: t\nbase: base.yaml\nsweep:\n  grid: { tracking.experiment: [a, b] }\n'), registry));
    expect(tracking.issues[0].message).toMatch(/where runs are tracked is the same for every trial/);

    const label = configError(() => loadSweep(sweepFile('l.yaml', 'name: t\nbase: base.yaml\nsweep:\n  list:\n    - { label: x }\n'), registry));
    expect(label.issues[0]).toMatchObject({ keyPath: 'sweep.list.0', line: 5 });
    expect(label.issues[0].message).toMatch(/needs `set:/);
  });

  it('a broken base config is reported against the base file', () => {
    writeFileSync(join(dir, 'broken.yaml'), 'name: pop\ndataset: { name: irvine }\nmodel: { name: popularty }\n');
    const err = configError(() => loadSweep(sweepFile('b.yaml', 'name: t\nbase: broken.yaml\nsweep:\n  seeds: [1]\n'), registry));
    expect(err.issues[0]).toMatchObject({ keyPath: 'base', line: 2 });
    expect(err.issues[0].message).toMatch(/broken\.yaml:3:\d+: model.name: unknown model "popularty" \(did you mean "popularity"\?\)/);
  });
});
