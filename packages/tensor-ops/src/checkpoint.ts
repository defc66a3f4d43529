/**
 * Checkpoints of named tensors: a JSON manifest (names, dtypes, shapes, byte offsets, SHA-256 of
 * the data) next to one little-endian binary file. Loading checks the file against its manifest
 * and, when given, against what the model expects, and names the file and tensor in every error.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CascadeError, DataFormatError } from '@cascade-lab/core';
import { tf } from './tf.js';
import type { NamedTensors } from './weights.js';

export const CHECKPOINT_FORMAT = 'cascade-lab-checkpoint';
export const CHECKPOINT_VERSION = 1;

type StoredDType = 'float32' | 'int32' | 'bool';

export interface CheckpointEntry {
  name: string;
  dtype: StoredDType;
  shape: number[];
  /** Byte offset in the binary file. */
  offset: number;
  byteLength: number;
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** File name of the binary, relative to the manifest. */
  weights: string;
  byteLength: number;
  sha256: string;
  tensors: CheckpointEntry[];
  /** Free-form JSON the caller stores alongside (hyperparameters, vocabulary size, ...). */
  metadata?: Record<string, unknown>;
}

/** What a loader expects of a tensor; a tf.Tensor works as its own spec. */
export interface TensorSpec {
  shape: readonly number[];
  dtype: string;
}

const BYTES: Record<StoredDType, number> = { float32: 4, int32: 4, bool: 1 };

// Typed arrays use the machine's byte order; the format is little-endian.
function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new CascadeError('INTERNAL', 'checkpoints are little-endian and this machine is big-endian');
}

function weightsPathFor(manifestPath: string): string {
  const base = basename(manifestPath).replace(/\.json$/, '');
  return join(dirname(manifestPath), `${base}.bin`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Writes `tensors` to `manifestPath` (a .json file) and its .bin sibling. Both files are written
 * to temporary names first and renamed, so a crash never leaves a half-written checkpoint.
 */
export async function saveCheckpoint(manifestPath: string, tensors: NamedTensors, metadata?: Record<string, unknown>): Promise<CheckpointManifest> {
  assertLittleEndian();
  if (!manifestPath.endsWith('.json')) throw new CascadeError('USAGE', `checkpoint manifest path must end in .json, got ${manifestPath}`);
  const entries: CheckpointEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') {
      throw new CascadeError('MODEL', `saveCheckpoint: tensor "${name}" has dtype ${t.dtype}; only float32, int32 and bool are stored`);
    }
    const data = await t.data();
    const bytes =
      t.dtype === 'bool' ? Uint8Array.from(data as Uint8Array) : new Uint8Array(new (t.dtype === 'float32' ? Float32Array : Int32Array)(data as ArrayLike<number>).buffer);
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], offset, byteLength: bytes.byteLength });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const binary = Buffer.concat(chunks);
  const weightsPath = weightsPathFor(manifestPath);
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    weights: basename(weightsPath),
    byteLength: binary.byteLength,
    sha256: createHash('sha256').update(binary).digest('hex'),
    tensors: entries,
    ...(metadata ? { metadata } : {}),
  };
  await mkdir(dirname(manifestPath), { recursive: true });
  const suffix = `.tmp-${process.pid}-${Date.now()}`;
  await writeFile(weightsPath + suffix, binary);
  await writeFile(manifestPath + suffix, JSON.stringify(manifest, null, 2) + '\n');
  await rename(weightsPath + suffix, weightsPath);
  await rename(manifestPath + suffix, manifestPath);
  return manifest;
}

async function readManifest(manifestPath: string): Promise<CheckpointManifest> {
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new CascadeError('DATA_NOT_FOUND', `checkpoint ${manifestPath} cannot be read: ${(e as Error).message}`);
  }
  let m: CheckpointManifest;
  try {
    m = JSON.parse(text) as CheckpointManifest;
  } catch (e) {
    throw new DataFormatError({ file: manifestPath }, `not valid JSON (${(e as Error).message})`);
  }
  if (m?.format !== CHECKPOINT_FORMAT) throw new DataFormatError({ file: manifestPath }, `not a ${CHECKPOINT_FORMAT} manifest (format: ${JSON.stringify(m?.format)})`);
  if (m.version !== CHECKPOINT_VERSION) throw new DataFormatError({ file: manifestPath }, `checkpoint version ${m.version}, this code reads version ${CHECKPOINT_VERSION}`);
  if (!Array.isArray(m.tensors) || typeof m.weights !== 'string') throw new DataFormatError({ file: manifestPath }, 'manifest lacks "tensors" or "weights"');
  for (const e of m.tensors) {
    if (!(e.dtype in BYTES)) throw new DataFormatError({ file: manifestPath }, `tensor "${e.name}": unknown dtype ${JSON.stringify(e.dtype)}`);
    const expected = e.shape.reduce((a, b) => a * b, 1) * BYTES[e.dtype];
    if (e.byteLength !== expected) {
      throw new DataFormatError({ file: manifestPath }, `tensor "${e.name}": ${e.byteLength} bytes listed, but shape [${e.shape}] of ${e.dtype} needs ${expected}`);
    }
  }
  return m;
}

