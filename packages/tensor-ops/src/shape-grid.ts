/**
 * Shape grids for compiled graphs: a `GraphFunction` compiles one TensorFlow graph per input
 * shape, so a model whose batches vary in rows or length pads them up to a few sizes. A grid with
 * s steps per doubling rounds n up to a multiple of 2^(floor(log2 n)) / s: at most 1/s above n in
 * relative terms (s = 4: 25%), every n below 2s kept as it is, and about s sizes per doubling. A
 * `maxStep` caps the step, so large sizes pad by at most that many (useful when the padded work
 * grows faster than linearly, as attention's L^2).
 *
 * Padding must not change a result: the caller pads with rows or positions that contribute exactly
 * zero (empty sequences, masked targets).
 */
export interface ShapeGridOptions {
  /** Sizes per doubling: 1, 2, 4, 8, ... (default 4). */
  stepsPerDoubling?: number;
  /** Largest step between two grid sizes (default: none). */
  maxStep?: number;
}

/** The smallest size on the grid that is at least `n` (n a positive integer). */
export function gridSize(n: number, options: ShapeGridOptions = {}): number {
  const perDoubling = options.stepsPerDoubling ?? 4;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`gridSize: n must be a positive integer, got ${n}`);
  if (!(Number.isInteger(perDoubling) && perDoubling >= 1 && (perDoubling & (perDoubling - 1)) === 0)) {
    throw new RangeError(`gridSize: stepsPerDoubling must be a power of two, got ${perDoubling}`);
  }
  // floor(log2 n) from the bit length, exact for every 32-bit n.
  const octave = n < 2 ** 31 ? 31 - Math.clz32(n) : Math.floor(Math.log2(n));
  const step = Math.min(Math.max(1, 2 ** octave / perDoubling), options.maxStep ?? Infinity);
  return Math.ceil(n / step) * step;
}

/** `gridSize` with fixed options, as a function of n. */
export function shapeGrid(options: ShapeGridOptions = {}): (n: number) => number {
  return (n) => gridSize(n, options);
}
