import { GraphFunction, initBackend, lstmSequence, tf } from '@cascade-lab/tensor-ops';
await initBackend('tensorflow');
const E = 64, H = 64, L = 64;
const k = tf.variable(tf.randomNormal([E, 4 * H], 0, 0.1, 'float32', 1));
const u = tf.variable(tf.randomNormal([H, 4 * H], 0, 0.1, 'float32', 2));
const b = tf.variable(tf.zeros([4 * H]));
for (const B of [1, 4, 8, 16, 24, 32]) {
  for (const mode of ['fwd', 'fwd+bwd']) {
    const g = new GraphFunction(([x]) => {
      const f = () => tf.sum(tf.square(lstmSequence(x as tf.Tensor3D, { kernel: k, recurrentKernel: u, bias: b }))) as tf.Scalar;
      if (mode === 'fwd') return [f()];
      const { value, grads } = tf.variableGrads(f, [k, u, b]);
      return [value, grads[k.name], grads[u.name], grads[b.name]];
    }, { name: mode, captureExternal: true });
    const x = tf.randomNormal([B, L, E], 0, 1, 'float32', 3);
    const pass = () => { for (let i = 0; i < 20; i++) { const o = g.call([x]); for (const t of o) t.dataSync(); tf.dispose(o); } };
    pass(); pass();
    let best = 1e9;
    for (let r = 0; r < 5; r++) { const t0 = performance.now(); pass(); best = Math.min(best, performance.now() - t0); }
    console.log(`B=${B} ${mode}: ${(best / 20 / L * 1000).toFixed(1)} us/step`);
    g.dispose(); x.dispose();
  }
}
