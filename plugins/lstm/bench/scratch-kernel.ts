import { Rng } from '@cascade-lab/core';
import { GraphFunction, initBackend, lstmSequence, tf } from '@cascade-lab/tensor-ops';
await initBackend('tensorflow');
const Ls = [40,56,28,64,48,28,80,28,64,28,128,40,56,112,16,16,32,160,112,64,32,24,24,48,40,40,24,28,28,80,32,48,160,56,40,128,28,48,40,56];
const B = 32, E = 64, H = 64;
const rng = Rng.fromSeed(1);
const k = tf.variable(tf.randomNormal([E, 4 * H], 0, 0.1, 'float32', 1));
const u = tf.variable(tf.randomNormal([H, 4 * H], 0, 0.1, 'float32', 2));
const b = tf.variable(tf.zeros([4 * H]));
const impls = (process.argv[2] ?? 'fused,ops').split(',');
for (const impl of impls) {
  for (const mode of ['fwd', 'fwd+bwd']) {
    const g = new GraphFunction(([x]) => {
      const f = () => tf.sum(tf.square(lstmSequence(x as tf.Tensor3D, { kernel: k, recurrentKernel: u, bias: b }, { implementation: impl as 'fused' | 'fusedBlockGrad' | 'ops' }))) as tf.Scalar;
      if (mode === 'fwd') return [f()];
      const { value, grads } = tf.variableGrads(f, [k, u, b]);
      return [value, grads[k.name], grads[u.name], grads[b.name]];
    }, { name: impl + mode, captureExternal: true });
    const xs = Ls.map((L, i) => tf.randomNormal([B, L, E], 0, 1, 'float32', i));
    const pass = () => { for (const x of xs) { const o = g.call([x]); for (const t of o) t.dataSync(); tf.dispose(o); } };
    let t0 = performance.now(); pass(); const trace = performance.now() - t0;
    t0 = performance.now(); pass(); const first = performance.now() - t0;
    let best = 1e9, bestCpu = 1e9;
    for (let r = 0; r < 3; r++) { const c = process.cpuUsage(); t0 = performance.now(); pass(); best = Math.min(best, performance.now() - t0); const d = process.cpuUsage(c); bestCpu = Math.min(bestCpu, (d.user + d.system) / 1000); }
    console.log(`${impl} ${mode}: ${(best / 1000).toFixed(3)} s (cpu ${(bestCpu / 1000).toFixed(3)}), ops ${g.stats.lastGraphOps}, trace ${(trace/1000).toFixed(2)} first ${(first/1000).toFixed(2)}`);
    g.dispose(); tf.dispose(xs);
  }
}
