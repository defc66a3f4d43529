import type { Rng } from '@cascade-lab/core';
import { tf } from './tf.js';
import { WeightHolder } from './weights.js';
import { orthogonal, xavierUniform, type Initializer } from './init.js';

/** `sigmoid`, or Keras 2's `hard_sigmoid` = clip(0.2 x + 0.5, 0, 1) (used by the GammaCas code). */
export type GateActivation = 'sigmoid' | 'hardSigmoid';

/** Keras 2 (tf.keras 2.x) hard_sigmoid: clip(0.2 x + 0.5, 0, 1). */
export function hardSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1));
}

function gate(x: tf.Tensor, activation: GateActivation): tf.Tensor {
  return activation === 'sigmoid' ? tf.sigmoid(x) : hardSigmoid(x);
}

export type LSTMState = {
  /** Hidden state [batch, units]. */
  h: tf.Tensor2D;
  /** Cell state [batch, units]. */
  c: tf.Tensor2D;
};

/** Keras layout: the four gates side by side in the order i, f, c~, o. */
export interface LSTMWeights {
  /** [inputSize, 4 * units] */
  kernel: tf.Tensor;
  /** [units, 4 * units] */
  recurrentKernel: tf.Tensor;
  /** [4 * units] */
  bias: tf.Tensor;
}

export interface LSTMStepOptions {
  /** Activation of the i, f, o gates (default sigmoid). */
  recurrentActivation?: GateActivation;
}

/** The four pre-activations z = x K + h U + b, split into [i, f, c~, o]. */
function gatePreactivations(x: tf.Tensor2D, h: tf.Tensor2D, w: LSTMWeights): tf.Tensor[] {
  const z = tf.add(tf.add(tf.matMul(x, w.kernel as tf.Tensor2D), tf.matMul(h, w.recurrentKernel as tf.Tensor2D)), w.bias);
  return tf.split(z, 4, 1);
}

function lstmUpdate(i: tf.Tensor, f: tf.Tensor, candidate: tf.Tensor, o: tf.Tensor, c: tf.Tensor): LSTMState {
  const cNext = tf.add(tf.mul(f, c), tf.mul(i, candidate)) as tf.Tensor2D;
  const hNext = tf.mul(o, tf.tanh(cNext)) as tf.Tensor2D;
  return { h: hNext, c: cNext };
}

/**
 * One LSTM step (Hochreiter & Schmidhuber 1997, with forget gate): i, f, o = act(x W + h U + b),
 * c~ = tanh(x W_c + h U_c + b_c), c' = f * c + i * c~, h' = o * tanh(c').
 */
export function lstmStep(x: tf.Tensor2D, state: LSTMState, weights: LSTMWeights, options: LSTMStepOptions = {}): LSTMState {
  const act = options.recurrentActivation ?? 'sigmoid';
  return tf.tidy(() => {
    const [zi, zf, zc, zo] = gatePreactivations(x, state.h, weights);
    return lstmUpdate(gate(zi, act), gate(zf, act), tf.tanh(zc), gate(zo, act), state.c);
  });
}

/**
 * The hidden states of `lstmStep` (sigmoid gates) run over whole sequences from the zero state:
 * x [B, L, inputSize] -> h [B, L, units], h[:, t] the state after position t. The same recurrence,
 * written for speed, because an unrolled recurrence costs per op (20-40 us eager on tfjs-node, a
 * few us in a compiled graph) and autodiff through `lstmStep` records about 35 gradient ops per
 * position:
 * - on the tensorflow backend, TensorFlow's fused kernel BlockLSTMV2 (the same i, f, c~, o layout,
 *   no peepholes, no cell clipping; z = [x, h] [W; U] + b): the whole sequence is one op, also
 *   inside a compiled graph; its gradient runs TensorFlow's one-position fused backward
 *   LSTMBlockCellGrad and one matmul a position, then the gradients of x, W, U and b as one
 *   matmul each over all positions (see `blockLstmSequence`; BlockLSTMGradV2, one op for the
 *   whole sequence, multiplies by the whole [W; U] and accumulates the weight gradient at every
 *   position, and was 10-15% slower on the lstm plugin's batches);
 * - elsewhere (wasm, cpu), ops: the input projection x W + b of every position is one matmul
 *   before the recurrence (so z = (x W + b) + h U, where `lstmStep` sums (x W + h U) + b: float
 *   rounding), and the gradient is hand-written backpropagation through time (tf.customGrad)
 *   whose loop carries only the recurrence, 6 ops a position (dh_t = dy_t + dz_{t+1} U^T,
 *   dc_t = dc_{t+1} f_{t+1} + dh_t o_t (1 - tanh^2 c_t), dz_t = [dc_t, dc_t, dc_t, dh_t] * D_t);
 *   the gate derivatives D_t (i(1-i) c~, f(1-f) c_{t-1}, i (1 - c~^2), o(1-o) tanh c_t) are
 *   computed for all positions at once, and so are the gradients of x, W, U and b (matmuls over
 *   all positions).
 */
