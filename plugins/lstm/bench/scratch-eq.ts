import { initBackend, lstmSequence, tf } from '@cascade-lab/tensor-ops';
await initBackend('tensorflow');
for (const [B, L, E, H] of [[3, 5, 4, 2], [32, 40, 64, 64], [2, 1, 3, 4]]) {
  const x = tf.randomNormal([B, L, E], 0, 1, 'float32', 1);
  const k = tf.randomNormal([E, 4 * H], 0, 0.3, 'float32', 2);
  const u = tf.randomNormal([H, 4 * H], 0, 0.3, 'float32', 3);
  const b = tf.randomNormal([4 * H], 0, 0.3, 'float32', 4);
  const r = tf.randomNormal([B, L, H], 0, 1, 'float32', 5);
  const res = (['fused', 'fusedBlockGrad', 'ops'] as const).map((impl) => {
    const f = (xx: tf.Tensor, kk: tf.Tensor, uu: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(lstmSequence(xx as tf.Tensor3D, { kernel: kk, recurrentKernel: uu, bias: bb }, { implementation: impl }), r));
    const g = tf.grads(f)([x, k, u, b]);
    return g.map((t) => Array.from(t.dataSync()));
  });
  const names = ['dx', 'dk', 'du', 'db'];
  for (let j = 0; j < 4; j++) {
    let m1 = 0, m2 = 0, s = 0;
    res[0][j].forEach((v, i) => { m1 = Math.max(m1, Math.abs(v - res[1][j][i])); m2 = Math.max(m2, Math.abs(v - res[2][j][i])); s = Math.max(s, Math.abs(v)); });
    console.log(`${B}x${L} ${names[j]}: max |cells - block| ${m1.toExponential(2)}, |cells - ops| ${m2.toExponential(2)}, max |g| ${s.toFixed(3)}`);
  }
}
