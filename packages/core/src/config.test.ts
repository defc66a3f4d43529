import { z } from 'zod';
import { ConfigError } from './errors.js';
import { canonicalJson, configHash, parseConfig } from './config.js';

const schema = z.strictObject({
  name: z.string(),
  seed: z.number().int().default(1),
  model: z.strictObject({
    name: z.string(),
    hyperparameters: z.strictObject({ heads: z.number().int().positive().default(8), dropout: z.number().default(0.1) }).default({ heads: 8, dropout: 0.1 }),
  }),
  backend: z.enum(['auto', 'wasm', 'cpu']).default('auto'),
});

function issuesOf(text: string, options = {}): ConfigError {
  try {
    parseConfig(text, 'exp.yaml', schema, options);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('parses and applies defaults', () => {
    const c = parseConfig('name: a\nmodel:\n  name: ndm\n', 'exp.yaml', schema);
    expect(c.value).toEqual({ name: 'a', seed: 1, backend: 'auto', model: { name: 'ndm', hyperparameters: { heads: 8, dropout: 0.1 } } });
  });

  it('names file, key path, line and column of a wrong type, with expected and found', () => {
    const e = issuesOf('name: a\nmodel:\n  name: ndm\n  hyperparameters:\n    heads: eight\n');
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatchObject({ keyPath: 'model.hyperparameters.heads', line: 5, column: 5 });
    expect(e.message).toBe('exp.yaml:5:5: model.hyperparameters.heads: expected number, found string "eight"');
  });

  it('rejects unknown keys with a did-you-mean', () => {
    const e = issuesOf('name: a\nmodel:\n  name: ndm\n  hyperparameters:\n    haeds: 4\n');
    expect(e.issues[0].keyPath).toBe('model.hyperparameters.haeds');
    expect(e.issues[0].line).toBe(5);
    expect(e.issues[0].message).toContain('did you mean "heads"?');
  });

  it('reports bad enum values and missing keys at the parent position', () => {
    const e = issuesOf('name: a\nbackend: gpu\nmodel: {}\n');
    const byPath = Object.fromEntries(e.issues.map((i) => [i.keyPath, i]));
    expect(byPath.backend.message).toBe('expected one of "auto", "wasm", "cpu", found string "gpu"');
    expect(byPath.backend.line).toBe(2);
    expect(byPath['model.name'].message).toContain('required key is missing');
    expect(byPath['model.name'].line).toBe(3);
  });

  it('reports YAML syntax errors with their position', () => {
    const e = issuesOf('name: a\nmodel: [1, 2\n');
    expect(e.issues[0].message).toMatch(/^YAML syntax/);
    expect(e.issues[0].line).toBeGreaterThanOrEqual(2);
  });

  it('interpolates ${ENV} keeping YAML types, with defaults, and fails on unset variables', () => {
    const c = parseConfig('name: run-${WHO}\nseed: ${SEED}\nmodel:\n  name: ${MODEL:-ndm}\n', 'exp.yaml', schema, { env: { WHO: 'me', SEED: '7' } });
    expect(c.value.name).toBe('run-me');
    expect(c.value.seed).toBe(7);
    expect(c.value.model.name).toBe('ndm');
    const e = issuesOf('name: ${NOPE}\nmodel:\n  name: x\n', { env: {} });
    expect(e.issues[0]).toMatchObject({ line: 1, column: 7 });
    expect(e.issues[0].message).toContain('NOPE is not set');
  });

  it('applies --set overrides, parsed as YAML, and validates them', () => {
    const c = parseConfig('name: a\nmodel:\n  name: ndm\n', 'exp.yaml', schema, { overrides: ['model.hyperparameters.heads=4', 'seed=3'] });
    expect(c.value.model.hyperparameters).toEqual({ heads: 4, dropout: 0.1 });
    expect(c.value.seed).toBe(3);
    const e = issuesOf('name: a\nmodel:\n  name: ndm\n', { overrides: ['model.hyperparameters.heads=-1'] });
    expect(e.issues[0].keyPath).toBe('model.hyperparameters.heads');
    expect(e.issues[0].message).toContain('(set by --set)');
    expect(issuesOf('name: a\nmodel:\n  name: ndm\n', { overrides: ['oops'] }).message).toContain('key.path=value');
  });

  it('hashes configs independently of key order', () => {
    expect(configHash({ a: 1, b: { c: 2, d: 3 } })).toBe(configHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps non-finite numbers distinct', () => {
    expect(canonicalJson({ b: [{ d: 1, c: NaN }], a: Infinity, u: undefined })).toBe('{"a":"Infinity","b":[{"c":"NaN","d":1}]}');
    // sha256("{}") computed with `printf '{}' | sha256sum`
    expect(configHash({})).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});
