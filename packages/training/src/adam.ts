/**
 * Adam (Kingma & Ba 2015, Algorithm 1) with the arithmetic of TensorFlow.js' `tf.train.adam`, a
 * learning rate that may change at every step (a schedule), and the whole update as one compiled
 * TensorFlow graph on the tensorflow backend (`GraphFunction`; eager elsewhere).
 *
 * Same numbers as `tf.train.adam`, op for op (TensorFlow.js 4.22, `adam_optimizer.ts`):
 *   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
 *   p <- (m / (1 - B1)) / (sqrt(v / (1 - B2)) + eps) * (-lr) + p,
 * where B1, B2 are float32 running products b1^t, b2^t (tf keeps them as float32 variables and
 * multiplies them by b after each update). The product of two float32 numbers is exact in a
 * double and `1 - B` of a float32 in (0, 1) too, so `Math.fround` of each reproduces tf's float32
 * values exactly: they are computed on the host and fed to the graph with -lr (tests compare with
 * tf.train.adam). Variables without a gradient in a call are skipped, their moments untouched,
 * and B1, B2 still advance (as tf.train.adam does).
 *
 * Why one fused update: kernel dispatch, not arithmetic, bounds a training step at our model sizes
 * (20-40 us per eager op on tfjs-node; wasm's per-op overhead too). While the same variables get
 * gradients at every step (the usual case) their moments live in two flat vectors, and one update
 * is about a dozen kernels for all of them plus a slice, a reshape and an add per variable: one
 * native call as a graph on tensorflow. Elementwise arithmetic does not depend on the layout, so
 * the flat update equals the per-variable one bit for bit.
 */
import { GraphFunction, tf } from '@cascade-lab/tensor-ops';

type Tensor = tf.Tensor;
type Variable = tf.Variable;

/** Step size of the update at (1-based) step `step`. */
export type LearningRateSchedule = (step: number) => number;

/**
 * The warm-up schedule of "Attention is all you need" (§5.3), as the NDM authors' code uses it:
 * lr = d^-0.5 * min(step^-0.5, step * warmup^-1.5). It rises linearly for `warmupSteps` steps to
 * d^-0.5 warmup^-0.5 (d 64, warm-up 1000: 0.00395) and then decays as step^-0.5.
 */
export function noamSchedule(dimension: number, warmupSteps: number): LearningRateSchedule {
  return (step) => dimension ** -0.5 * Math.min(step ** -0.5, step * warmupSteps ** -1.5);
}

export function constantSchedule(learningRate: number): LearningRateSchedule {
  return () => learningRate;
}

export interface AdamOptions {
  /** A constant step size or a schedule of the (1-based) step. */
  learningRate: number | LearningRateSchedule;
  /** Default 0.9, as tf.train.adam. */
  beta1?: number;
  /** Default 0.999, as tf.train.adam. */
  beta2?: number;
  /** Default: the backend's epsilon, as tf.train.adam (1e-7 in float32). */
  epsilon?: number;
  /** Names the compiled update in statistics and errors (default "Adam update"). */
  name?: string;
}

interface FusedState {
  names: string[];
  sizes: number[];
  m: Variable;
  v: Variable;
}