export function lstmSequence(x: tf.Tensor3D, weights: LSTMWeights, options: LSTMSequenceOptions = {}): tf.Tensor3D {
  const implementation = options.implementation ?? 'fused';
  const fused = implementation === 'ops' ? null : blockLstmBackend();
  if (fused) return blockLstmSequence(fused, x, weights, implementation === 'fusedBlockGrad' ? 'block' : 'cells');
  return lstmSequenceOps(x, weights);
}

export interface LSTMSequenceOptions {
  /**
   * 'fused' (default): on tensorflow BlockLSTMV2 and a backward of LSTMBlockCellGrad per position
   * with the weight and input gradients as single matmuls; 'fusedBlockGrad': BlockLSTMV2 and
   * BlockLSTMGradV2 (what 'fused' was before; kept for the benchmark); 'ops': the ops path on
   * every backend. Off tensorflow the fused ones are the ops path.
   */
  implementation?: 'fused' | 'fusedBlockGrad' | 'ops';
}

/** The parts of tfjs-node's backend the fused kernels need (as graph-function.ts uses them). */
interface FusedLstmBackend {
  binding: {
    TF_ATTR_FLOAT: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_TYPE: number;
    TF_FLOAT: number;
    TF_INT64: number;
    createTensor(shape: number[], dtype: number, values: ArrayBufferView): number;
    deleteTensor(id: number): void;
    executeOp(name: string, attrs: { name: string; type: number; value: unknown }[], inputIds: number[], numOutputs: number): { id: number; shape: number[]; dtype: number }[];
  };
  getInputTensorIds(tensors: tf.Tensor[]): number[];
  createOutputTensor(metadata: { id: number; shape: number[]; dtype: number }): tf.Tensor;
}

/** tfjs-node's backend, when the backend is tensorflow. */
function blockLstmBackend(): FusedLstmBackend | null {
  if (tf.getBackend() !== 'tensorflow') return null;
  const backend = tf.backend() as unknown as FusedLstmBackend;
  const ok = backend.binding && typeof backend.binding.executeOp === 'function' && typeof backend.getInputTensorIds === 'function' && typeof backend.createOutputTensor === 'function';
  return ok ? backend : null;
}

/**
 * Runs a BlockLSTM op whose first operand is seq_len_max, an int64 scalar (tfjs has no int64
 * tensors: it is made here as two int32 words, little-endian as tfjs-node's Int64Scalar, and
 * deleted after the call; inside a graph-function trace it becomes a constant).
 */
function runBlockLstmOp(backend: FusedLstmBackend, name: string, attrs: { name: string; type: number; value: unknown }[], length: number, inputs: tf.Tensor[], numOutputs: number): tf.Tensor[] {
  const b = backend.binding;
  const ids = backend.getInputTensorIds(inputs);
  const seqLenMax = b.createTensor([], b.TF_INT64, new Int32Array([length, 0]));
  try {
    return b.executeOp(name, attrs, [seqLenMax, ...ids], numOutputs).map((m) => backend.createOutputTensor(m));
  } finally {
    b.deleteTensor(seqLenMax);
  }
}

