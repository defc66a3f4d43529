import { tf } from './tf.js';

/**
 * A faster BatchMatMul for the WASM backend.
 *
 * tfjs-backend-wasm 4.22 sends a matrix product to XNNPACK only when both operands have batch size
 * one and neither is transposed; every other call (a transposed operand, a batch of matrices) runs a
 * plain loop that is 10-17x slower on this machine (measured in `bench/ndm.bench.ts`'s kernel
 * table: a [1280,64]x[64,1536] product takes 13 ms, the same product's gradient with respect to the
 * left operand, `dy x b^T`, 97 ms). Gradients of every matMul ask for transposed operands, and
 * attention is a batch of matrix products, so training NDM hit the slow loop almost everywhere.
 *
 * This wraps the registered kernel: transposed operands are materialised with the (fast) Transpose
 * kernel, and a batch of products becomes one XNNPACK call per matrix, copied into one output.
 * Results are the same products in the same float32 arithmetic (tested against the cpu backend).
 */

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> }) => TensorInfo;

const MARK = Symbol.for('cascade-lab.ndm.wasmBatchMatMul');

function sizeOf(shape: number[]): number {
  let s = 1;
  for (const x of shape) s *= x;
  return s;
}

/**
 * Installs the fast path once per process; returns false when the WASM backend is not registered or
 * the fast path is already there.
 */
export function installWasmBatchMatMul(): boolean {
  const original = tf.getKernel('BatchMatMul', 'wasm') as (tf.KernelConfig & { [MARK]?: true }) | undefined;
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (!original || !transposeKernel || original[MARK]) return false;
  const matmul = original.kernelFunc as unknown as KernelFunc;
  const transpose = transposeKernel.kernelFunc as unknown as KernelFunc;

  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    let a = inputs.a;
    let b = inputs.b;
    const transposeA = Boolean(attrs.transposeA);
    const transposeB = Boolean(attrs.transposeB);
    const aOuter = a.shape.slice(0, -2);
    const bOuter = b.shape.slice(0, -2);
    const aBatch = sizeOf(aOuter);
    const bBatch = sizeOf(bOuter);
    const sameOuter = aOuter.length === bOuter.length && aOuter.every((x, i) => x === bOuter[i]);
    // Shapes the loop below does not cover (general broadcasting of batch dimensions) and non-float
    // inputs keep the library's kernel.
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(sameOuter || aBatch === 1 || bBatch === 1)) {
      return matmul({ inputs, backend, attrs });
    }
    const temps: TensorInfo[] = [];
    const swapLast = (t: TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      const out = transpose({ inputs: { x: t }, backend, attrs: { perm } });
      temps.push(out);
      return out;
    };
    if (transposeA) a = swapLast(a);
    if (transposeB) b = swapLast(b);
    const plain = { transposeA: false, transposeB: false };
    try {
      if (aBatch === 1 && bBatch === 1) {
        const out = matmul({ inputs: { a, b }, backend, attrs: plain });
        out.shape = [...(aOuter.length >= bOuter.length ? aOuter : bOuter), out.shape[out.shape.length - 2], out.shape[out.shape.length - 1]];
        return out;
      }
      const m = a.shape[a.shape.length - 2];
      const k = a.shape[a.shape.length - 1];
      const n = b.shape[b.shape.length - 1];
      const batch = Math.max(aBatch, bBatch);
      const outer = aBatch >= bBatch ? aOuter : bOuter;
      const out = backend.makeOutput([...outer, m, n], 'float32');
      for (let i = 0; i < batch; i++) {
        const ai = backend.makeOutput([1, m, k], 'float32');
        const bi = backend.makeOutput([1, k, n], 'float32');
        // Heap views are taken after every allocation: growing the WASM memory detaches old views.
        const ia = aBatch === 1 ? 0 : i;
        const ib = bBatch === 1 ? 0 : i;
        backend.typedArrayFromHeap(ai).set(backend.typedArrayFromHeap(a).subarray(ia * m * k, (ia + 1) * m * k));
        backend.typedArrayFromHeap(bi).set(backend.typedArrayFromHeap(b).subarray(ib * k * n, (ib + 1) * k * n));
        const ri = matmul({ inputs: { a: ai, b: bi }, backend, attrs: plain });
        backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(ri), i * m * n);
        backend.disposeData(ai.dataId);
        backend.disposeData(bi.dataId);
        backend.disposeData(ri.dataId);
      }
      return out;
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };

  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    [MARK]: true,
  } as tf.KernelConfig);
  return true;
}
