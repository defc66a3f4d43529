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
 *
 * {@link LookupAttentionTable} runs a whole attention step in the same kernel when the attention
 * weights are table lookups (NDM's per-pair exp-score table).
 */
import { CascadeError } from '@cascade-lab/core';
import { align16, ensureBytes, kernelInstances, type WasmMemory } from './wasm-instance.js';
import { WASM_BASE64 } from './weighted-row-sum.wasm.js';

interface Exports {
  memory: WasmMemory;
  weightedRowSum(table: number, index: number, weight: number, count: number, width: number, out: number): void;
  lookupAttention(values: number, lookup: number, query: number, keys: number, count: number, heads: number, numKeys: number, width: number, index: number, weight: number, norms: number, out: number): number;
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

/**
 * Attention over cached value rows whose unnormalised weights are looked up per (query, key, head),
 * in one WebAssembly call (NDM's incremental simulator, when its vocabulary is small enough for a
 * table of exp-scores):
 *
 *   out = sum_k sum_i float32(lookup[query, keys[k], i] * (1 / n_i)) * values[keys[k] * heads + i, :]
 *   n_i = sum_k lookup[query, keys[k], i]   (float64, keys in order)
 *
 * with the arithmetic of the plain JavaScript steps it replaces (the normalisers in float64, each
 * weight rounded once to float32, then {@link WeightedRowTable}'s float32 sum over items k * heads + i
 * in order), so the bits are equal. Returns null, and computes nothing, when some n_i is not above
 * 1e-30 (every weight of that head underflowed in the table): the caller then takes its exact path.
 *
 *   const att = new LookupAttentionTable(values, lookup, heads, width);
 *   att.keys(n).set(prefix);      // the n keys
 *   const out = att.attend(query, n);  // width floats (a view: copy to keep), or null
 */
export class LookupAttentionTable {
  /** Keys (the second index of `lookup`; `values` has keys * heads rows). */
  readonly numKeys: number;
  readonly numQueries: number;
  private readonly exports: Exports;
  private readonly lookupAt: number;
  private readonly outAt: number;
  private readonly normsAt: number;
  private readonly keysAt: number;
  private capacity = 0;
  private indexAt = 0;
  private weightAt = 0;
  private keyView = new Int32Array(0);
  private outView = new Float32Array(0);

  /**
   * `values`: float32 [numKeys * heads, width] (width a positive multiple of 4); `lookup`: float32
   * [numQueries, numKeys, heads], the unnormalised weights. Both are copied once.
   */
  constructor(
    values: Float32Array,
    lookup: Float32Array,
    readonly heads: number,
    readonly width: number,
  ) {
    if (!Number.isInteger(width) || width <= 0 || width % 4 !== 0) throw new CascadeError('INTERNAL', `LookupAttentionTable: width must be a positive multiple of 4, got ${width}`);
    if (!Number.isInteger(heads) || heads <= 0) throw new CascadeError('INTERNAL', `LookupAttentionTable: heads must be a positive integer, got ${heads}`);
    if (values.length % (width * heads) !== 0) throw new CascadeError('INTERNAL', `LookupAttentionTable: values length ${values.length} is not a multiple of heads x width (${heads} x ${width})`);
    this.numKeys = values.length / (width * heads);
    if (lookup.length % (this.numKeys * heads) !== 0) throw new CascadeError('INTERNAL', `LookupAttentionTable: lookup length ${lookup.length} is not a multiple of keys x heads (${this.numKeys} x ${heads})`);
    this.numQueries = lookup.length / (this.numKeys * heads);
    this.exports = instance();
    this.lookupAt = align16(values.byteLength);
    this.outAt = this.lookupAt + align16(lookup.byteLength);
    this.normsAt = this.outAt + align16(width * 4);
    this.keysAt = this.normsAt + align16(heads * 8);
    this.reserve(256);
    const buffer = this.exports.memory.buffer;
    new Float32Array(buffer, 0, values.length).set(values);
    new Float32Array(buffer, this.lookupAt, lookup.length).set(lookup);
  }

  private reserve(keys: number): void {
    if (keys <= this.capacity) return;
    const capacity = Math.max(keys, this.capacity * 2);
    this.indexAt = this.keysAt + align16(capacity * 4);
    this.weightAt = this.indexAt + align16(capacity * this.heads * 4);
    ensureBytes(this.exports.memory, this.weightAt + align16(capacity * this.heads * 4));
    this.capacity = capacity;
    // Growing the memory detaches the old views.
    const buffer = this.exports.memory.buffer;
    this.keyView = new Int32Array(buffer, this.keysAt, capacity);
    this.outView = new Float32Array(buffer, this.outAt, this.width);
  }

  /** A view of at least `count` keys to fill before {@link attend}; valid until the next call. */
  keys(count: number): Int32Array {
    this.reserve(count);
    return this.keyView;
  }

  /**
   * The attention output of `query` over the first `count` keys of the view (see the class comment),
   * or null when a head's weights underflowed. Keys and the query are not checked here (the caller
   * owns them): keys in [0, numKeys), the query in [0, numQueries).
   */
  attend(query: number, count: number): Float32Array | null {
    if (count > this.capacity) throw new CascadeError('INTERNAL', `LookupAttentionTable: ${count} keys but room for ${this.capacity} (call keys(count) first)`);
    const e = this.exports;
    const status = e.lookupAttention(0, this.lookupAt, query, this.keysAt, count, this.heads, this.numKeys, this.width, this.indexAt, this.weightAt, this.normsAt, this.outAt);
    return status === 0 ? this.outView : null;
  }
}