/** Runs one TensorFlow op by name on tfjs tensors (traced like any op inside a graph function). */
function runOp(backend: FusedLstmBackend, name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[] {
  return backend.binding.executeOp(name, attrs, backend.getInputTensorIds(inputs), numOutputs).map((m) => backend.createOutputTensor(m));
}

/**
 * Keras' gate order (i, f, c~, o) <-> the LSTMBlockCell order (i, c~, f, o) of the columns of a
 * [rows, 4 * H] matrix: the permutation swaps the middle two blocks, so it is its own inverse.
 */
function swapMiddleGates(m: tf.Tensor, H: number): tf.Tensor {
  const [i, f, c, o] = tf.split(m, [H, H, H, H], m.rank - 1);
  return tf.concat([i, c, f, o], m.rank - 1);
}

/**
 * BlockLSTMV2 over x (time-major inside) from zero states. Its gradient (`backward`):
 * - 'cells' (default): the recurrence alone runs position by position, 3 ops a position:
 *   LSTMBlockCellGrad (TensorFlow's fused elementwise LSTM backward of one position: the gate
 *   gradients dz_t and dc_{t-1} from dh_t and dc_t), dz_t U^T and dh_{t-1} = dy_{t-1} + dz_t U^T.
 *   The gate gradients of all positions are then stacked and the gradients of x, W, U and b are
 *   one matmul (or sum) each over all positions, as PyTorch's CPU LSTM does: BlockLSTMGradV2 does
 *   two [B, E + H] x [E + H, 4H]-sized matmuls at every position instead (dz_t [W; U]^T, and
 *   [x_t, h_{t-1}]^T dz_t accumulated into the weight gradient), whose cost hardly shrinks
 *   with the rows.
 * - 'block': TensorFlow's BlockLSTMGradV2 (one op for the whole sequence).
 * Both compute the same gradients (float rounding: the weight gradients are summed over positions
 * in another order).
 */
function blockLstmSequence(backend: FusedLstmBackend, x: tf.Tensor3D, weights: LSTMWeights, backward: 'cells' | 'block'): tf.Tensor3D {
  const b = backend.binding;
  const type = { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
  const noPeephole = { name: 'use_peephole', type: b.TF_ATTR_BOOL, value: false };
  const run = tf.customGrad((...args: (tf.Tensor | ((save: tf.Tensor[]) => void))[]) => {
    const [input, kernel, recurrentKernel, bias] = args as tf.Tensor[];
    const save = args[4] as (save: tf.Tensor[]) => void;
    const [B, L, E] = input.shape;
    const H = recurrentKernel.shape[0];
    const xt = tf.transpose(input, [1, 0, 2]);
    const w = tf.concat([kernel, recurrentKernel], 0);
    const state = tf.zeros([B, H]);
    const peephole = tf.zeros([H]);
    // Outputs i, cs, f, o, ci, co, h, each [L, B, H].
    const outs = runBlockLstmOp(backend, 'BlockLSTMV2', [{ name: 'cell_clip', type: b.TF_ATTR_FLOAT, value: 0 }, noPeephole, type], L, [xt, state, state, w, peephole, peephole, peephole, bias], 7);
    const value = tf.transpose(outs[6], [1, 0, 2]) as tf.Tensor3D;
    save([xt, w, bias, kernel, recurrentKernel, ...outs]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws, bs, k, u, ...forward] = saved;
        const zeroState = tf.zeros([B, H]);
        const zeroPeephole = tf.zeros([H]);
        const dyt = tf.transpose(dy, [1, 0, 2]); // [L, B, H]
        if (backward === 'block') {
          // Outputs: x, cs_prev, h_prev, w, wci, wcf, wco, b gradients.
          const grads = runBlockLstmOp(backend, 'BlockLSTMGradV2', [noPeephole, type], L, [xs, zeroState, zeroState, ws, zeroPeephole, zeroPeephole, zeroPeephole, bs, ...forward, tf.zerosLike(forward[1]), dyt], 8);
          const [dx, , , dw, , , , db] = grads;
          return [tf.transpose(dx, [1, 0, 2]), tf.slice(dw, [0, 0], [E, 4 * H]), tf.slice(dw, [E, 0], [H, 4 * H]), db];
        }
        const [I, CS, F, O, CI, CO, Hs] = forward;
        const [is, css, fs, os, cis, cos] = [I, CS, F, O, CI, CO].map((g) => tf.unstack(g));
        const dys = tf.unstack(dyt);
        // LSTMBlockCellGrad reads x, h_prev and w for their shapes only (its gradient has no matmul).
        const xShape = tf.zeros([B, E]);
        const uCells = swapMiddleGates(u, H); // [H, 4H], columns in the cell op's order
        const dzs: tf.Tensor[] = new Array(L);
        let dh: tf.Tensor = dys[L - 1];
        let dc: tf.Tensor = zeroState;
        for (let t = L - 1; t >= 0; t--) {
          const csPrev = t > 0 ? css[t - 1] : zeroState;
          // Outputs: cs_prev gradient, dz (i, c~, f, o), and the three peephole gradients.
          const [dcPrev, dz] = runOp(
            backend,
            'LSTMBlockCellGrad',
            [noPeephole, type],
            [xShape, csPrev, zeroState, ws, zeroPeephole, zeroPeephole, zeroPeephole, bs, is[t], css[t], fs[t], os[t], cis[t], cos[t], dc, dh],
            5,
          );
          dzs[t] = dz;
          if (t > 0) {
            dh = tf.add(dys[t - 1], tf.matMul(dz as tf.Tensor2D, uCells as tf.Tensor2D, false, true));
            dc = dcPrev;
          }
        }
        const dzCells = tf.reshape(tf.stack(dzs), [L * B, 4 * H]) as tf.Tensor2D; // rows t * B + b
        const hPrev = tf.reshape(L === 1 ? tf.zeros([1, B, H]) : tf.concat([tf.zeros([1, B, H]), tf.slice(Hs, [0, 0, 0], [L - 1, B, H])], 0), [L * B, H]) as tf.Tensor2D;
        const dx = tf.matMul(dzCells, swapMiddleGates(k, H) as tf.Tensor2D, false, true); // [L * B, E]
        return [
          tf.transpose(tf.reshape(dx, [L, B, E]), [1, 0, 2]),
          swapMiddleGates(tf.matMul(tf.reshape(xs, [L * B, E]) as tf.Tensor2D, dzCells, true, false), H),
          swapMiddleGates(tf.matMul(hPrev, dzCells, true, false), H),
          swapMiddleGates(tf.sum(dzCells, 0), H),
        ];
      },
    };
  });
  return run(x, weights.kernel, weights.recurrentKernel, weights.bias) as tf.Tensor3D;
}

