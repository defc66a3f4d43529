/**
 * Kernels that training needs and @tensorflow/tfjs-backend-wasm 4.22 does not register.
 *
 * - `UnsortedSegmentSum`: the gradient of `gather` (every embedding lookup) is an unsorted segment
 *   sum of the upstream gradient over the gathered indices; without it `tf.grad` through
 *   `tf.gather` throws on wasm.
 * - `Conv2DBackpropFilter`: the filter gradient of `conv2d`, and so of `conv1d` (the NDM authors'
 *   causal window is a Conv1d with kernel 3).
 *
 * Both follow the cpu backend's semantics (tested against it). They run on the wasm heap: inputs are
 * read with `backend.readSync`, outputs allocated with `backend.makeOutput` and filled through
 * `backend.typedArrayFromHeap`; the convolution gradient is composed from wasm's own SIMD kernels
 * (PadV2, StridedSlice, Reshape, BatchMatMul) so it costs one matmul per filter tap.
 *
 * One kernel it has is wrong: `OneHot` ignores `dtype` and writes int32 values (a float32 one-hot
 * holds 1.4e-45 for 1); it is replaced by one that asks for int32 and casts.
 *
 * Other kernels the wasm backend lacks (Einsum, FFT/IFFT and complex numbers, the depthwise
 * convolution gradients, ragged tensors, Draw, StaticRegexReplace) are not used by any model here.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;

/** Runs another kernel registered for wasm and returns its (single) output. */
function runWasmKernel(name: string, backend: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): TensorInfo {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`wasm kernel ${name} is not registered`);
  const out = config.kernelFunc({ inputs, backend, attrs });
  return Array.isArray(out) ? out[0] : out;
}

/** `UnsortedSegmentSum(x, segmentIds, numSegments)`: out[s, ...] = sum of x[i, ...] with segmentIds[i] = s. */
function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (args.attrs as unknown as tf.UnsortedSegmentSumAttrs).numSegments;
  const idsRank = segmentIds.shape.length;
  for (let d = 0; d < idsRank; d++) {
    if (segmentIds.shape[d] !== x.shape[d]) {
      throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
    }
  }
  const outShape = [numSegments, ...x.shape.slice(idsRank)];
  const inner = x.shape.slice(idsRank).reduce((a, b) => a * b, 1);
  const values = backend.readSync(x.dataId) as Float32Array | Int32Array;
  const ids = backend.readSync(segmentIds.dataId) as Int32Array | Float32Array;
  const out = backend.makeOutput(outShape, x.dtype);
  const result = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  result.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    // Like TensorFlow, ids outside [0, numSegments) contribute nothing.
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) result[dst + j] += values[src + j];
  }
  return out;
}

/**
 * `Conv2DBackpropFilter(x, dy)`: dFilter[i, j, :, :] = X_ij^T dY, where X_ij holds, for every
 * output position, the input pixel that filter tap (i, j) saw. Dilations are 1 (tfjs's conv2d
 * gradient refuses larger dilations).
 */
function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => {
    temps.push(t);
    return t;
  };
  try {
    let xNhwc = x;
    let dyNhwc = dy;
    if (dataFormat === 'NCHW') {
      xNhwc = keep(runWasmKernel('Transpose', backend, { x }, { perm: [0, 2, 3, 1] }));
      dyNhwc = keep(runWasmKernel('Transpose', backend, { x: dy }, { perm: [0, 2, 3, 1] }));
    }
    const info = tf.backend_util.computeConv2DInfo(
      xNhwc.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const { batchSize, outHeight, outWidth, inChannels, outChannels, strideHeight, strideWidth, filterHeight, filterWidth, padInfo } = info;
    const positions = batchSize * outHeight * outWidth;
    const padded = keep(
      runWasmKernel('PadV2', backend, { x: xNhwc }, {
        paddings: [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]],
        constantValue: 0,
      } as unknown as tf.NamedAttrMap),
    );
    const dy3 = keep(runWasmKernel('Reshape', backend, { x: dyNhwc }, { shape: [1, positions, outChannels] }));
    const out = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
    const tap = inChannels * outChannels;
    for (let i = 0; i < filterHeight; i++) {
      for (let j = 0; j < filterWidth; j++) {
        const seen = runWasmKernel('StridedSlice', backend, { x: padded }, {
          begin: [0, i, j, 0],
          end: [batchSize, i + (outHeight - 1) * strideHeight + 1, j + (outWidth - 1) * strideWidth + 1, inChannels],
          strides: [1, strideHeight, strideWidth, 1],
          beginMask: 0,
          endMask: 0,
          ellipsisMask: 0,
          newAxisMask: 0,
          shrinkAxisMask: 0,
        });
        const seen3 = runWasmKernel('Reshape', backend, { x: seen }, { shape: [1, positions, inChannels] });
        const grad = runWasmKernel('BatchMatMul', backend, { a: seen3, b: dy3 }, { transposeA: true, transposeB: false });
        // Fresh views every time: any allocation may grow (and so replace) the wasm heap buffer.
        const target = backend.typedArrayFromHeap(out) as Float32Array;
        target.set(backend.typedArrayFromHeap(grad) as Float32Array, (i * filterWidth + j) * tap);
        for (const t of [grad, seen3, seen]) backend.disposeData(t.dataId);
      }
    }
    return out;
  } finally {
    for (const t of temps.reverse()) backend.disposeData(t.dataId);
  }
}

const GAP_KERNELS: { kernelName: string; kernelFunc: tf.KernelFunc }[] = [
  { kernelName: 'UnsortedSegmentSum', kernelFunc: unsortedSegmentSum as tf.KernelFunc },
  { kernelName: 'Conv2DBackpropFilter', kernelFunc: conv2DBackpropFilter as tf.KernelFunc },
];

/**
 * Registers the missing kernels for the `wasm` backend (once per tfjs-core instance; later calls do
 * nothing). Returns the names of the kernels this package provides for wasm.
 */
export function registerWasmKernelGaps(): string[] {
  for (const k of GAP_KERNELS) {
    if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel({ kernelName: k.kernelName, backendName: 'wasm', kernelFunc: k.kernelFunc });
  }
  correctWasmOneHot();
  return [...GAP_KERNELS.map((k) => k.kernelName), 'OneHot'];
}

let oneHotCorrected = false;

/**
 * tfjs-backend-wasm 4.22's OneHot writes int32 values whatever `dtype` asks for, so a float32
 * one-hot holds the bit pattern of 1 (1.4e-45) where it should hold 1. The corrected kernel asks
 * for int32 and casts.
 */
function correctWasmOneHot(): void {
  const original = tf.getKernel('OneHot', 'wasm');
  if (!original || oneHotCorrected) return;
  oneHotCorrected = true;
  tf.unregisterKernel('OneHot', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const dtype = (args.attrs as unknown as tf.OneHotAttrs).dtype;
      if (dtype === 'int32') return original.kernelFunc(args);
      const backend = args.backend as BackendWasm;
      const ints = runWasmKernel('OneHot', backend, args.inputs, { ...args.attrs, dtype: 'int32' } as unknown as tf.NamedAttrMap);
      const out = runWasmKernel('Cast', backend, { x: ints }, { dtype } as unknown as tf.NamedAttrMap);
      backend.disposeData(ints.dataId);
      return out;
    },
  });
}