/** Problems of a checkpoint against expected specs, one line each (empty when it fits). */
function compareWithExpected(m: CheckpointManifest, expected: Record<string, TensorSpec>, allowExtra: boolean): string[] {
  const problems: string[] = [];
  const stored = new Map(m.tensors.map((e) => [e.name, e]));
  for (const [name, spec] of Object.entries(expected)) {
    const e = stored.get(name);
    if (!e) problems.push(`tensor "${name}" is missing from the checkpoint`);
    else {
      if (e.dtype !== spec.dtype) problems.push(`tensor "${name}" is ${e.dtype} in the checkpoint but the model expects ${spec.dtype}`);
      if (!sameShape(e.shape, spec.shape)) problems.push(`tensor "${name}" has shape [${e.shape}] in the checkpoint but the model expects [${spec.shape}]`);
    }
  }
  if (!allowExtra) for (const name of stored.keys()) if (!(name in expected)) problems.push(`tensor "${name}" is in the checkpoint but not in the model`);
  return problems;
}

export interface LoadCheckpointOptions {
  /** Names, shapes and dtypes the caller needs (e.g. a model's weights); mismatches are errors. */
  expect?: Record<string, TensorSpec>;
  /** With `expect`: tolerate stored tensors the caller did not ask for (default false). */
  allowExtra?: boolean;
}

export interface LoadedCheckpoint {
  tensors: NamedTensors;
  metadata?: Record<string, unknown>;
}

/** Reads a checkpoint written by `saveCheckpoint`; the caller owns (and disposes) the tensors. */
export async function loadCheckpoint(manifestPath: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  assertLittleEndian();
  const m = await readManifest(manifestPath);
  if (options.expect) {
    const problems = compareWithExpected(m, options.expect, options.allowExtra ?? false);
    if (problems.length > 0) {
      throw new CascadeError('MODEL', `checkpoint ${manifestPath} does not fit the model: ${problems.join('; ')}`, {
        hint: 'was it saved with other hyperparameters or another vocabulary?',
      });
    }
  }
  const weightsPath = join(dirname(manifestPath), m.weights);
  let binary: Buffer;
  try {
    binary = await readFile(weightsPath);
  } catch (e) {
    throw new CascadeError('DATA_NOT_FOUND', `checkpoint data ${weightsPath} (listed in ${manifestPath}) cannot be read: ${(e as Error).message}`);
  }
  if (binary.byteLength !== m.byteLength) throw new DataFormatError({ file: weightsPath }, `${binary.byteLength} bytes, the manifest ${manifestPath} says ${m.byteLength}`);
  const digest = createHash('sha256').update(binary).digest('hex');
  if (digest !== m.sha256) throw new DataFormatError({ file: weightsPath }, `SHA-256 ${digest} does not match the manifest's ${m.sha256} (corrupted or from another save)`);
  const wanted = options.expect && options.allowExtra ? new Set(Object.keys(options.expect)) : undefined;
  const tensors: NamedTensors = {};
  for (const e of m.tensors) {
    if (wanted && !wanted.has(e.name)) continue;
    if (e.offset + e.byteLength > binary.byteLength) throw new DataFormatError({ file: weightsPath }, `tensor "${e.name}" runs past the end of the file`);
    const bytes = binary.subarray(e.offset, e.offset + e.byteLength);
    const copy = new Uint8Array(bytes); // aligned copy
    const values = e.dtype === 'float32' ? new Float32Array(copy.buffer) : e.dtype === 'int32' ? new Int32Array(copy.buffer) : copy;
    tensors[e.name] = tf.tensor(values, e.shape, e.dtype);
  }
  return { tensors, metadata: m.metadata };
}

/**
 * Loads a checkpoint into existing variables (a WeightHolder's `weights()`), checking that names,
 * shapes and dtypes match exactly before assigning anything. Returns the stored metadata.
 */
export async function loadCheckpointInto(manifestPath: string, variables: Record<string, tf.Variable>): Promise<Record<string, unknown> | undefined> {
  const { tensors, metadata } = await loadCheckpoint(manifestPath, { expect: variables });
  try {
    for (const [name, v] of Object.entries(variables)) v.assign(tensors[name]);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  return metadata;
}
