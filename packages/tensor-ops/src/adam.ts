/**
 * Adam with the arithmetic of TensorFlow.js' `tf.train.adam`, run as one compiled TensorFlow graph
 * per update on the tensorflow backend (`GraphFunction`; eagerly elsewhere).
 *
 * Why: `tf.train.adam` spends about ten eager kernels per variable per step, and a model with a few
 * dozen variables pays hundreds of kernel dispatches (20-40 us each on tfjs-node) for arithmetic
 * that takes a fraction of that. Here the whole update is one native call.
 *
 * Same numbers: the update is written op for op as TensorFlow.js 4.22 writes it
 * (m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2; p <- p - lr (m / (1 - b1^t)) /
 * (sqrt(v / (1 - b2^t)) + eps), with b^t kept as a running product), so a switch from
 * `tf.train.adam` changes results only by float rounding (tests compare the two).
 */
import { CascadeError } from '@cascade-lab/core';
import { GraphFunction } from './graph-function.js';
import { tf } from './tf.js';

export interface CompiledAdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  /** Default: the backend's epsilon, as tf.train.adam (1e-7 in float32). */
  epsilon?: number;
}

export class CompiledAdam {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly accBeta: [tf.Variable, tf.Variable];
  private moments: { names: string[]; m: tf.Variable[]; v: tf.Variable[] } | null = null;
  private readonly update: GraphFunction;
  private steps = 0;

  constructor(options: CompiledAdamOptions) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? tf.backend().epsilon();
    this.accBeta = tf.tidy(() => [tf.variable(tf.scalar(this.beta1), false), tf.variable(tf.scalar(this.beta2), false)]);
    this.update = new GraphFunction((inputs) => this.body(inputs), { name: 'Adam update' });
  }

  /** Updates taken so far. */
  get iterations(): number {
    return this.steps;
  }

  /**
   * [accBeta1, accBeta2, values (k), m (k), v (k), gradients (k)] ->
   * [accBeta1', accBeta2', values' (k), m' (k), v' (k)].
   */
  private body(inputs: tf.Tensor[]): tf.Tensor[] {
    const k = (inputs.length - 2) / 4;
    const [accBeta1, accBeta2] = inputs;
    const values = inputs.slice(2, 2 + k);
    const ms = inputs.slice(2 + k, 2 + 2 * k);
    const vs = inputs.slice(2 + 2 * k, 2 + 3 * k);
    const grads = inputs.slice(2 + 3 * k);
    const oneMinusAccBeta1 = tf.sub(1, accBeta1);
    const oneMinusAccBeta2 = tf.sub(1, accBeta2);
    const newValues: tf.Tensor[] = [];
    const newM: tf.Tensor[] = [];
    const newV: tf.Tensor[] = [];
    for (let i = 0; i < k; i++) {
      const g = grads[i];
      const m = tf.add(tf.mul(ms[i], this.beta1), tf.mul(g, 1 - this.beta1));
      const v = tf.add(tf.mul(vs[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
      const mHat = tf.div(m, oneMinusAccBeta1);
      const vHat = tf.div(v, oneMinusAccBeta2);
      newValues.push(tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), -this.learningRate), values[i]));
      newM.push(m);
      newV.push(v);
    }
    return [tf.mul(accBeta1, this.beta1), tf.mul(accBeta2, this.beta2), ...newValues, ...newM, ...newV];
  }

  /**
   * One update of `variables` with `gradients` (by variable name; every variable needs one, and
   * the same variables at every call). Disposes nothing it is given.
   */
  applyGradients(variables: tf.Variable[], gradients: Record<string, tf.Tensor>): void {
    const names = variables.map((v) => v.name);
    const grads = names.map((name) => {
      const g = gradients[name];
      if (!g) throw new CascadeError('INTERNAL', `Adam: no gradient for variable ${name}`);
      return g;
    });
    if (!this.moments) {
      this.moments = {
        names,
        m: variables.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false))),
        v: variables.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false))),
      };
    } else if (this.moments.names.length !== names.length || this.moments.names.some((n, i) => n !== names[i])) {
      throw new CascadeError('INTERNAL', 'Adam: every update must cover the same variables, in the same order');
    }
    const { m, v } = this.moments;
    const k = variables.length;
    const out = this.update.call([...this.accBeta, ...variables, ...m, ...v, ...grads], String(k));
    this.accBeta[0].assign(out[0]);
    this.accBeta[1].assign(out[1]);
    for (let i = 0; i < k; i++) {
      variables[i].assign(out[2 + i]);
      m[i].assign(out[2 + k + i]);
      v[i].assign(out[2 + 2 * k + i]);
    }
    for (const t of out) t.dispose();
    this.steps++;
  }

  dispose(): void {
    for (const t of this.accBeta) t.dispose();
    for (const t of [...(this.moments?.m ?? []), ...(this.moments?.v ?? [])]) t.dispose();
    this.moments = null;
    this.update.dispose();
  }
}
