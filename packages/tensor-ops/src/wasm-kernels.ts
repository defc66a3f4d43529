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
 * Three are slow beyond reason: wasm's `Slice` reads its input with `backend.readSync`, a copy of the
 * whole tensor, for every slice, so `Unpack` and `SplitV` (a slice per output) cost the tensor's
 * size times the number of outputs: unstacking [60, 32, 256] floats took 50 ms (an unrolled
 * recurrence unstacks its inputs by position). They are replaced by kernels that copy the slice
 * straight from a view of the wasm heap (same results: a slice is a copy).
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

/**
 * Copies x[begin : begin + size] (begin and size already normalised) into a new wasm tensor, from
 * views of the heap. The output is allocated first: allocating can grow the heap, which detaches
 * views taken before.
 */
function sliceFromHeap(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  const from = backend.typedArrayFromHeap(x);
  const to = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    to.set(from);
    return out;
  }
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // Dimensions after k are whole, so each run over dimensions k.. is one contiguous block.
  let k = rank - 1;
  while (k > 0 && size[k] === x.shape[k]) k--;
  const run = size[k] * strides[k];
  const index = new Array<number>(k).fill(0);
  const count = tf.util.sizeFromShape(size.slice(0, k));
  for (let c = 0, o = 0; c < count; c++, o += run) {
    let offset = begin[k] * strides[k];
    for (let i = 0; i < k; i++) offset += (begin[i] + index[i]) * strides[i];
    to.set(from.subarray(offset, offset + run), o);
    for (let i = k - 1; i >= 0 && ++index[i] === size[i]; i--) index[i] = 0;
  }
  return out;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function slice(args: KernelArgs, original: tf.KernelFunc): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]) as TensorInfo;
  const attrs = args.attrs as unknown as tf.SliceAttrs;
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  return sliceFromHeap(args.backend as BackendWasm, x, begin, size);
}

function unpack(args: KernelArgs, original: tf.KernelFunc): TensorInfo[] {
  const { value } = args.inputs as { value: TensorInfo };
  if (value.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]) as TensorInfo[];
  const rank = value.shape.length;
  let axis = (args.attrs as unknown as tf.UnpackAttrs).axis;
  if (axis < 0) axis += rank;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(rank).fill(0);
  const size = value.shape.slice();
  size[axis] = 1;
  return Array.from({ length: value.shape[axis] }, (_, i) => {
    begin[axis] = i;
    const { dataId, dtype } = sliceFromHeap(args.backend as BackendWasm, value, begin, size);
    return { dataId, dtype, shape: outShape };
  });
}

function splitV(args: KernelArgs, original: tf.KernelFunc): TensorInfo[] {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]) as TensorInfo[];
  const attrs = args.attrs as unknown as tf.SplitVAttrs;
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((part) => {
    const size = x.shape.slice();
    size[axis] = part;
    const out = sliceFromHeap(args.backend as BackendWasm, x, begin, size);
    begin[axis] += part;
    return out;
  });
}

const SLICING_KERNELS: { kernelName: string; kernelFunc: (args: KernelArgs, original: tf.KernelFunc) => TensorInfo | TensorInfo[] }[] = [
  { kernelName: 'Slice', kernelFunc: slice },
  { kernelName: 'Unpack', kernelFunc: unpack },
  { kernelName: 'SplitV', kernelFunc: splitV },
];
let slicingReplaced = false;

/** Replaces wasm's Slice, Unpack and SplitV by the heap-view ones above (once). */
function replaceWasmSlicing(): void {
  if (slicingReplaced) return;
  for (const k of SLICING_KERNELS) {
    const original = tf.getKernel(k.kernelName, 'wasm');
    if (!original) return; // wasm not registered (yet)
  }
  slicingReplaced = true;
  for (const k of SLICING_KERNELS) {
    const original = tf.getKernel(k.kernelName, 'wasm')!;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({ ...original, kernelFunc: ((args: KernelArgs) => k.kernelFunc(args, original.kernelFunc)) as tf.KernelFunc });
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
  replaceWasmSlicing();
  return [...GAP_KERNELS.map((k) => k.kernelName), 'OneHot', ...SLICING_KERNELS.map((k) => k.kernelName)];
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
