/**
 * The NDM authors' released checkpoints (GitHub albertyang33/NeuralDiffusionModel, `Meme.chkpt`,
 * `Irvine.chkpt`) as models of this plugin, from their export in `shared/reference/ndm-released/`:
 * `<name>.bin` (little-endian float32 tensors back to back) and `<name>.json` (tensor names, shapes
 * and offsets, the training `settings`, the epoch index and `u2idx`, the authors' user id -> index
 * map with 0 = padding and 1 = `</s>`, as ours).
 *
 * The authors' model (their `transformer/Models.py`; MODELS.md "NDM") and where each tensor goes:
 * - `user_emb.weight` [U, d]: emb(u) (Eq. 1), rows moved from the authors' user index to the
 *   dataset's by raw user id;
 * - `layer_stack.0.slf_attn.w_qs` / `w_ks` / `w_vs` [h, d, d]: head i's query is x w_qs[i], so
 *   W^Q_i = w_qs[i] (our column block i of `query`), likewise W^K_i, W^V_i (Eq. 3-4);
 * - `...slf_attn.proj.linear.weight` [d, h d] and `.bias` [d]: y = concat(heads) W^T + b, so
 *   W^O = weight^T (Eq. 5) and `outputBias` = bias; heads are concatenated in head order;
 * - `...slf_attn.layer_norm.a_2` / `b_2` [d]: the layer-norm gain and bias of their variant
 *   ((z - mean) / (unbiased std + 1e-3), skipped for a length-1 sequence: `layerNorm: ndm-code`);
 * - `conv.weight` [U, d, win] and `conv.bias` [U]: Conv1d(d -> U, kernel win, padding win - 1) with
 *   the last win - 1 outputs cut, so the logits at t are bias + sum_k weight[:, :, k] act(t - (win-1) + k):
 *   W^C_n (applied to act(u_{t-n}), Eq. 6) = weight[:, :, win - 1 - n]^T, moved to our user order;
 * - `tgt_user_proj.linear.weight` [U, d]: the Finit term of their code (applied to the raw embedding of
 *   u_0, `initialUserInput: embedding`); their training script never turns Finit on, so the released
 *   models do not use it and it is imported only with `initialUser: true`.
 * Scores are divided by sqrt(d_model) (`scaleScores`), the conv has a bias (`windowBias`), and the
 * loss never trained `</s>` (`learnEnd: false`).
 */
import { readFileSync } from 'node:fs';
import { CascadeError, DataFormatError, END_USER, PAD_USER, RESERVED_USERS, type ExecutionSettings, type UserVocabulary } from '@cascade-lab/core';
import { ndmHyperparameters, type NdmHyperparameters } from './hyperparameters.js';
import { NdmModel } from './plugin.js';
import { architectureOf, type NdmWeights } from './weights.js';

export interface ReleasedTensor {
  shape: number[];
  offsetFloats: number;
  lengthFloats: number;
}

/** The JSON half of an export. */
export interface ReleasedCheckpointInfo {
  dataset?: string;
  /** 0-based epoch of the training run whose weights were saved. */
  epochIndex?: number;
  settings: Record<string, unknown>;
  u2idx: Record<string, number>;
  tensors: Record<string, ReleasedTensor>;
}

export interface ReleasedCheckpoint {
  info: ReleasedCheckpointInfo;
  /** Name -> values (row-major, the PyTorch layout). */
  tensors: Record<string, Float32Array>;
}

