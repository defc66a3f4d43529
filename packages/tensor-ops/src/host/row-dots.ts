/**
 * A host kernel in WebAssembly SIMD for dot products of a few query vectors with table rows,
 *   out[j, l] = sum_e query[e, l] * table[index[j], e],
 * in float64, bit for bit the plain JavaScript loop `s = 0; for (e) s += q[e] * t[e]` over the same
 * float32 values (a product of two float32 is exact in float64, and each sum runs in the same order
 * from 0; the SIMD lanes run over outputs, never inside a sum), several times faster. NDM's
 * incremental simulator uses it for the attention scores of a new user against its prefix when the
 * vocabulary is too large for a score table: score_i(u, v_k) = (emb(u) M_i) . emb(v_k), the heads as
 * lanes. It runs on the calling thread, whatever the tensor backend.
 *
 *   const dots = new RowDotTable(table, width);  // copies the float32 [rows, width] table once
 *   const query = dots.query(lanes);              // [width, lanes] float64 view to fill (lanes even)
 *   const index = dots.items(n);                  // n row indices to fill
 *   const out = dots.dots(n, lanes);              // [n, lanes] float64 (a view: copy to keep)
 */
import { CascadeError } from '@cascade-lab/core';
import { align16, ensureBytes, kernelInstances, type WasmMemory } from './wasm-instance.js';
import { WASM_BASE64 } from './row-dots.wasm.js';

interface Exports {
  memory: WasmMemory;
  rowDots(table: number, index: number, count: number, width: number, query: number, lanes: number, out: number): void;
}

const instance = kernelInstances<Exports>(WASM_BASE64);

export class RowDotTable {
  readonly rows: number;
  private readonly exports: Exports;
  /** Byte address of the query block (room for `laneCapacity` lanes), then the indices, then the outputs. */
  private readonly queryAt: number;
  private laneCapacity = 0;
  private itemCapacity = 0;
  private indexAt = 0;
  private outAt = 0;
  private queryView = new Float64Array(0);
  private indexView = new Int32Array(0);
  private outView = new Float64Array(0);

  /** `table`: float32 [rows, width] row-major, width positive. */
  constructor(
    table: Float32Array,
    readonly width: number,
  ) {
    if (!Number.isInteger(width) || width <= 0) throw new CascadeError('INTERNAL', `RowDotTable: width must be a positive integer, got ${width}`);
    if (table.length % width !== 0) throw new CascadeError('INTERNAL', `RowDotTable: table length ${table.length} is not a multiple of width ${width}`);
    this.rows = table.length / width;
    this.exports = instance();
    this.queryAt = align16(table.byteLength);
    this.reserve(16, 1024);
    new Float32Array(this.exports.memory.buffer, 0, table.length).set(table);
  }

  private reserve(lanes: number, items: number): void {
    if (lanes <= this.laneCapacity && items <= this.itemCapacity) return;
    // The layout moves when either capacity grows: the caller refills the views (see query/items).
    const laneCapacity = Math.max(lanes, this.laneCapacity);
    const itemCapacity = Math.max(items, this.itemCapacity * 2);
    const indexAt = this.queryAt + align16(this.width * laneCapacity * 8);
    const outAt = indexAt + align16(itemCapacity * 4);
    const needed = outAt + itemCapacity * laneCapacity * 8;
    const memory = this.exports.memory;
    ensureBytes(memory, needed);
    this.laneCapacity = laneCapacity;
    this.itemCapacity = itemCapacity;
    this.indexAt = indexAt;
    this.outAt = outAt;
    const buffer = memory.buffer;
    this.queryView = new Float64Array(buffer, this.queryAt, this.width * laneCapacity);
    this.indexView = new Int32Array(buffer, indexAt, itemCapacity);
    this.outView = new Float64Array(buffer, outAt, itemCapacity * laneCapacity);
  }

  /**
   * The float64 query block to fill, [width, lanes] row-major (element (e, l) at e * lanes + l), for
   * `count` items at most. Call before {@link items}: growing here moves the index view.
   */
  query(lanes: number, count: number): Float64Array {
    if (!Number.isInteger(lanes) || lanes <= 0 || lanes % 2 !== 0) throw new CascadeError('INTERNAL', `RowDotTable: lanes must be a positive even integer, got ${lanes}`);
    this.reserve(lanes, count);
    return this.queryView;
  }

  /** The row indices to fill (at least `count`); valid until the next {@link query}. */
  items(count: number): Int32Array {
    if (count > this.itemCapacity) throw new CascadeError('INTERNAL', `RowDotTable: ${count} items but room for ${this.itemCapacity} (call query(lanes, count) first)`);
    return this.indexView;
  }

  /**
   * out[j * lanes + l] = sum_e query[e * lanes + l] * table[index[j] * width + e] for j < count, from
   * the filled views. Indices are not checked here (the caller owns them): each must be in [0, rows).
   */
  dots(count: number, lanes: number): Float64Array {
    if (lanes > this.laneCapacity || lanes % 2 !== 0 || count > this.itemCapacity) throw new CascadeError('INTERNAL', `RowDotTable: ${count} items x ${lanes} lanes do not fit the views (call query(lanes, count) first)`);
    this.exports.rowDots(0, this.indexAt, count, this.width, this.queryAt, lanes, this.outAt);
    return this.outView;
  }
}
