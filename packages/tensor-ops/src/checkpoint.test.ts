import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, CascadeError, DataFormatError } from '@cascade-lab/core';
import { tf, saveCheckpoint, loadCheckpoint, loadCheckpointInto, MultiHeadAttention, LayerNorm } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tensor-ops-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkpoints', () => {
  it('round-trips float32, int32 and bool tensors with their metadata', async () => {
    const tensors = { 'a/w': tf.tensor2d([[1.5, -2], [3.25, 4]]), 'a/ids': tf.tensor1d([7, -1, 3], 'int32'), flags: tf.tensor1d([true, false, true], 'bool'), scalar: tf.scalar(0.1) };
    const path = join(dir, 'rt.json');
    const manifest = await saveCheckpoint(path, tensors, { epoch: 3 });
    expect(manifest.tensors.map((e) => e.name)).toEqual(['a/ids', 'a/w', 'flags', 'scalar']);
    expect(manifest.byteLength).toBe(3 * 4 + 4 * 4 + 3 + 4);
    const { tensors: loaded, metadata } = await loadCheckpoint(path);
    expect(metadata).toEqual({ epoch: 3 });
    for (const [k, t] of Object.entries(tensors)) {
      expect(loaded[k].dtype).toBe(t.dtype);
      expect(loaded[k].shape).toEqual(t.shape);
      expect(Array.from(loaded[k].dataSync())).toEqual(Array.from(t.dataSync()));
    }
    Object.values(tensors).forEach((t) => t.dispose());
    Object.values(loaded).forEach((t) => t.dispose());
  });

  it('loads into a model\'s variables after checking every name, shape and dtype', async () => {
    const a = new MultiHeadAttention({ dModel: 6, heads: 2 }, Rng.fromSeed(1));
    const norm = new LayerNorm(6);
    const path = join(dir, 'model.json');
    await saveCheckpoint(path, { ...a.weights('attention/'), ...norm.weights('norm/') });
    const b = new MultiHeadAttention({ dModel: 6, heads: 2 }, Rng.fromSeed(2));
    const norm2 = new LayerNorm(6);
    expect(b.wq.arraySync()).not.toEqual(a.wq.arraySync());
    const before = tf.memory().numTensors;
    await loadCheckpointInto(path, { ...b.weights('attention/'), ...norm2.weights('norm/') });
    expect(tf.memory().numTensors).toBe(before);
    expect(b.wq.arraySync()).toEqual(a.wq.arraySync());
    expect(b.bo.arraySync()).toEqual(a.bo.arraySync());
    for (const m of [a, b, norm, norm2]) m.dispose();
  });

  it('names the file and tensor when shapes, dtypes or names do not fit, and assigns nothing', async () => {
    const path = join(dir, 'mismatch.json');
    await saveCheckpoint(path, { w: tf.zeros([4, 3]), ids: tf.zeros([2], 'int32'), extra: tf.zeros([1]) });
    const target = { w: tf.variable(tf.ones([3, 3])), ids: tf.variable(tf.zeros([2])), missing: tf.variable(tf.zeros([1])) };
    const err = (await loadCheckpointInto(path, target).catch((e: unknown) => e)) as CascadeError;
    expect(err).toBeInstanceOf(CascadeError);
    expect(err.code).toBe('MODEL');
    expect(err.message).toContain(path);
    expect(err.message).toContain('tensor "w" has shape [4,3] in the checkpoint but the model expects [3,3]');
    expect(err.message).toContain('tensor "ids" is int32 in the checkpoint but the model expects float32');
    expect(err.message).toContain('tensor "missing" is missing from the checkpoint');
    expect(err.message).toContain('tensor "extra" is in the checkpoint but not in the model');
    expect(Array.from(target.w.dataSync()).every((v) => v === 1)).toBe(true);
    // allowExtra tolerates stored tensors nobody asked for
    const { tensors } = await loadCheckpoint(path, { expect: { w: { shape: [4, 3], dtype: 'float32' } }, allowExtra: true });
    expect(Object.keys(tensors)).toEqual(['w']);
    Object.values(tensors).forEach((t) => t.dispose());
    Object.values(target).forEach((t) => t.dispose());
  });

  it('detects a corrupted or truncated data file and a broken manifest', async () => {
    const path = join(dir, 'corrupt.json');
    await saveCheckpoint(path, { w: tf.tensor1d([1, 2, 3]) });
    const bin = join(dir, 'corrupt.bin');
    const bytes = await readFile(bin);
    bytes[0] ^= 0xff;
    await writeFile(bin, bytes);
    await expect(loadCheckpoint(path)).rejects.toThrow(DataFormatError);
    await expect(loadCheckpoint(path)).rejects.toThrow(/SHA-256/);
    await writeFile(bin, bytes.subarray(0, 8));
    await expect(loadCheckpoint(path)).rejects.toThrow(/8 bytes, the manifest .* says 12/);
    await writeFile(path, '{"format": "something-else"}');
    await expect(loadCheckpoint(path)).rejects.toThrow(/not a cascade-lab-checkpoint manifest/);
    await writeFile(path, '{ not json');
    await expect(loadCheckpoint(path)).rejects.toThrow(/not valid JSON/);
    await expect(loadCheckpoint(join(dir, 'absent.json'))).rejects.toMatchObject({ code: 'DATA_NOT_FOUND' });
  });

  it('rejects a manifest whose byte counts contradict the shapes', async () => {
    const path = join(dir, 'lying.json');
    await saveCheckpoint(path, { w: tf.tensor1d([1, 2]) });
    const m = JSON.parse(await readFile(path, 'utf8'));
    m.tensors[0].shape = [3];
    await writeFile(path, JSON.stringify(m));
    await expect(loadCheckpoint(path)).rejects.toThrow(/tensor "w": 8 bytes listed, but shape \[3\] of float32 needs 12/);
  });
});
