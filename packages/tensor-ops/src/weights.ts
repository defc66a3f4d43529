/**
 * Small holders of named tf.Variables: each building block that has parameters keeps them here, so
 * a model can list them for its optimiser (`trainableWeights()`), save them (`weights()` is the
 * named tensor map that `saveCheckpoint` writes) and free them (`dispose()`).
 */
import type { Rng } from '@cascade-lab/core';
import { tf } from './tf.js';
import type { Initializer } from './init.js';

export type NamedTensors = Record<string, tf.Tensor>;

export abstract class WeightHolder {
  private readonly variables = new Map<string, tf.Variable>();

  /**
   * Creates a weight from `init`, drawing from `rng` (the generator advances, so holders built one
   * after another from the same stream differ; pass `rng.derive('label')` to make a holder's values
   * independent of construction order).
   */
  protected addWeight(name: string, shape: readonly number[], init: Initializer, rng: Rng, trainable = true): tf.Variable {
    return this.adoptWeight(name, init(shape, rng), trainable);
  }

  /** Makes `initial` (which this call disposes) the starting value of a new weight. */
  protected adoptWeight(name: string, initial: tf.Tensor, trainable = true): tf.Variable {
    if (this.variables.has(name)) {
      initial.dispose();
      throw new Error(`${this.constructor.name}: weight "${name}" defined twice`);
    }
    const v = tf.variable(initial, trainable);
    initial.dispose();
    this.variables.set(name, v);
    return v;
  }

  /** Every weight by name, each name prefixed with `prefix` (e.g. `attention/`). */
  weights(prefix = ''): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    for (const [name, v] of this.variables) out[prefix + name] = v;
    return out;
  }

  /** The trainable weights, in definition order (for `optimizer.minimize(..., varList)`). */
  trainableWeights(): tf.Variable[] {
    return [...this.variables.values()].filter((v) => v.trainable);
  }

  /** Total number of scalar parameters. */
  parameterCount(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}
