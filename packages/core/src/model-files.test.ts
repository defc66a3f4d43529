import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { CancelledError, CascadeError, DataFormatError, ModelLoadError } from './errors.js';
import { loadingModel, loadModelJson, saveModelJson } from './model-files.js';

const spec = { format: 'test/rates', version: 2, readable: [1, 2], schema: z.strictObject({ rates: z.array(z.number()) }) };

describe('model.json for parameter-only models', () => {
  it('round-trips parameters (typed arrays as lists) with format and version', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'model-json-')), 'nested');
    await saveModelJson(dir, spec, { rates: Float64Array.from([0.5, 1.25]) as unknown as number[] });
    expect(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))).toEqual({ format: 'test/rates', version: 2, parameters: { rates: [0.5, 1.25] } });
    expect(await loadModelJson(dir, spec)).toEqual({ parameters: { rates: [0.5, 1.25] }, version: 2 });
  });

  it('refuses, with code MODEL_LOAD, a missing file, another format, an unreadable version, bad parameters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'model-json-'));
    const file = join(dir, 'model.json');
    await expect(loadModelJson(dir, spec)).rejects.toMatchObject({ code: 'MODEL_LOAD', message: expect.stringMatching(/model\.json: no saved model here \(ENOENT\)/) });
    writeFileSync(file, '{"format":"other","version":1}');
    await expect(loadModelJson(dir, spec)).rejects.toThrow(/not a test\/rates model \(format "other"\)/);
    writeFileSync(file, '{"format":"test/rates","version":3,"parameters":{"rates":[]}}');
    await expect(loadModelJson(dir, spec)).rejects.toThrow(/version 3 cannot be read \(readable: 1, 2\)/);
    writeFileSync(file, '{"format":"test/rates","version":1,"parameters":{"rates":["x"]}}');
    await expect(loadModelJson(dir, spec)).rejects.toThrow(/parameters do not fit test\/rates v1: rates\.0: /);
    writeFileSync(file, '{"format":');
    await expect(loadModelJson(dir, spec)).rejects.toBeInstanceOf(ModelLoadError);
  });

  it('loadingModel turns framework errors into MODEL_LOAD and lets cancellation and bugs through', async () => {
    await expect(loadingModel('m/ndm.json', async () => { throw new DataFormatError({ file: 'm/ndm.json' }, 'weight "w" is missing'); })).rejects.toMatchObject({ code: 'MODEL_LOAD', message: 'm/ndm.json: weight "w" is missing' });
    await expect(loadingModel('m', async () => { throw new CancelledError(); })).rejects.toBeInstanceOf(CancelledError);
    await expect(loadingModel('m', async () => { throw new TypeError('bug'); })).rejects.toBeInstanceOf(TypeError);
    await expect(loadingModel('m', async () => 3)).resolves.toBe(3);
    expect(new ModelLoadError('f', 'p')).toBeInstanceOf(CascadeError);
  });
});