/** Reads `<base>.json` and `<base>.bin` (base without extension, e.g. `.../ndm-released/memetracker`). */
export function readReleasedCheckpoint(base: string): ReleasedCheckpoint {
  const jsonFile = `${base}.json`;
  const binFile = `${base}.bin`;
  let info: ReleasedCheckpointInfo;
  try {
    info = JSON.parse(readFileSync(jsonFile, 'utf8')) as ReleasedCheckpointInfo;
  } catch (e) {
    throw new DataFormatError({ file: jsonFile }, `cannot read the released NDM checkpoint description: ${(e as Error).message}`);
  }
  if (!info.tensors || !info.u2idx || !info.settings) throw new DataFormatError({ file: jsonFile }, 'expected the fields tensors, u2idx and settings');
  const bytes = readFileSync(binFile);
  const floats = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < floats.length; i++) floats[i] = view.getFloat32(i * 4, true);
  const tensors: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(info.tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.lengthFloats || t.offsetFloats + n > floats.length) throw new DataFormatError({ file: binFile }, `tensor ${name} [${t.shape}] does not fit the file (${floats.length} floats)`);
    tensors[name] = floats.slice(t.offsetFloats, t.offsetFloats + n);
  }
  return { info, tensors };
}

const PREFIX = 'layer_stack.0.slf_attn.';

function tensor(ck: ReleasedCheckpoint, name: string, shape: number[]): Float32Array {
  const t = ck.tensors[name];
  const s = ck.info.tensors[name]?.shape;
  if (!t || !s) throw new DataFormatError({ file: 'released checkpoint' }, `tensor ${name} is missing`);
  if (s.length !== shape.length || s.some((x, i) => x !== shape[i])) throw new DataFormatError({ file: 'released checkpoint' }, `tensor ${name} has shape [${s}], expected [${shape}]`);
  return t;
}

/**
 * The hyperparameters that rebuild the authors' architecture from a checkpoint's settings:
 * d_model, n_head, the window (kernel size, from conv.weight), dropout; their code's layer norm,
 * score scaling, window bias and loss without `</s>`. `overrides` may set other (training) fields.
 */
export function releasedHyperparameters(ck: ReleasedCheckpoint, overrides: Partial<NdmHyperparameters> = {}): NdmHyperparameters {
  const s = ck.info.settings;
  const d = Number(s.d_model);
  const h = Number(s.n_head);
  const conv = ck.info.tensors['conv.weight']?.shape;
  if (!conv || conv.length !== 3) throw new DataFormatError({ file: 'released checkpoint' }, 'conv.weight is missing or not 3-D');
  if (Number(s.n_layers ?? 1) !== 1) throw new CascadeError('USAGE', `released NDM: ${String(s.n_layers)} attention layers; NDM has one`);
  if (Number(s.d_k ?? d) !== d || Number(s.d_v ?? d) !== d || Number(s.d_word_vec ?? d) !== d) {
    throw new CascadeError('USAGE', `released NDM: d_k, d_v and d_word_vec must equal d_model (${d}) for this architecture`);
  }
  return ndmHyperparameters.parse({
    dimension: d,
    heads: h,
    window: conv[2],
    dropout: Number(s.dropout ?? 0.1),
    layerNorm: 'ndm-code',
    scaleScores: true,
    windowBias: true,
    learnEnd: false,
    initialUser: Number(s.finit ?? 0) > 0,
    initialUserInput: 'embedding',
    ...overrides,
  });
}

/**
 * For each of the dataset's user indices, the authors' index of the same raw user id (reserved
 * indices map to themselves). Every real user of the dataset must be in `u2idx` and vice versa.
 */
export function releasedUserIndex(u2idx: Record<string, number>, users: UserVocabulary): Int32Array {
  const theirSize = Object.keys(u2idx).length;
  if (theirSize !== users.size) throw new CascadeError('USAGE', `released NDM: the checkpoint knows ${theirSize} users (reserved included), the dataset ${users.size}; it was trained on another vocabulary`);
  const map = new Int32Array(users.size).fill(-1);
  map[PAD_USER] = PAD_USER;
  map[END_USER] = END_USER;
  for (const [raw, theirs] of Object.entries(u2idx)) {
    if (theirs < RESERVED_USERS) continue;
    const ours = users.indexOf(raw);
    if (ours === undefined) throw new CascadeError('USAGE', `released NDM: user "${raw}" of the checkpoint is not in the dataset's vocabulary`);
    if (map[ours] !== -1) throw new CascadeError('USAGE', `released NDM: user "${raw}" is mapped twice`);
    map[ours] = theirs;
  }
  const missing = Array.from(map.keys()).find((i) => map[i] === -1);
  if (missing !== undefined) throw new CascadeError('USAGE', `released NDM: the dataset's user ${users.rawIdOf(missing)} (index ${missing}) is not in the checkpoint`);
  return map;
}