/** `lstmSequence` in ops (every backend): see there. */
function lstmSequenceOps(x: tf.Tensor3D, weights: LSTMWeights): tf.Tensor3D {
  const run = tf.customGrad((...args: (tf.Tensor | ((save: tf.Tensor[]) => void))[]) => {
    const [input, kernel, recurrentKernel, bias] = args as tf.Tensor[];
    const save = args[4] as (save: tf.Tensor[]) => void;
    const [B, L, E] = input.shape;
    const H = recurrentKernel.shape[0];
    const projected = tf.reshape(tf.add(tf.matMul(tf.reshape(input, [B * L, E]), kernel as tf.Tensor2D), bias), [B, L, 4 * H]);
    const steps = tf.unstack(projected, 1) as tf.Tensor2D[];
    const gates: tf.Tensor[][] = [[], [], [], [], [], []]; // i, f, c~, o, c, tanh c per position
    const hs: tf.Tensor[] = [];
    let h: tf.Tensor | null = null;
    let c: tf.Tensor | null = null;
    for (let t = 0; t < L; t++) {
      // From the zero state h U = 0 and f c = 0 exactly: position 0 skips them.
      const z: tf.Tensor = h === null ? steps[t] : tf.add(steps[t], tf.matMul(h as tf.Tensor2D, recurrentKernel as tf.Tensor2D));
      const [zi, zf, zc, zo] = tf.split(z, 4, 1);
      const i = tf.sigmoid(zi);
      const f = tf.sigmoid(zf);
      const candidate = tf.tanh(zc);
      const o = tf.sigmoid(zo);
      c = c === null ? tf.mul(i, candidate) : tf.add(tf.mul(f, c), tf.mul(i, candidate));
      const tanhC = tf.tanh(c);
      h = tf.mul(o, tanhC);
      [i, f, candidate, o, c, tanhC].forEach((g, k) => gates[k].push(g));
      hs.push(h);
    }
    const value = tf.stack(hs, 1) as tf.Tensor3D;
    save([input, kernel, recurrentKernel, value, ...gates.map((g) => tf.stack(g))]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, k, u, hAll, I, F, C_, O, C, T] = saved; // gates [L, B, H]
        const zeros = tf.zeros([1, B, H]);
        const previousC = L === 1 ? zeros : tf.concat([zeros, tf.slice(C, [0, 0, 0], [L - 1, B, H])], 0);
        const one = tf.scalar(1);
        // dc gets dh o (1 - tanh^2 c); dz = [dc, dc, dc, dh] * D.
        const cFromH = tf.unstack(tf.mul(O, tf.sub(one, tf.square(T))));
        const D = tf.unstack(
          tf.concat(
            [
              tf.mul(C_, tf.mul(I, tf.sub(one, I))),
              tf.mul(previousC, tf.mul(F, tf.sub(one, F))),
              tf.mul(I, tf.sub(one, tf.square(C_))),
              tf.mul(T, tf.mul(O, tf.sub(one, O))),
            ],
            2,
          ),
        );
        const forget = tf.unstack(F);
        // U^T once: wasm's matmul with a transposed operand is twice as slow as transpose + matmul.
        const uT = tf.transpose(u) as tf.Tensor2D;
        const dys = tf.unstack(dy, 1);
        const dzs: tf.Tensor[] = new Array(L);
        let dhNext: tf.Tensor | null = null;
        let dcNext: tf.Tensor | null = null;
        for (let t = L - 1; t >= 0; t--) {
          const dh: tf.Tensor = dhNext === null ? dys[t] : tf.add(dys[t], dhNext);
          const dc: tf.Tensor = dcNext === null ? tf.mul(dh, cFromH[t]) : tf.add(dcNext, tf.mul(dh, cFromH[t]));
          dzs[t] = tf.mul(tf.concat([dc, dc, dc, dh], 1), D[t]);
          if (t > 0) {
            dhNext = tf.matMul(dzs[t] as tf.Tensor2D, uT);
            dcNext = tf.mul(dc, forget[t]);
          }
        }
        const dz = tf.reshape(tf.stack(dzs, 1), [B * L, 4 * H]) as tf.Tensor2D;
        const previousH = L === 1 ? tf.zeros([B, 1, H]) : tf.concat([tf.zeros([B, 1, H]), tf.slice(hAll, [0, 0, 0], [B, L - 1, H])], 1);
        return [
          tf.reshape(tf.matMul(dz, k as tf.Tensor2D, false, true), [B, L, E]),
          tf.matMul(tf.reshape(xs, [B * L, E]) as tf.Tensor2D, dz, true, false),
          tf.matMul(tf.reshape(previousH, [B * L, H]) as tf.Tensor2D, dz, true, false),
          tf.sum(dz, 0),
        ];
      },
    };
  });
  return run(x, weights.kernel, weights.recurrentKernel, weights.bias) as tf.Tensor3D;
}