export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly schedule: LearningRateSchedule;
  private steps = 0;
  /** float32 b1^t and b2^t for the next update (tf.train.adam's accBeta1, accBeta2). */
  private accBeta1: number;
  private accBeta2: number;
  private fused: FusedState | null = null;
  /** Sizes of the fused variables, read by the traced body (a graph per variable count). */
  private fusedSizes: number[] = [];
  /** [m, v, rates (1 - B1, 1 - B2, -lr), gradients (k), parameters (k)] -> [m', v', parameters' (k)]. */
  private readonly fusedUpdate: GraphFunction;
  /** Per-variable moments once the set of updated variables has changed. */
  private readonly m = new Map<string, Variable>();
  private readonly v = new Map<string, Variable>();
  /** Moments carried over from the fused state, by variable name, until that variable's next update. */
  private readonly pendingMoments = new Map<string, { m: Tensor; v: Tensor }>();

  constructor(options: AdamOptions) {
    const lr = options.learningRate;
    this.schedule = typeof lr === 'number' ? constantSchedule(lr) : lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? tf.backend().epsilon();
    this.accBeta1 = Math.fround(this.beta1);
    this.accBeta2 = Math.fround(this.beta2);
    this.fusedUpdate = new GraphFunction((inputs) => this.fusedBody(inputs), { name: options.name ?? 'Adam update' });
  }

  /** Updates taken so far. */
  get iterations(): number {
    return this.steps;
  }

  /** Step size of update `step` (1-based); without an argument, of the next update. */
  learningRate(step = this.steps + 1): number {
    return this.schedule(step);
  }

  /**
   * One update: `gradients` maps variable names to gradients; variables without one are skipped
   * this step (as tf.train.adam). Disposes nothing it is given.
   */
  applyGradients(variables: readonly Variable[], gradients: Record<string, Tensor>): void {
    this.steps++;
    const rates = [Math.fround(1 - this.accBeta1), Math.fround(1 - this.accBeta2), -this.schedule(this.steps)];
    this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(this.beta1));
    this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(this.beta2));
    const present = variables.filter((p) => gradients[p.name] !== undefined);
    if (present.length === 0) return;
    const names = present.map((p) => p.name);
    if (this.fused === null && this.m.size === 0 && this.pendingMoments.size === 0) {
      // The first update with gradients fixes the fused set.
      const sizes = present.map((p) => p.size);
      const total = sizes.reduce((a, b) => a + b, 0);
      this.fused = { names, sizes, m: tf.tidy(() => tf.variable(tf.zeros([total]), false)), v: tf.tidy(() => tf.variable(tf.zeros([total]), false)) };
    }
    if (this.fused && this.fused.names.length === names.length && this.fused.names.every((n, i) => n === names[i])) {
      this.applyFused(present, gradients, rates, this.fused);
    } else {
      this.unfuse();
      this.applyEach(present, gradients, rates);
    }
  }

  private applyFused(present: Variable[], gradients: Record<string, Tensor>, rates: number[], fused: FusedState): void {
    const r = tf.tensor1d(rates);
    this.fusedSizes = fused.sizes;
    let out: Tensor[];
    try {
      out = this.fusedUpdate.call([fused.m, fused.v, r, ...present.map((p) => gradients[p.name]), ...present], String(present.length));
    } finally {
      r.dispose();
    }
    fused.m.assign(out[0]);
    fused.v.assign(out[1]);
    present.forEach((p, i) => p.assign(out[2 + i]));
    for (const t of out) t.dispose();
  }

  /** tf.train.adam's update of one (flat or shaped) moment pair; returns [m', v', -lr * step]. */
  private update(m: Tensor, v: Tensor, g: Tensor, oneMinusAccBeta1: Tensor, oneMinusAccBeta2: Tensor, negLr: Tensor): [Tensor, Tensor, Tensor] {
    const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
    const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    const mHat = tf.div(mNew, oneMinusAccBeta1);
    const vHat = tf.div(vNew, oneMinusAccBeta2);
    return [mNew, vNew, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), negLr)];
  }

  private fusedBody(inputs: Tensor[]): Tensor[] {
    const sizes = this.fusedSizes;
    const k = sizes.length;
    return tf.tidy(() => {
      const [m, v, rates] = inputs;
      const gradients = inputs.slice(3, 3 + k);
      const params = inputs.slice(3 + k, 3 + 2 * k);
      const [c1, c2, negLr] = [0, 1, 2].map((i) => tf.slice(rates, [i], [1]));
      const g = k === 1 ? tf.reshape(gradients[0], [-1]) : tf.concat(gradients.map((t) => tf.reshape(t, [-1])));
      const [mNew, vNew, step] = this.update(m, v, g, c1, c2, negLr);
      // One slice per variable rather than tf.split: wasm's SplitV is slow.
      let offset = 0;
      const parts = sizes.map((size) => {
        const part = k === 1 ? step : tf.slice(step, [offset], [size]);
        offset += size;
        return part;
      });
      return [mNew, vNew, ...params.map((p, i) => tf.add(tf.reshape(parts[i], p.shape), p))];
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

  private applyEach(present: Variable[], gradients: Record<string, Tensor>, rates: number[]): void {
    tf.tidy(() => {
      const [c1, c2, negLr] = rates.map((r) => tf.scalar(r));
      for (const p of present) {
        let m = this.m.get(p.name);
        let v = this.v.get(p.name);
        if (!m || !v) {
          const carried = this.pendingMoments.get(p.name);
          this.pendingMoments.delete(p.name);
          m = tf.variable(carried ? tf.reshape(carried.m, p.shape) : tf.zerosLike(p), false);
          v = tf.variable(carried ? tf.reshape(carried.v, p.shape) : tf.zerosLike(p), false);
          carried?.m.dispose();
          carried?.v.dispose();
          this.m.set(p.name, m);
          this.v.set(p.name, v);
        }
        const [mNew, vNew, step] = this.update(m, v, gradients[p.name], c1, c2, negLr);
        m.assign(mNew);
        v.assign(vNew);
        p.assign(tf.add(step, p));
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    for (const { m, v } of this.pendingMoments.values()) tf.dispose([m, v]);
    if (this.fused) tf.dispose([this.fused.m, this.fused.v]);
    this.fused = null;
    this.fusedUpdate.dispose();
    this.pendingMoments.clear();
    this.m.clear();
    this.v.clear();
  }
}
