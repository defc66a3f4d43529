import { GraphFunction } from '@cascade-lab/tensor-ops';
import { tf, type Tensor, type Variable } from './tf.js';

/** Step size of the Adam update at (1-based) step `step`. */
export type LearningRateSchedule = (step: number) => number;

/**
 * The schedule of the NDM authors' code (from "Attention is all you need", §5.3):
 * lr = d^-0.5 * min(step^-0.5, step * warmup^-1.5). It rises linearly for `warmup` steps to
 * d^-0.5 warmup^-0.5 (64, 1000: 0.00395) and then decays as step^-0.5.
 */
export function noamSchedule(dimension: number, warmupSteps: number): LearningRateSchedule {
  return (step) => dimension ** -0.5 * Math.min(step ** -0.5, step * warmupSteps ** -1.5);
}

export function constantSchedule(learningRate: number): LearningRateSchedule {
  return () => learningRate;
}

export interface AdamOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  schedule: LearningRateSchedule;
}

/**
 * Adam (Kingma & Ba 2015, Algorithm 1) with a step-dependent learning rate, the update written out
 * so that the schedule can change the rate at every step:
 * m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2; p <- p - lr * m_hat / (sqrt(v_hat) + eps),
 * with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
 */
export class Adam {
  private step = 0;
  private readonly m = new Map<Variable, Variable>();
  private readonly v = new Map<Variable, Variable>();
  /**
   * Fused state: while the same variables get gradients at every step (the usual case), their
   * moments live in two flat vectors and one update costs about a dozen kernels for all of them
   * plus a slice, a reshape and an assign per variable, instead of about sixteen per variable
   * (kernel dispatch, not arithmetic, bounds a training step at NDM's sizes).
   */
  private fused: { names: string[]; sizes: number[]; m: Variable; v: Variable } | null = null;
  /**
   * The fused update as one TensorFlow graph on the tensorflow backend (eager elsewhere):
   * [m, v, (lr / c1, c2), gradients..., parameters...] -> [m', v', parameters'...].
   */
  private readonly fusedUpdate = new GraphFunction((inputs) => this.fusedUpdateBody(inputs), { name: 'ndm Adam update' });
  /** Moments carried over from the fused state, by variable name, until that variable's next update. */
  private readonly pendingMoments = new Map<string, { m: Tensor; v: Tensor }>();

  constructor(private readonly options: AdamOptions) {}

  get iterations(): number {
    return this.step;
  }

  /** Learning rate the next update will use. */
  nextLearningRate(): number {
    return this.options.schedule(this.step + 1);
  }

  /** Applies one update; `grads` maps each variable's name to its gradient. Disposes nothing given. */
  apply(variables: Variable[], grads: Record<string, Tensor>): void {
    this.step++;
    const present = variables.filter((p) => grads[p.name]);
    if (present.length === 0) return;
    const names = present.map((p) => p.name);
    if (this.step === 1) {
      const sizes = present.map((p) => p.size);
      const total = sizes.reduce((a, b) => a + b, 0);
      this.fused = { names, sizes, m: tf.tidy(() => tf.variable(tf.zeros([total]), false)), v: tf.tidy(() => tf.variable(tf.zeros([total]), false)) };
    }
    if (this.fused && this.fused.names.length === names.length && this.fused.names.every((n, i) => n === names[i])) {
      this.applyFused(present, grads, this.fused);
    } else {
      this.unfuse();
      this.applyEach(present, grads);
    }
  }

  private rates(): { lr: number; c1: number; c2: number } {
    return { lr: this.options.schedule(this.step), c1: 1 - this.options.beta1 ** this.step, c2: 1 - this.options.beta2 ** this.step };
  }

  private applyFused(present: Variable[], grads: Record<string, Tensor>, fused: { sizes: number[]; m: Variable; v: Variable }): void {
    const { lr, c1, c2 } = this.rates();
    const rates = tf.tensor1d([lr / c1, c2]);
    this.fusedSizes = fused.sizes;
    let out: Tensor[];
    try {
      out = this.fusedUpdate.call([fused.m, fused.v, rates, ...present.map((p) => grads[p.name]), ...present], String(present.length));
    } finally {
      rates.dispose();
    }
    fused.m.assign(out[0]);
    fused.v.assign(out[1]);
    present.forEach((p, i) => p.assign(out[2 + i]));
    for (const t of out) t.dispose();
  }

  private fusedSizes: number[] = [];

  /** The fused Adam update as a pure function (see `fusedUpdate`). */
  private fusedUpdateBody(inputs: Tensor[]): Tensor[] {
    const { beta1, beta2, epsilon } = this.options;
    const sizes = this.fusedSizes;
    const k = sizes.length;
    return tf.tidy(() => {
      const [m, v, rates] = inputs;
      const gradients = inputs.slice(3, 3 + k);
      const params = inputs.slice(3 + k, 3 + 2 * k);
      const [lrOverC1, c2] = tf.split(rates, 2);
      const g = k === 1 ? tf.reshape(gradients[0], [-1]) : tf.concat(gradients.map((t) => tf.reshape(t, [-1])));
      const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
      const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
      const update = tf.div(tf.mul(mNew, lrOverC1), tf.add(tf.sqrt(tf.div(vNew, c2)), epsilon));
      // One slice per variable rather than tf.split: wasm's SplitV is slow.
      let offset = 0;
      const parts = sizes.map((size) => {
        const part = k === 1 ? update : tf.slice(update, [offset], [size]);
        offset += size;
        return part;
      });
      return [mNew, vNew, ...params.map((p, i) => tf.sub(p, tf.reshape(parts[i], p.shape)))];
    });
  }

  /** Moves the fused moments into per-variable ones (when the set of updated variables changes). */
  private unfuse(): void {
    const fused = this.fused;
    if (!fused) return;
    this.fused = null;
    const mParts = tf.split(fused.m, fused.sizes);
    const vParts = tf.split(fused.v, fused.sizes);
    fused.names.forEach((name, i) => this.pendingMoments.set(name, { m: mParts[i], v: vParts[i] }));
    fused.m.dispose();
    fused.v.dispose();
  }

  private applyEach(present: Variable[], grads: Record<string, Tensor>): void {
    const { beta1, beta2, epsilon } = this.options;
    const { lr, c1, c2 } = this.rates();
    tf.tidy(() => {
      for (const p of present) {
        const g = grads[p.name];
        let m = this.m.get(p);
        let v = this.v.get(p);
        if (!m || !v) {
          const carried = this.pendingMoments.get(p.name);
          this.pendingMoments.delete(p.name);
          m = tf.variable(carried ? tf.reshape(carried.m, p.shape) : tf.zerosLike(p), false);
          v = tf.variable(carried ? tf.reshape(carried.v, p.shape) : tf.zerosLike(p), false);
          carried?.m.dispose();
          carried?.v.dispose();
          this.m.set(p, m);
          this.v.set(p, v);
        }
        const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(mNew);
        v.assign(vNew);
        const update = tf.div(tf.mul(mNew, lr / c1), tf.add(tf.sqrt(tf.div(vNew, c2)), epsilon));
        p.assign(tf.sub(p, update));
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    for (const { m, v } of this.pendingMoments.values()) {
      m.dispose();
      v.dispose();
    }
    this.fused?.m.dispose();
    this.fused?.v.dispose();
    this.fused = null;
    this.fusedUpdate.dispose();
    this.pendingMoments.clear();
    this.m.clear();
    this.v.clear();
  }
}
