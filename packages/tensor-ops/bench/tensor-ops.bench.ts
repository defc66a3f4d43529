// `npm run bench -- tensor-ops [--backends tensorflow,wasm,cpu] [--seconds 2]`: per backend that
// loads here, a 1024x256 by 256x4096 float32 matmul in GFLOP/s and one forward+backward step of the
// NDM attention layer (batch 32, 50 steps, d 64, 8 heads of 64, key mask + causal mask, dropout
// 0.1) in milliseconds. Each number is the median of the repetitions that fit in --seconds (at
// least 3) after one warm-up run. Prints a table.
import { Rng } from '@cascade-lab/core';
import { initBackend, MultiHeadAttention, NATIVE_SETUP_HINT, tf, type BackendName, type BackendSelection } from '@cascade-lab/tensor-ops';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const backends = arg('backends', 'tensorflow,wasm,cpu').split(',') as BackendName[];
const budgetMs = Number(arg('seconds', '2')) * 1000;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time of `step` (which must finish its work, e.g. by reading a result). */
function timeIt(step: () => void): { ms: number; runs: number } {
  step(); // warm-up: kernel compilation, allocations
  const runs: number[] = [];
  const start = performance.now();
  while (runs.length < 3 || performance.now() - start < budgetMs) {
    const t0 = performance.now();
    step();
    runs.push(performance.now() - t0);
    if (runs.length >= 50) break;
  }
  return { ms: median(runs), runs: runs.length };
}

function matmulGflops(): { gflops: number; runs: number } {
  const rng = Rng.fromSeed('bench-matmul');
  const a = tf.tensor2d(Float32Array.from({ length: 1024 * 256 }, () => rng.normal()), [1024, 256]);
  const b = tf.tensor2d(Float32Array.from({ length: 256 * 4096 }, () => rng.normal()), [256, 4096]);
  const { ms, runs } = timeIt(() => {
    const c = tf.matMul(a, b);
    c.dataSync(); // wait for the result (and copy it out, as a training step reading a loss would not)
    c.dispose();
  });
  a.dispose();
  b.dispose();
  return { gflops: (2 * 1024 * 256 * 4096) / (ms * 1e6), runs };
}

function attentionStepMs(): { ms: number; runs: number } {
  const [batch, time, dModel, heads] = [32, 50, 64, 8];
  const rng = Rng.fromSeed('bench-attention');
  const attention = new MultiHeadAttention({ dModel, heads }, rng.derive('weights'));
  const x = tf.tensor3d(Float32Array.from({ length: batch * time * dModel }, () => rng.normal()), [batch, time, dModel]);
  // Sequences of lengths 10..50, padded at the end.
  const mask = tf.tensor2d(Float32Array.from({ length: batch * time }, (_, i) => (i % time < 10 + ((Math.floor(i / time) * 7) % 41) ? 1 : 0)), [batch, time]);
  const dropoutRng = rng.derive('dropout');
  const { ms, runs } = timeIt(() => {
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(attention.apply(x, { keyMask: mask, dropout: 0.1, training: true, rng: dropoutRng }).output)) as tf.Scalar,
      attention.trainableWeights(),
    );
    value.dataSync();
    value.dispose();
    tf.dispose(grads);
  });
  tf.dispose([x, mask]);
  attention.dispose();
  return { ms, runs };
}

interface Row {
  backend: string;
  device: string;
  matmul: string;
  attention: string;
}

const rows: Row[] = [];
for (const name of backends) {
  let sel: BackendSelection;
  try {
    sel = await initBackend(name);
  } catch (e) {
    const why = (e as Error).message;
    process.stderr.write(`${name}: not benchmarked: ${why}${name === 'tensorflow' ? `\n  hint: ${NATIVE_SETUP_HINT}` : ''}\n`);
    rows.push({ backend: name, device: 'unavailable', matmul: '-', attention: '-' });
    continue;
  }
  const mm = matmulGflops();
  const att = attentionStepMs();
  const pkg = sel.libtensorflowVersion ? `${sel.package} (libtensorflow ${sel.libtensorflowVersion})` : sel.package;
  rows.push({ backend: `${sel.name}: ${pkg}`, device: sel.device, matmul: `${mm.gflops.toFixed(2)} (${mm.runs} runs)`, attention: `${att.ms.toFixed(1)} (${att.runs} runs)` });
}

const header: Row = { backend: 'backend', device: 'device', matmul: 'matmul 1024x256x4096 GFLOP/s', attention: 'attention fwd+bwd ms' };
const all = [header, ...rows];
const keys = Object.keys(header) as (keyof Row)[];
const width = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
console.log(`\ntensor-ops on ${process.platform}-${process.arch}, Node ${process.version}; attention step: batch 32 x 50 steps, d 64, 8 heads x 64, masks, dropout 0.1`);
for (const [i, r] of all.entries()) {
  console.log(keys.map((k, j) => (j < 2 ? r[k].padEnd(width[j]) : r[k].padStart(width[j]))).join('  '));
  if (i === 0) console.log(width.map((w) => '-'.repeat(w)).join('  '));
}
