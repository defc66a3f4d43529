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
    const { beta1, beta2, epsilon } = this.options;
    const lr = this.options.schedule(this.step);
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      for (const p of variables) {
        const g = grads[p.name];
        if (!g) continue;
        let m = this.m.get(p);
        let v = this.v.get(p);
        if (!m || !v) {
          m = tf.variable(tf.zerosLike(p), false);
          v = tf.variable(tf.zerosLike(p), false);
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
    this.m.clear();
    this.v.clear();
  }
}
