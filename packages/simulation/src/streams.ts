import type { Rng } from '@cascade-lab/core';

/**
 * The random stream of simulation s of a request: `requestRng.derive(s)`. Every engine draws
 * simulation s from this stream alone, so splitting a request's simulations into batches or over
 * worker threads never changes a row.
 */
export function simulationStream(requestRng: Rng, s: number): Rng {
  return requestRng.derive(s);
}
