/**
 * A host kernel in WebAssembly SIMD for sums of weighted table rows,
 *   out = sum_j weight[j] * table[index[j], :],
 * the inner loop of attention over cached per-user rows (NDM's incremental simulator): plain
 * JavaScript does about 0.8 G multiply-adds per second on it, this kernel several times that. It
 * runs on the calling thread, whatever the tensor backend; float32 storage and accumulation.
 *
 *   const rows = new WeightedRowTable(table, width);  // copies the [rows, width] table once
 *   const { index, weight } = rows.items(n);           // views to fill with n items
 *   const out = rows.sum(n);                           // width floats (a view: copy to keep)
 */
import { CascadeError } from '@cascade-lab/core';
import { align16, ensureBytes, kernelInstances, type WasmMemory } from './wasm-instance.js';
import { WASM_BASE64 } from './weighted-row-sum.wasm.js';

interface Exports {
  memory: WasmMemory;
  weightedRowSum(table: number, index: number, weight: number, count: number, width: number, out: number): void;
}

const instance = kernelInstances<Exports>(WASM_BASE64);

export class WeightedRowTable {
  readonly rows: number;
  private readonly exports: Exports;
  private readonly outAt: number;
  private readonly itemsAt: number;
  private capacity = 0;
  private indexView = new Int32Array(0);
  private weightView = new Float32Array(0);
  private outView = new Float32Array(0);

  /** `table`: [rows, width] row-major; width a positive multiple of 4. */
  constructor(
    table: Float32Array,
    readonly width: number,
  ) {
    if (!Number.isInteger(width) || width <= 0 || width % 4 !== 0) throw new CascadeError('INTERNAL', `WeightedRowTable: width must be a positive multiple of 4, got ${width}`);
    if (table.length % width !== 0) throw new CascadeError('INTERNAL', `WeightedRowTable: table length ${table.length} is not a multiple of width ${width}`);
    this.rows = table.length / width;
    this.exports = instance();
    this.outAt = align16(table.byteLength);
    this.itemsAt = this.outAt + align16(width * 4);
    this.reserve(1024);
    new Float32Array(this.exports.memory.buffer, 0, table.length).set(table);
  }

  private reserve(items: number): void {
    if (items <= this.capacity) return;
    const capacity = Math.max(items, this.capacity * 2);
    const needed = this.itemsAt + 2 * align16(capacity * 4);
    const memory = this.exports.memory;
    ensureBytes(memory, needed);
    this.capacity = capacity;
    const buffer = memory.buffer;
    this.outView = new Float32Array(buffer, this.outAt, this.width);
    this.indexView = new Int32Array(buffer, this.itemsAt, capacity);
    this.weightView = new Float32Array(buffer, this.itemsAt + align16(capacity * 4), capacity);
  }

  /** Views of at least `count` row indices and weights to fill before {@link sum}; valid until the next call. */
  items(count: number): { index: Int32Array; weight: Float32Array } {
    this.reserve(count);
    return { index: this.indexView, weight: this.weightView };
  }

  /**
   * sum_{j < count} weight[j] * row index[j] of the table, over the first `count` items of the views.
   * Indices are not checked here (the caller owns them): each must be in [0, rows).
   */
  sum(count: number): Float32Array {
    if (count > this.capacity) throw new CascadeError('INTERNAL', `WeightedRowTable: ${count} items but room for ${this.capacity} (call items(count) first)`);
    this.exports.weightedRowSum(0, this.itemsAt, this.itemsAt + align16(this.capacity * 4), count, this.width, this.outAt);
    return this.outView;
  }
}
