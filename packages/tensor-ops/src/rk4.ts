import { tf } from './tf.js';

export interface Rk4Options {
  /**
   * Largest step. Each interval between consecutive output times is cut into
   * ceil(length / stepSize) equal steps, so every output time is hit exactly.
   * Default: the last time / 100.
   */
  stepSize?: number;
}

/**
 * Classical fixed-step Runge-Kutta (order 4) for y' = f(t, y):
 * k1 = f(t, y), k2 = f(t + h/2, y + h/2 k1), k3 = f(t + h/2, y + h/2 k2), k4 = f(t + h, y + h k3),
 * y += h/6 (k1 + 2 k2 + 2 k3 + k4). Starts at t = 0 with `y0`; returns y at each of `times`
 * (ascending, >= 0). Built from tf ops, so it is differentiable in whatever `f` closes over.
 * Intermediate states are freed as it goes; the returned tensors belong to the caller.
 */
export function rk4Integrate(f: (t: number, y: tf.Tensor) => tf.Tensor, y0: tf.Tensor, times: readonly number[], options: Rk4Options = {}): tf.Tensor[] {
  if (times.length === 0) return [];
  for (let i = 0; i < times.length; i++) {
    if (!(times[i] >= (i === 0 ? 0 : times[i - 1]))) throw new RangeError(`rk4Integrate: times must be ascending and >= 0, got [${times.join(', ')}]`);
  }
  const stepSize = options.stepSize ?? times[times.length - 1] / 100;
  if (!(stepSize > 0)) throw new RangeError(`rk4Integrate: stepSize must be > 0, got ${stepSize}`);
  const out: tf.Tensor[] = [];
  let t = 0;
  let y = y0;
  for (const target of times) {
    const steps = Math.max(1, Math.ceil((target - t) / stepSize - 1e-9));
    const h = (target - t) / steps;
    for (let s = 0; s < steps && h > 0; s++) {
      const t0 = t + s * h;
      const current = y;
      y = tf.tidy(() => {
        const k1 = f(t0, current);
        const k2 = f(t0 + h / 2, tf.add(current, tf.mul(k1, h / 2)));
        const k3 = f(t0 + h / 2, tf.add(current, tf.mul(k2, h / 2)));
        const k4 = f(t0 + h, tf.add(current, tf.mul(k3, h)));
        return tf.add(current, tf.mul(tf.addN([k1, tf.mul(k2, 2), tf.mul(k3, 2), k4]), h / 6));
      });
      // Free the previous state unless the caller owns it (y0) or it is an output.
      if (current !== y0 && !out.includes(current)) current.dispose();
    }
    t = target;
    out.push(y === y0 || out.includes(y) ? y.clone() : y);
  }
  return out;
}

/**
 * The GammaCas retweet rate r(t) = A t^gamma e^(-lambda t) (GammaCas paper Eq. 5), elementwise;
 * t is a number (the same for the whole batch) >= 0.
 */
export function gammaRate(amplitude: tf.Tensor, gamma: tf.Tensor, lambda: tf.Tensor, t: number): tf.Tensor {
  return tf.tidy(() => {
    // t^gamma via exp(gamma ln t) keeps t^gamma e^(-lambda t) in range for large t; at t = 0 the
    // power is 0 for gamma > 0 (tf.pow's gradient in gamma is 0 there, not NaN).
    const power = t > 0 ? tf.exp(tf.sub(tf.mul(gamma, Math.log(t)), tf.mul(lambda, t))) : tf.pow(tf.scalar(0), gamma);
    return tf.mul(amplitude, power);
  });
}

/**
 * Cascade size at each horizon by fixed-step RK4 on dN/dt = A t^gamma e^(-lambda t), N(0) = 0, as
 * the GammaCas paper integrates (§3.6). `amplitude`, `gamma`, `lambda` broadcast to a shape S;
 * returns [...S, horizons.length]. Compare `gammaRateIntegral` (closed form).
 */
export function rk4GammaRateIntegral(amplitude: tf.Tensor, gamma: tf.Tensor, lambda: tf.Tensor, horizons: readonly number[], options: Rk4Options = {}): tf.Tensor {
  return tf.tidy(() => {
    let shape: number[] = [];
    for (const x of [amplitude, gamma, lambda]) shape = tf.broadcast_util.assertAndGetBroadcastShape(shape, x.shape);
    const sizes = rk4Integrate((t) => tf.broadcastTo(gammaRate(amplitude, gamma, lambda, t), shape), tf.zeros(shape), horizons, options);
    return tf.stack(sizes, -1);
  });
}
