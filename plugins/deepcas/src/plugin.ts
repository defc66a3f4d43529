import { throwIfCancelled, type MacroscopicDataset, type MacroscopicPlugin, type TrainContext, type WindowedCascade } from '@cascade-lab/core';
import { tf } from '@cascade-lab/tensor-ops';
import { z } from 'zod';
import { DeepcasModel, features, FEATURES, type DeepcasWeights } from './model.js';

/** Every knob with its default and a description (`cascade plugins` prints them). */
export const deepcasHyperparameters = z.strictObject({
  learningRate: z.number().positive().default(0.05).describe('Adam step size'),
  epochs: z.number().int().positive().default(300).describe('full-batch Adam steps over the training cascades'),
  l2: z.number().min(0).default(0.001).describe('L2 penalty on the feature weights'),
});
export type DeepcasHyperparameters = z.output<typeof deepcasHyperparameters>;

/** Training arrays: standardised features, ln S_obs, ln(max(h, T)/T) and ln S(h) with a mask for unknown sizes. */
function designMatrix(cascades: WindowedCascade[], horizonsHours: number[], windowHours: number, mean: number[], std: number[]) {
  const n = cascades.length;
  const H = horizonsHours.length;
  const x = new Float32Array(n * FEATURES.length);
  const logObserved = new Float32Array(n * H);
  const logTime = new Float32Array(n * H);
  const target = new Float32Array(n * H);
  const mask = new Float32Array(n * H);
  cascades.forEach((c, i) => {
    features(c).forEach((v, j) => (x[i * FEATURES.length + j] = (v - mean[j]) / std[j]));
    horizonsHours.forEach((h, k) => {
      const known = Number.isFinite(c.targets[k]) && c.targets[k] > 0;
      logObserved[i * H + k] = Math.log(c.observedSize);
      logTime[i * H + k] = Math.log(Math.max(h, windowHours) / windowHours);
      target[i * H + k] = known ? Math.log(c.targets[k]) : 0;
      mask[i * H + k] = known ? 1 : 0;
    });
  });
  return { x, logObserved, logTime, target, mask, n, H };
}

/**
 * Fits w and b of the log-linear growth model (model.ts) by full-batch Adam on the mean squared
 * error of ln S(h) at the dataset's horizons (unknown sizes masked out), plus an L2 penalty on w.
 */
export async function fitDeepcas(data: MacroscopicDataset, hp: DeepcasHyperparameters, context: TrainContext): Promise<DeepcasModel> {
  const windowHours = data.observationWindowSeconds / 3600;
  const rows = data.train.map(features);
  const mean = FEATURES.map((_, j) => rows.reduce((a, r) => a + r[j], 0) / Math.max(1, rows.length));
  const std = FEATURES.map((_, j) => Math.sqrt(rows.reduce((a, r) => a + (r[j] - mean[j]) ** 2, 0) / Math.max(1, rows.length)) || 1);
  const d = designMatrix(data.train, data.horizonsHours, windowHours, mean, std);

  const X = tf.tensor2d(d.x, [d.n, FEATURES.length]);
  const logObserved = tf.tensor2d(d.logObserved, [d.n, d.H]);
  const logTime = tf.tensor2d(d.logTime, [d.n, d.H]);
  const target = tf.tensor2d(d.target, [d.n, d.H]);
  const mask = tf.tensor2d(d.mask, [d.n, d.H]);
  const known = Math.max(1, d.mask.reduce((a, m) => a + m, 0));
  // Small random initial weights from the run's seeded stream (reproducible).
  const init = context.rng.derive('init');
  // tf.tidy frees the initial values; the variables it returns live until the `finally` below.
  const w = tf.tidy(() => tf.variable(tf.tensor2d(FEATURES.map(() => init.normal(0, 0.01)), [FEATURES.length, 1]), true, 'deepcas/w'));
  const b = tf.tidy(() => tf.variable(tf.scalar(0), true, 'deepcas/b'));
  const optimizer = tf.train.adam(hp.learningRate);
  const task = context.progress.start('deepcas training', hp.epochs);
  try {
    for (let epoch = 1; epoch <= hp.epochs; epoch++) {
      throwIfCancelled(context.signal);
      const cost = optimizer.minimize(() => {
        const beta = tf.softplus(tf.add(tf.matMul(X, w), b)); // [n, 1]
        const predicted = tf.add(logObserved, tf.mul(beta, logTime)); // [n, H]
        const squared = tf.mul(tf.square(tf.sub(predicted, target)), mask);
        return tf.add(tf.div(tf.sum(squared), known), tf.mul(hp.l2, tf.sum(tf.square(w)))) as tf.Scalar;
      }, true);
      const value = (await cost!.data())[0];
      cost!.dispose();
      context.metrics.logMetric('train.loss', value, epoch);
      task.tick(1, `loss ${value.toFixed(4)}`);
    }
    const weights: DeepcasWeights = { weights: Array.from(await w.data()), bias: (await b.data())[0], featureMean: mean, featureStd: std, windowHours };
    return new DeepcasModel(weights);
  } finally {
    task.done();
    optimizer.dispose();
    tf.dispose([X, logObserved, logTime, target, mask, w, b]);
  }
}

export const deepcasPlugin: MacroscopicPlugin<DeepcasHyperparameters> = {
  name: 'deepcas',
  task: 'macroscopic',
  description: "DeepCas (Li et al. 2017): random walks on the observed cascade graph, a bidirectional GRU per walk and attention over steps and walks, regressing log2 of the size increment.",
  hyperparameters: deepcasHyperparameters,

  async train(data, hp, context) {
    const model = await fitDeepcas(data, hp, context);
    context.logger.info(`deepcas: weights ${model.params.weights.map((v) => v.toFixed(3)).join(', ')}, bias ${model.params.bias.toFixed(3)}`);
    return model;
  },

  async load(dir: string) {
    return DeepcasModel.load(dir);
  },
};
