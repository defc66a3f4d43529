import { Rng } from '@cascade-lab/core';
import { gruStep, initBackend, tf } from '@cascade-lab/tensor-ops';
import { DeepCasNetwork, geometricWalkWeights, gruSequence, sizeBucket, sizeGeometricWalkWeights, type DeepCasArchitecture } from './model.js';

const arch: DeepCasArchitecture = { vocabularySize: 9, embeddingDim: 4, gruUnits: 3, dense1: 5, dense2: 4, walksPerGraph: 4, walkLength: 3, blockSize: 2, sizeBuckets: 4 };

/** Seeded walks [G, K, T] over the vocabulary. */
function randomWalks(g: number, rng: Rng): tf.Tensor3D {
  return tf.tensor3d(Int32Array.from({ length: g * arch.walksPerGraph * arch.walkLength }, () => rng.int(arch.vocabularySize)), [g, arch.walksPerGraph, arch.walkLength], 'int32');
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe('DeepCas network (§4)', () => {
  it('size buckets are floor(log2 n), capped at the last bucket (hand-computed)', () => {
    expect([1, 2, 3, 4, 7, 8, 1000].map((n) => sizeBucket(n, 4))).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });

  it('geometric prior: block j weighs p (1 - p)^j, the same for each walk of a block (hand-computed)', () => {
    // logit 0: p = 1/2, blocks of 2 walks: 1/2, 1/2, 1/4, 1/4, 1/8, 1/8.
    // logit ln 3: p = 3/4: 3/4, 3/16, 3/64 per block.
    const w = tf.tidy(() => geometricWalkWeights(tf.tensor1d([0, Math.log(3)]), 6, 2).arraySync());
    const expected = [
      [0.5, 0.5, 0.25, 0.25, 0.125, 0.125],
      [0.75, 0.75, 3 / 16, 3 / 16, 3 / 64, 3 / 64],
    ];
    w.forEach((row, i) => row.forEach((v, k) => expect(v).toBeCloseTo(expected[i][k], 6)));
  });

  it('geometric prior gradient: tape equals the closed form of d/dx sum_k c_k p(1-p)^j', () => {
    // float64 closed form: d/dx [s (1 - s)^j] = s (1 - s)^j (1 - (j + 1) s) for s = sigmoid(x).
    const c = [0.3, -1.2, 0.7, 2.0, -0.4, 1.1];
    const x = 0.4;
    const grad = tf.tidy(() => tf.grad((l: tf.Tensor) => tf.sum(tf.mul(geometricWalkWeights(l as tf.Tensor1D, 6, 2), tf.tensor2d([c]))))(tf.tensor1d([x])).dataSync()[0]);
    const s = 1 / (1 + Math.exp(-x));
    let expected = 0;
    for (let k = 0; k < 6; k++) {
      const j = Math.floor(k / 2);
      expected += c[k] * s * (1 - s) ** j * (1 - (j + 1) * s);
    }
    expect(grad).toBeCloseTo(expected, 5);
  });

  it('size prior: p = sigmoid(a)^(1 + bucket), block j weighing p (1 - p)^j (hand-computed)', () => {
    // a = 0: sigmoid 1/2. Bucket 0: p = 1/2 -> 1/2, 1/4, 1/8 per block of 2 walks.
    // Bucket 1: p = 1/4 -> 1/4, 3/16, 9/64. Bucket 2: p = 1/8 -> 1/8, 7/64, 49/512.
    const w = tf.tidy(() => sizeGeometricWalkWeights(tf.tensor1d([0]), tf.tensor1d([0, 1, 2], 'int32'), 6, 2).arraySync());
    const expected = [
      [1 / 2, 1 / 2, 1 / 4, 1 / 4, 1 / 8, 1 / 8],
      [1 / 4, 1 / 4, 3 / 16, 3 / 16, 9 / 64, 9 / 64],
      [1 / 8, 1 / 8, 7 / 64, 7 / 64, 49 / 512, 49 / 512],
    ];
    w.forEach((row, i) => row.forEach((v, k) => expect(v).toBeCloseTo(expected[i][k], 6)));
  });

  it('size prior gradient: tape equals the closed form of d/da sum_k c_k p(1-p)^j, p = sigmoid(a)^n', () => {
    // float64 closed form: dp/da = n p (1 - s) for s = sigmoid(a); d/dp [p (1 - p)^j] = (1 - p)^j - j p (1 - p)^(j - 1).
    const c = [0.3, -1.2, 0.7, 2.0, -0.4, 1.1];
    const a = 0.4;
    const bucket = 2;
    const grad = tf.tidy(() => tf.grad((l: tf.Tensor) => tf.sum(tf.mul(sizeGeometricWalkWeights(l as tf.Tensor1D, tf.tensor1d([bucket], 'int32'), 6, 2), tf.tensor2d([c]))))(tf.tensor1d([a])).dataSync()[0]);
    const s = 1 / (1 + Math.exp(-a));
    const n = bucket + 1;
    const p = s ** n;
    const dp = n * p * (1 - s);
    let expected = 0;
    for (let k = 0; k < 6; k++) {
      const j = Math.floor(k / 2);
      expected += c[k] * ((1 - p) ** j - (j > 0 ? j * p * (1 - p) ** (j - 1) : 0)) * dp;
    }
    expect(grad).toBeCloseTo(expected, 5);
  });

  it('glorot MLP initialisation: zero hidden biases, the output bias at the given label, Glorot-bounded kernels; one geo logit with the size prior', () => {
    const net = new DeepCasNetwork({ ...arch, walkPrior: 'size' }, Rng.fromSeed(11), { mlp: 'glorot', outputBias: 2.5 });
    expect(Array.from(net.b1.dataSync())).toEqual(new Array(arch.dense1).fill(0));
    expect(Array.from(net.b2.dataSync())).toEqual(new Array(arch.dense2).fill(0));
    expect(Array.from(net.bOut.dataSync())).toEqual([2.5]);
    // Glorot-uniform bound sqrt(6 / (fanIn + fanOut)): dense1 2U = 6 -> 5: sqrt(6 / 11).
    const w1 = Array.from(net.w1.dataSync());
    expect(Math.max(...w1.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 11));
    expect(Math.max(...w1.map(Math.abs))).toBeGreaterThan(0.05);
    expect(net.geoLogits.shape).toEqual([1]);
    net.dispose();
  });

  it('gruSequence equals gruStep (tensor-ops) step by step, forwards and backwards', () => {
    const net = new DeepCasNetwork(arch, Rng.fromSeed(1));
    const rng = Rng.fromSeed(2);
    const x = tf.tensor3d(Float32Array.from({ length: 5 * 3 * 4 }, () => rng.normal()), [5, 3, 4]);
    tf.tidy(() => {
      for (const reverse of [false, true]) {
        const cell = reverse ? net.backwardGru : net.forwardGru;
        const got = gruSequence(x, cell, reverse).map((t) => t.arraySync());
        let h = tf.zeros([5, 3]) as tf.Tensor2D;
        const steps = reverse ? [2, 1, 0] : [0, 1, 2];
        for (const t of steps) {
          h = gruStep(tf.reshape(tf.slice(x, [0, t, 0], [5, 1, 4]), [5, 4]) as tf.Tensor2D, h, cell);
          const want = h.arraySync();
          want.forEach((row, i) => row.forEach((v, j) => expect(got[t][i][j]).toBeCloseTo(v, 6)));
        }
      }
    });
    x.dispose();
    net.dispose();
  });

  it.each(['bucket', 'size'] as const)('forward (%s prior): shapes, attention rows summing to 1, and the prediction equal to the equations written out', (walkPrior) => {
    const net = new DeepCasNetwork({ ...arch, walkPrior }, Rng.fromSeed(3), { initStd: 0.5 });
    const walks = randomWalks(2, Rng.fromSeed(4));
    const buckets = tf.tensor1d([0, 3], 'int32');
    tf.tidy(() => {
      const out = net.forward(walks, buckets);
      expect(out.prediction.shape).toEqual([2]);
      expect(out.stepAttention.shape).toEqual([2, 3]);
      expect(out.walkWeights.shape).toEqual([2, 4]);
      out.stepAttention.arraySync().forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6));
      // The same prediction from per-walk gruStep runs, attention in plain JavaScript, and the MLP.
      const emb = net.embedding.arraySync() as number[][];
      const ids = walks.arraySync() as number[][][];
      const stepLogits = net.stepLogits.arraySync() as number[][];
      const geo = net.geoLogits.arraySync() as number[];
      const b = [0, 3];
      const want: number[] = [];
      for (let g = 0; g < 2; g++) {
        const lambda = stepLogits[b[g]].map(Math.exp);
        const z = lambda.reduce((a, v) => a + v, 0);
        const p = walkPrior === 'bucket' ? 1 / (1 + Math.exp(-geo[b[g]])) : (1 / (1 + Math.exp(-geo[0]))) ** (1 + b[g]);
        const vec = new Array(2 * arch.gruUnits).fill(0);
        for (let k = 0; k < arch.walksPerGraph; k++) {
          const a = p * (1 - p) ** Math.floor(k / arch.blockSize);
          const xs = ids[g][k].map((id) => emb[id]);
          const run = (cell: typeof net.forwardGru, order: number[]) => {
            const states: number[][] = [];
            let h = tf.zeros([1, arch.gruUnits]) as tf.Tensor2D;
            for (const t of order) {
              h = gruStep(tf.tensor2d([xs[t]]), h, cell);
              states[t] = (h.arraySync() as number[][])[0];
            }
            return states;
          };
          const f = run(net.forwardGru, [0, 1, 2]);
          const bw = run(net.backwardGru, [2, 1, 0]);
          for (let t = 0; t < arch.walkLength; t++) {
            const wt = (a * lambda[t]) / z;
            [...f[t], ...bw[t]].forEach((v, j) => (vec[j] += wt * v));
          }
        }
        const dense = (input: number[], w: number[][], bias: number[], relu: boolean) =>
          bias.map((bj, j) => {
            const v = input.reduce((acc, xi, i) => acc + xi * w[i][j], bj);
            return relu ? Math.max(0, v) : v;
          });
        const d1 = dense(vec, net.w1.arraySync() as number[][], net.b1.arraySync() as number[], true);
        const d2 = dense(d1, net.w2.arraySync() as number[][], net.b2.arraySync() as number[], true);
        want.push(dense(d2, net.wOut.arraySync() as number[][], net.bOut.arraySync() as number[], false)[0]);
      }
      const got = out.prediction.arraySync();
      got.forEach((v, g) => expect(v).toBeCloseTo(want[g], 5));
    });
    tf.dispose([walks, buckets]);
    net.dispose();
  });

  it('graphSizeInput: the MLP reads [h(G); log2 |V_c|] (the same network without it gives h(G); the MLP written out), and the size row gets its gradient', () => {
    const withSize = new DeepCasNetwork({ ...arch, graphSizeInput: true }, Rng.fromSeed(11), { initStd: 0.5 });
    const plain = new DeepCasNetwork(arch, Rng.fromSeed(12), { initStd: 0.5 });
    // Every weight of `plain` set to withSize's, dense1's kernel without its last (size) row.
    const w = withSize.allWeights();
    for (const [name, v] of Object.entries(plain.allWeights())) v.assign(name === 'dense1/kernel' ? tf.slice(w[name], [0, 0], [2 * arch.gruUnits, arch.dense1]) : w[name]);
    expect(withSize.w1.shape).toEqual([2 * arch.gruUnits + 1, arch.dense1]);
    const walks = randomWalks(2, Rng.fromSeed(13));
    const buckets = tf.tensor1d([1, 3], 'int32');
    const logSizes = tf.tensor1d([Math.log2(3), Math.log2(12)]);
    expect(() => withSize.forward(walks, buckets)).toThrow(/graphSizeInput/);
    tf.tidy(() => {
      const w1 = withSize.w1.arraySync() as number[][];
      const sizes = logSizes.arraySync();
      const got = withSize.forward(walks, buckets, logSizes).prediction.arraySync();
      // plain with the size row's contribution added to dense1's bias, graph by graph.
      for (let g = 0; g < 2; g++) {
        const b1 = (w[`dense1/bias`].arraySync() as number[]).map((b, j) => b + sizes[g] * w1[2 * arch.gruUnits][j]);
        plain.b1.assign(tf.tensor1d(b1));
        const want = plain.forward(walks, buckets).prediction.arraySync()[g];
        expect(got[g]).toBeCloseTo(want, 5);
      }
      // The size moves the prediction.
      const other = withSize.forward(walks, buckets, tf.tensor1d([5, 1])).prediction.arraySync();
      expect(Math.abs(other[0] - got[0]) + Math.abs(other[1] - got[1])).toBeGreaterThan(1e-4);
    });
    // Gradient of the size row of dense1's kernel: tape against central differences.
    const targets = tf.tensor1d([2, 0.5]);
    const weights = tf.tensor1d([1, 1]);
    const loss = () => withSize.loss(walks, buckets, targets, weights, 0, 0, logSizes).mse;
    const { grads } = tf.variableGrads(loss, [withSize.w1]);
    const base = withSize.w1.dataSync().slice() as Float32Array;
    for (let j = 0; j < arch.dense1; j++) {
      const index = 2 * arch.gruUnits * arch.dense1 + j;
      const analytic = grads[withSize.w1.name].dataSync()[index];
      if (analytic === 0) continue; // a unit its relu switched off for both graphs
      const at = (delta: number) => {
        const moved = base.slice();
        moved[index] += delta;
        withSize.w1.assign(tf.tensor(moved, withSize.w1.shape));
        return tf.tidy(() => loss().dataSync()[0]);
      };
      // A small step: at 1e-2 the size (up to 3.6) moves a preactivation across its relu's kink.
      const numeric = (at(1e-3) - at(-1e-3)) / 2e-3;
      withSize.w1.assign(tf.tensor(base, withSize.w1.shape));
      expect(Math.abs(numeric - analytic)).toBeLessThan(2e-3 * Math.max(1, Math.abs(analytic)));
    }
    expect(Array.from(grads[withSize.w1.name].dataSync().slice(2 * arch.gruUnits * arch.dense1)).some((v) => v !== 0)).toBe(true);
    tf.dispose([walks, buckets, logSizes, targets, weights, ...Object.values(grads)]);
    withSize.dispose();
    plain.dispose();
  });

  it('graphSizeSkip: the prediction is the MLP\'s plus a log2 |V_c| (a starts at 0), and d loss / d a is the closed form', () => {
    const skip = new DeepCasNetwork({ ...arch, graphSizeSkip: true }, Rng.fromSeed(21), { initStd: 0.5 });
    const plain = new DeepCasNetwork(arch, Rng.fromSeed(22), { initStd: 0.5 });
    const w = skip.allWeights();
    for (const [name, v] of Object.entries(plain.allWeights())) v.assign(w[name]);
    expect(skip.sizeSlope!.dataSync()[0]).toBe(0);
    skip.sizeSlope!.assign(tf.tensor1d([0.7]));
    const walks = randomWalks(2, Rng.fromSeed(23));
    const buckets = tf.tensor1d([1, 3], 'int32');
    const sizes = [Math.log2(3), Math.log2(12)];
    const logSizes = tf.tensor1d(sizes);
    expect(() => skip.forward(walks, buckets)).toThrow(/graphSizeSkip/);
    const base = tf.tidy(() => plain.forward(walks, buckets).prediction.arraySync());
    const got = tf.tidy(() => skip.forward(walks, buckets, logSizes).prediction.arraySync());
    got.forEach((v, g) => expect(v).toBeCloseTo(base[g] + 0.7 * sizes[g], 5));
    // mse = mean (p - y)^2, so d mse / d a = mean 2 (p - y) s.
    const targets = [2, 0.5];
    const { grads } = tf.variableGrads(() => skip.loss(walks, buckets, tf.tensor1d(targets), tf.tensor1d([1, 1]), 0, 0, logSizes).mse, [skip.sizeSlope!]);
    const want = (2 * (got[0] - targets[0]) * sizes[0] + 2 * (got[1] - targets[1]) * sizes[1]) / 2;
    expect(grads[skip.sizeSlope!.name].dataSync()[0]).toBeCloseTo(want, 4);
    tf.dispose([walks, buckets, logSizes, ...Object.values(grads)]);
    skip.dispose();
    plain.dispose();
  });

  it('loss: weighted mean squared error (padding rows weigh 0) plus l1 |w| + l2 w^2 / 2 (hand-computed from the forward pass)', () => {
    const net = new DeepCasNetwork(arch, Rng.fromSeed(5), { initStd: 0.3 });
    const walks = randomWalks(3, Rng.fromSeed(6));
    const buckets = tf.tensor1d([1, 2, 0], 'int32');
    tf.tidy(() => {
      const pred = net.forward(walks, buckets).prediction.arraySync();
      const targets = [1.5, 0.2, 9];
      const r = net.loss(walks, buckets, tf.tensor1d(targets), tf.tensor1d([1, 1, 0]), 0.01, 0.02);
      const mse = ((pred[0] - 1.5) ** 2 + (pred[1] - 0.2) ** 2) / 2;
      expect(r.mse.dataSync()[0]).toBeCloseTo(mse, 5);
      let l1 = 0;
      let l2 = 0;
      for (const v of net.allTrainableWeights()) for (const x of v.dataSync()) {
        l1 += Math.abs(x);
        l2 += x * x;
      }
      expect(r.objective.dataSync()[0]).toBeCloseTo(mse + 0.01 * l1 + (0.02 * l2) / 2, 3);
    });
    tf.dispose([walks, buckets]);
    net.dispose();
  });

  it('gradients of the whole loss: tape equals central differences on the attention logits and the output bias', () => {
    const net = new DeepCasNetwork(arch, Rng.fromSeed(7), { initStd: 0.5 });
    const walks = randomWalks(2, Rng.fromSeed(8));
    const buckets = tf.tensor1d([1, 2], 'int32');
    const targets = tf.tensor1d([2, 0.5]);
    const weights = tf.tensor1d([1, 1]);
    const loss = () => net.loss(walks, buckets, targets, weights, 0, 0).mse;
    const { grads } = tf.variableGrads(loss, [net.geoLogits, net.stepLogits, net.bOut]);
    const check = (v: tf.Variable, index: number) => {
      const base = v.dataSync().slice() as Float32Array;
      const eps = 1e-2;
      const at = (delta: number) => {
        const moved = base.slice();
        moved[index] += delta;
        v.assign(tf.tensor(moved, v.shape));
        return tf.tidy(() => loss().dataSync()[0]);
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      const analytic = grads[v.name].dataSync()[index];
      expect(Math.abs(numeric - analytic)).toBeLessThan(2e-3 * Math.max(1, Math.abs(analytic)));
      expect(Math.abs(analytic)).toBeGreaterThan(0);
    };
    check(net.geoLogits, 1);
    check(net.geoLogits, 2);
    check(net.stepLogits, 1 * arch.walkLength + 2);
    check(net.bOut, 0);
    tf.dispose([walks, buckets, targets, weights, ...Object.values(grads)]);
    net.dispose();
  });
});
