/** Argument checks shared by the metric functions. A metric given malformed input throws; it never guesses. */

export function checkSameLength(name: string, a: ArrayLike<unknown>, b: ArrayLike<unknown>, aName = 'targets', bName = 'predictions'): void {
  if (a.length !== b.length) throw new RangeError(`${name}: ${aName} and ${bName} differ in length (${a.length} vs ${b.length})`);
}

export function checkPositiveInteger(name: string, what: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${name}: ${what} must be a positive integer, got ${k}`);
}

export function toFloat64(values: ArrayLike<number>): Float64Array {
  return values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>);
}