/** LSTM weights plus the follower gate of GammaCas. */
export interface FollowerGatedLSTMWeights extends LSTMWeights {
  /** [followerSize, units]: the follower gate's input weights (no recurrent term). */
  followerKernel: tf.Tensor;
  /** [units] */
  followerBias: tf.Tensor;
}

/**
 * One step of GammaCas's follower-gated LSTM (GammaCas paper §3.3, Eq. 6-11; docs/MODELS.md): the
 * retweet count r_t drives the usual gates and the followers f_t of that bin's retweeters open an
 * extra gate g = sigmoid(f_t W_g + b_g) that scales the input gate, i = act(r_t W_i + h U_i + b_i) * g;
 * f, c~, o as in `lstmStep`. The authors' code uses hard_sigmoid for i, f and o.
 */
export function followerGatedLstmStep(
  count: tf.Tensor2D,
  followers: tf.Tensor2D,
  state: LSTMState,
  weights: FollowerGatedLSTMWeights,
  options: LSTMStepOptions = {},
): LSTMState {
  const act = options.recurrentActivation ?? 'sigmoid';
  return tf.tidy(() => {
    const [zi, zf, zc, zo] = gatePreactivations(count, state.h, weights);
    const followerGate = tf.sigmoid(tf.add(tf.matMul(followers, weights.followerKernel as tf.Tensor2D), weights.followerBias));
    return lstmUpdate(tf.mul(gate(zi, act), followerGate), gate(zf, act), tf.tanh(zc), gate(zo, act), state.c);
  });
}