/** The checkpoint's tensors as this plugin's weights, users in the dataset's order (see the module comment). */
export function releasedWeights(ck: ReleasedCheckpoint, hp: NdmHyperparameters, users: UserVocabulary): NdmWeights {
  const U = users.size;
  const { dimension: d, heads: h, window: win } = hp;
  const theirsOf = releasedUserIndex(ck.info.u2idx, users);
  const emb = tensor(ck, 'user_emb.weight', [U, d]);
  const embedding = new Float32Array(U * d);
  for (let u = 0; u < U; u++) embedding.set(emb.subarray(theirsOf[u] * d, (theirsOf[u] + 1) * d), u * d);
  // [h, d, d] per-head matrices -> [d, h*d] with column block i = head i.
  const heads = (name: string) => {
    const w = tensor(ck, PREFIX + name, [h, d, d]);
    const out = new Float32Array(d * h * d);
    for (let i = 0; i < h; i++) for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) out[r * h * d + i * d + c] = w[(i * d + r) * d + c];
    return out;
  };
  const proj = tensor(ck, PREFIX + 'proj.linear.weight', [d, h * d]);
  const output = new Float32Array(h * d * d);
  for (let r = 0; r < h * d; r++) for (let c = 0; c < d; c++) output[r * d + c] = proj[c * h * d + r];
  const conv = tensor(ck, 'conv.weight', [U, d, win]);
  const convBias = tensor(ck, 'conv.bias', [U]);
  const windowProjection = new Float32Array(win * d * U);
  const windowBias = new Float32Array(U);
  for (let u = 0; u < U; u++) {
    const o = theirsOf[u];
    windowBias[u] = convBias[o];
    for (let n = 0; n < win; n++) for (let c = 0; c < d; c++) windowProjection[(n * d + c) * U + u] = conv[(o * d + c) * win + (win - 1 - n)];
  }
  let initialProjection = new Float32Array(0);
  if (hp.initialUser) {
    const tgt = tensor(ck, 'tgt_user_proj.linear.weight', [U, d]);
    initialProjection = new Float32Array(d * U);
    for (let u = 0; u < U; u++) for (let c = 0; c < d; c++) initialProjection[c * U + u] = tgt[theirsOf[u] * d + c];
  }
  return {
    embedding,
    query: heads('w_qs'),
    key: heads('w_ks'),
    value: heads('w_vs'),
    output,
    outputBias: tensor(ck, PREFIX + 'proj.linear.bias', [d]).slice(),
    normGain: tensor(ck, PREFIX + 'layer_norm.a_2', [d]).slice(),
    normBias: tensor(ck, PREFIX + 'layer_norm.b_2', [d]).slice(),
    windowProjection,
    windowBias,
    initialProjection,
  };
}

/**
 * An `NdmModel` from the authors' released checkpoint `<base>.{json,bin}` for a dataset with the
 * vocabulary `users` (simulate, next-user scores, save like a model trained here).
 */
export function importReleasedNdm(base: string, users: UserVocabulary, options: { overrides?: Partial<NdmHyperparameters>; execution?: Partial<ExecutionSettings> } = {}): NdmModel {
  const ck = readReleasedCheckpoint(base);
  const hp = releasedHyperparameters(ck, options.overrides);
  const architecture = architectureOf(hp, users.size);
  const weights = releasedWeights(ck, hp, users);
  return new NdmModel(architecture, hp, weights, {}, options.execution);
}
