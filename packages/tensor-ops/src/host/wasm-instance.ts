/**
 * What the host kernels in WebAssembly share: the few WebAssembly globals they use (the workspace
 * compiles without the DOM lib, where those are declared), one compiled module per kernel, and the
 * memory layout helpers. Each kernel instance gets its own memory, holding its table at address 0.
 */

/** Bytes in a WebAssembly memory page. */
export const PAGE = 65536;

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly __wasmModule?: never;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule) => { readonly exports: unknown };
};

/** The next multiple of 16 bytes (SIMD loads stay aligned). */
export const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * A factory of instances of one kernel: the module (base64 of its .wasm, made by tools/wasm/build.mjs)
 * is compiled on the first instance and reused; every call gives a fresh instance with its own memory.
 */
export function kernelInstances<E extends { memory: WasmMemory }>(base64: string): () => E {
  let compiled: WasmModule | null = null;
  return () => {
    compiled ??= new WebAssembly.Module(Buffer.from(base64, 'base64'));
    return new WebAssembly.Instance(compiled).exports as E;
  };
}

/** Grows `memory` so that it holds at least `bytes` bytes. */
export function ensureBytes(memory: WasmMemory, bytes: number): void {
  if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
}