/** GRU weights, gates side by side in the order z (update), r (reset), h~ (candidate). */
export interface GRUWeights {
  /** [inputSize, 3 * units] */
  kernel: tf.Tensor;
  /** [units, 3 * units] */
  recurrentKernel: tf.Tensor;
  /** [3 * units] */
  bias: tf.Tensor;
}

/**
 * One GRU step (Cho et al. 2014; reset applied before the recurrent matmul, as TensorFlow's GRUCell
 * used by DeepCas): z = sigmoid(x W_z + h U_z + b_z), r = sigmoid(x W_r + h U_r + b_r),
 * h~ = tanh(x W_h + (r * h) U_h + b_h), h' = z * h + (1 - z) * h~.
 */
export function gruStep(x: tf.Tensor2D, h: tf.Tensor2D, weights: GRUWeights): tf.Tensor2D {
  return tf.tidy(() => {
    const units = h.shape[1];
    const [wz, wr, wh] = tf.split(weights.kernel, 3, 1) as tf.Tensor2D[];
    const [uz, ur, uh] = tf.split(weights.recurrentKernel, 3, 1) as tf.Tensor2D[];
    const [bz, br, bh] = tf.split(weights.bias, 3, 0);
    const z = tf.sigmoid(tf.add(tf.add(tf.matMul(x, wz), tf.matMul(h, uz)), bz));
    const r = tf.sigmoid(tf.add(tf.add(tf.matMul(x, wr), tf.matMul(h, ur)), br));
    const candidate = tf.tanh(tf.add(tf.add(tf.matMul(x, wh), tf.matMul(tf.mul(r, h) as tf.Tensor2D, uh)), bh));
    const next = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), candidate));
    return tf.reshape(next, [h.shape[0], units]) as tf.Tensor2D;
  });
}

export interface RecurrentCellConfig {
  inputSize: number;
  units: number;
  /** Input kernel initialiser (default xavier uniform, Keras' glorot_uniform). */
  kernelInit?: Initializer;
  /** Recurrent kernel initialiser (default orthogonal, as Keras). */
  recurrentInit?: Initializer;
}

export interface LSTMCellConfig extends RecurrentCellConfig {
  recurrentActivation?: GateActivation;
  /** Initial forget-gate bias (Jozefowicz et al. 2015; Keras unit_forget_bias). Default 1. */
  forgetBias?: number;
}

function lstmBias(units: number, forgetBias: number): tf.Tensor {
  const b = new Float32Array(4 * units);
  b.fill(forgetBias, units, 2 * units);
  return tf.tensor1d(b);
}

/** Weights of `lstmStep`. */
export class LSTMCell extends WeightHolder implements LSTMWeights {
  readonly kernel: tf.Variable;
  readonly recurrentKernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly units: number;
  readonly recurrentActivation: GateActivation;

