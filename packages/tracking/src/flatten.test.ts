import { describe, expect, it } from '@jest/globals';
import { codePointLength, flattenConfig, keyProblem, prepareParams, prepareTags, sanitizeKey, shortenValue } from './flatten.js';
import { TrackingError } from './errors.js';

describe('flattenConfig', () => {
  it('joins nested keys with dots and renders leaves as MLflow shows them', () => {
    const flat = flattenConfig({
      model: { name: 'ndm', heads: 8, dropout: 0.1, attention: { causal: true, window: null } },
      horizons: [1, 2, 4],
      layers: [{ units: 64 }, { units: 32, act: 'relu' }],
      empty: {},
      none: [],
      skipped: undefined,
      lr: 1e-3,
      big: Infinity,
    });
    expect(flat).toEqual({
      'model.name': 'ndm',
      'model.heads': '8',
      'model.dropout': '0.1',
      'model.attention.causal': 'true',
      'model.attention.window': 'null',
      horizons: '[1,2,4]',
      'layers.0.units': '64',
      'layers.1.units': '32',
      'layers.1.act': 'relu',
      empty: '{}',
      none: '[]',
      lr: '0.001',
      big: 'Infinity',
    });
  });

  it('rejects functions and non-object roots', () => {
    expect(() => flattenConfig({ f: () => 1 })).toThrow(/at "f" is a function/);
    expect(() => flattenConfig(3)).toThrow(TrackingError);
  });
});

describe('shortenValue', () => {
  it('keeps values within the limit unchanged', () => {
    expect(shortenValue('abc', 3)).toBe('abc');
  });

  it('cuts to exactly the limit and appends the hash of the full value', () => {
    // python3: hashlib.sha256(('a'*7000).encode()).hexdigest()[:16] == 'e528b009df23f86d'
    const out = shortenValue('a'.repeat(7000), 6000);
    expect(codePointLength(out)).toBe(6000);
    expect(out.endsWith('...[sha256:e528b009df23f86d]')).toBe(true);
    expect(out.startsWith('a'.repeat(5972))).toBe(true); // 6000 - 28 suffix characters
  });

  it('counts code points as MLflow (Python len) does, never splitting a surrogate pair', () => {
    // python3: v='é'*3000+'😀'*3001; len(v) == 6001; sha256(v.encode()).hexdigest()[:16] == '407a356bd0d1cefc'
    const v = 'é'.repeat(3000) + '😀'.repeat(3001);
    expect(codePointLength(v)).toBe(6001);
    const out = shortenValue(v, 6000);
    expect(codePointLength(out)).toBe(6000);
    expect(out).toMatch(/😀\.\.\.\[sha256:407a356bd0d1cefc\]$/u);
  });
});

describe('keys', () => {
  it('accepts what MLflow accepts and says why not otherwise', () => {
    expect(keyProblem('val/loss')).toBeUndefined();
    expect(keyProblem('model.heads')).toBeUndefined();
    expect(keyProblem('a b:c-d_é')).toBeUndefined();
    expect(keyProblem('')).toMatch(/empty/);
    expect(keyProblem('a[0]')).toMatch(/may only contain/);
    expect(keyProblem('/abs')).toMatch(/path/);
    expect(keyProblem('a//b')).toMatch(/path/);
    expect(keyProblem('a/../b')).toMatch(/path/);
    expect(keyProblem('k'.repeat(251))).toMatch(/longer than 250/);
  });

  it('sanitises invalid characters, path segments and over-long keys', () => {
    expect(sanitizeKey('model[0].w$')).toBe('model_0_.w_');
    expect(sanitizeKey('/a//b/')).toBe('_/a/_/b/_');
    // python3: hashlib.sha256(('k'*300).encode()).hexdigest()[:16] == '17b16d8ef494060f'
    const long = sanitizeKey('k'.repeat(300));
    expect(long).toBe('k'.repeat(250 - 24) + '_sha256_17b16d8ef494060f');
    expect(keyProblem(long)).toBeUndefined();
  });
});

describe('prepareParams', () => {
  it('shortens long values and keeps the full ones aside', () => {
    const { params, shortened } = prepareParams({ a: { text: 'x'.repeat(6001) }, b: 2 });
    expect(codePointLength(params['a.text'])).toBe(6000);
    expect(shortened).toEqual({ 'a.text': 'x'.repeat(6001) });
    expect(params.b).toBe('2');
  });

  it('refuses two source keys that collapse into one key', () => {
    expect(() => prepareParams({ 'a.b': 1, a: { b: 2 } })).toThrow(/both flatten to the key "a.b"/);
    expect(() => prepareParams({ 'a[0]': 1, 'a_0_': 1 })).toThrow(/"a\[0\]" and "a_0_" both flatten to the key "a_0_"/);
  });
});

describe('prepareTags', () => {
  it('validates keys and shortens values to 8000 characters', () => {
    const tags = prepareTags({ 'mlflow.note.content': 'n'.repeat(9000) });
    expect(codePointLength(tags['mlflow.note.content'])).toBe(8000);
    expect(() => prepareTags({ 'bad key!': 'x' })).toThrow(/invalid tag key/);
  });
});
