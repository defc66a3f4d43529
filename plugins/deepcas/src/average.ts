/**
 * An exponential moving average of a network's weights (Polyak-Ruppert averaging with exponential
 * forgetting), as TensorFlow's `ExponentialMovingAverage` with `num_updates`: after the n-th update
 * (n = 1, 2, ...) the shadow is
 *
 *   shadow <- d_n shadow + (1 - d_n) w,   d_n = min(decay, n / (n + 9))
 *
 * (TensorFlow's (1 + num_updates) / (10 + num_updates) with num_updates = n - 1 counted before the
 * update), starting from the initial weights. The warm-up keeps the first updates from being
 * anchored to the random initialisation: until d_n reaches `decay` the shadow weighs roughly the
 * last tenth of the updates so far. Used against the test-net validation loss jumping by up to 1.2
 * between neighbouring epochs (README, Results): the average moves less than the weights Adam
 * leaves after the last batch of an epoch. It does smooth the curve, but was not better on held-out
 * validation cascades (README, Results), so `weightAverageDecay` is off by default.
 */
import { tf } from '@cascade-lab/tensor-ops';

/** The decay d_n of the n-th update (1-based): min(decay, n / (n + 9)). */
export function averageDecayAt(decay: number, update: number): number {
  return Math.min(decay, update / (update + 9));
}

export class WeightAverage {
  private updates = 0;
  /**
   * @param source the trained weights, by name
   * @param shadow the averaged weights, by name (the same names and shapes); set to `source` now
   * @param decay the long-run decay in (0, 1)
   */
  constructor(
    private readonly source: Record<string, tf.Variable>,
    private readonly shadow: Record<string, tf.Variable>,
    readonly decay: number,
  ) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`WeightAverage: decay must be in (0, 1), got ${decay}`);
    for (const [name, v] of Object.entries(source)) {
      const s = shadow[name];
      if (!s || s.shape.join(',') !== v.shape.join(',')) throw new RangeError(`WeightAverage: no shadow weight ${name} of shape [${v.shape.join(', ')}]`);
      s.assign(v);
    }
  }

  /** Updates made so far. */
  get count(): number {
    return this.updates;
  }

  /** One update after an optimiser step: shadow <- d_n shadow + (1 - d_n) w. */
  update(): void {
    this.updates++;
    const d = averageDecayAt(this.decay, this.updates);
    tf.tidy(() => {
      for (const [name, v] of Object.entries(this.source)) {
        const s = this.shadow[name];
        s.assign(tf.add(tf.mul(s, d), tf.mul(v, 1 - d)));
      }
    });
  }
}