  constructor(config: LSTMCellConfig, rng: Rng) {
    super();
    this.units = config.units;
    this.recurrentActivation = config.recurrentActivation ?? 'sigmoid';
    this.kernel = this.addWeight('kernel', [config.inputSize, 4 * config.units], config.kernelInit ?? xavierUniform(), rng);
    this.recurrentKernel = this.addWeight('recurrentKernel', [config.units, 4 * config.units], config.recurrentInit ?? orthogonal(), rng);
    this.bias = this.adoptWeight('bias', lstmBias(config.units, config.forgetBias ?? 1));
  }

  zeroState(batch: number): LSTMState {
    return { h: tf.zeros([batch, this.units]), c: tf.zeros([batch, this.units]) };
  }

  step(x: tf.Tensor2D, state: LSTMState): LSTMState {
    return lstmStep(x, state, this, { recurrentActivation: this.recurrentActivation });
  }

  /**
   * Hidden states over sequences x [B, L, inputSize] from the zero state, [B, L, units]:
   * `lstmSequence` (few ops, hand-written gradient) for sigmoid gates, `step` position by position
   * for hard-sigmoid ones.
   */
  sequence(x: tf.Tensor3D, options: LSTMSequenceOptions = {}): tf.Tensor3D {
    if (this.recurrentActivation === 'sigmoid') return lstmSequence(x, this, options);
    return tf.tidy(() => {
      let state = this.zeroState(x.shape[0]);
      const hs = (tf.unstack(x, 1) as tf.Tensor2D[]).map((xt) => (state = this.step(xt, state)).h);
      return tf.stack(hs, 1) as tf.Tensor3D;
    });
  }
}

export interface FollowerGatedLSTMCellConfig extends LSTMCellConfig {
  /** Width of the follower input f_t (1 for the per-bin follower sum). */
  followerSize: number;
}

/** Weights of `followerGatedLstmStep` (GammaCas). */
export class FollowerGatedLSTMCell extends WeightHolder implements FollowerGatedLSTMWeights {
  readonly kernel: tf.Variable;
  readonly recurrentKernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly followerKernel: tf.Variable;
  readonly followerBias: tf.Variable;
  readonly units: number;
  readonly recurrentActivation: GateActivation;

  constructor(config: FollowerGatedLSTMCellConfig, rng: Rng) {
    super();
    this.units = config.units;
    this.recurrentActivation = config.recurrentActivation ?? 'sigmoid';
    const kernelInit = config.kernelInit ?? xavierUniform();
    this.kernel = this.addWeight('kernel', [config.inputSize, 4 * config.units], kernelInit, rng);
    this.recurrentKernel = this.addWeight('recurrentKernel', [config.units, 4 * config.units], config.recurrentInit ?? orthogonal(), rng);
    this.bias = this.adoptWeight('bias', lstmBias(config.units, config.forgetBias ?? 1));
    this.followerKernel = this.addWeight('followerKernel', [config.followerSize, config.units], kernelInit, rng);
    this.followerBias = this.adoptWeight('followerBias', tf.zeros([config.units]));
  }

  zeroState(batch: number): LSTMState {
    return { h: tf.zeros([batch, this.units]), c: tf.zeros([batch, this.units]) };
  }

  step(count: tf.Tensor2D, followers: tf.Tensor2D, state: LSTMState): LSTMState {
    return followerGatedLstmStep(count, followers, state, this, { recurrentActivation: this.recurrentActivation });
  }
}

/** Weights of `gruStep`. */
export class GRUCell extends WeightHolder implements GRUWeights {
  readonly kernel: tf.Variable;
  readonly recurrentKernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly units: number;

  constructor(config: RecurrentCellConfig, rng: Rng) {
    super();
    this.units = config.units;
    this.kernel = this.addWeight('kernel', [config.inputSize, 3 * config.units], config.kernelInit ?? xavierUniform(), rng);
    this.recurrentKernel = this.addWeight('recurrentKernel', [config.units, 3 * config.units], config.recurrentInit ?? orthogonal(), rng);
    this.bias = this.adoptWeight('bias', tf.zeros([3 * config.units]));
  }

  zeroState(batch: number): tf.Tensor2D {
    return tf.zeros([batch, this.units]);
  }

  step(x: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    return gruStep(x, h, this);
  }
}
