/**
 * Test helpers: finite-difference gradient checks, runs across backends, leak checks.
 *
 * Gradient-check tolerance. tfjs computes in float32, so the check compares the autodiff gradient
 * of L(x) = sum_i R_i f_i(x) (R a fixed standard-normal cotangent) with the central difference
 * g_fd = (L(x + h e_k) - L(x - h e_k)) / 2h, forming both sums in float64 from the float32 outputs.
 * - Rounding: each output has relative error <= c * 6e-8 for an op chain of length c <= 20, i.e.
 *   <= 1.2e-6 |f_i|; with unit-scale f_i, R_i and <= 100 outputs whose errors are independent the
 *   error of L is <= 10 * 1.2e-6, and of g_fd (two evaluations, divided by 2h) <= 1.2e-3 with
 *   h = 1e-2. That bound is pessimistic: both evaluations round alike, and the largest error
 *   observed on these blocks is 3e-5.
 * - Truncation: h^2 |L'''| / 6, about 1.7e-5 |L'''|.
 * Default acceptance: |g - g_fd| <= 5e-4 + 5e-3 |g_fd|, about 15x the largest error observed and
 * below the pessimistic bound. A gradient off by 1% of a |g| >= 0.1, or missing a term, fails: see
 * testing.test.ts, which feeds the checker such gradients. Steeper functions state their own numbers.
 */
import { Rng } from '@cascade-lab/core';
import { tf, initBackend, type BackendName } from './index.js';

export interface GradCheckOptions {
  /** Finite-difference step (default 1e-2). */
  h?: number;
  atol?: number;
  rtol?: number;
  /** Check at most this many coordinates per input (spread evenly; default all up to 64). */
  maxCoordinates?: number;
  seed?: number;
}

export interface GradCheckFailure {
  input: number;
  index: number;
  analytic: number;
  numeric: number;
}

function toArray(t: tf.Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

/**
 * Compares tf's gradients of sum(R * f(inputs)) with central differences; returns the failing
 * coordinates (empty when every checked coordinate is within tolerance).
 */
export function gradientCheck(f: (...inputs: tf.Tensor[]) => tf.Tensor, inputValues: { values: number[]; shape: number[] }[], options: GradCheckOptions = {}): { failures: GradCheckFailure[]; checked: number; worst: number } {
  const h = options.h ?? 1e-2;
  const atol = options.atol ?? 5e-4;
  const rtol = options.rtol ?? 5e-3;
  const maxCoordinates = options.maxCoordinates ?? 64;
  const rng = Rng.fromSeed(options.seed ?? 7);
  const makeInputs = (values: number[][]) => values.map((v, i) => tf.tensor(v, inputValues[i].shape, 'float32'));
  const base = inputValues.map((x) => [...x.values]);
  const probe = tf.tidy(() => f(...makeInputs(base)));
  const outShape = probe.shape;
  probe.dispose();
  const cotangent = Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  const lossAt = (values: number[][]): number =>
    tf.tidy(() => {
      const out = toArray(f(...makeInputs(values)));
      let s = 0;
      for (let i = 0; i < out.length; i++) s += cotangent[i] * out[i];
      return s;
    });
  const analytic = tf.tidy(() => {
    const inputs = makeInputs(base);
    const r = tf.tensor(cotangent, outShape);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)) as tf.Scalar)(inputs);
    return grads.map(toArray);
  });
  const failures: GradCheckFailure[] = [];
  let checked = 0;
  let worst = 0;
  for (let k = 0; k < base.length; k++) {
    const n = base[k].length;
    const stride = Math.max(1, Math.floor(n / maxCoordinates));
    for (let idx = 0; idx < n; idx += stride) {
      const plus = base.map((v) => [...v]);
      const minus = base.map((v) => [...v]);
      plus[k][idx] += h;
      minus[k][idx] -= h;
      const numeric = (lossAt(plus) - lossAt(minus)) / (2 * h);
      const a = analytic[k][idx];
      const excess = Math.abs(a - numeric) / (atol + rtol * Math.abs(numeric));
      worst = Math.max(worst, excess);
      checked++;
      if (!(excess <= 1)) failures.push({ input: k, index: idx, analytic: a, numeric });
    }
  }
  if (process.env.CASCADE_GRADCHECK_REPORT) process.stdout.write(`gradientCheck: ${checked} coordinates, worst |g - g_fd| / tolerance = ${worst.toFixed(3)}\n`);
  return { failures, checked, worst };
}

/** Normal(0, scale^2) numbers from a seeded stream. */
export function randn(n: number, seed: number | string, scale = 1): number[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: n }, () => rng.normal(0, scale));
}

/** Uniform [low, high) numbers from a seeded stream. */
export function randu(n: number, seed: number | string, low: number, high: number): number[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: n }, () => rng.uniform(low, high));
}

export interface ParityBackends {
  /** Backends to compare against cpu: always wasm, plus tensorflow when tfjs-node is installed. */
  others: BackendName[];
  /** Why tensorflow is not compared (only ever "not installed"). */
  tensorflowSkipped?: string;
}

/**
 * Which backends the parity tests compare. tensorflow is left out only when neither tfjs-node
 * package is installed (the reason is printed); an installed but broken tfjs-node fails here.
 */
export async function parityBackends(): Promise<ParityBackends> {
  await initBackend('wasm');
  try {
    await initBackend('tensorflow');
    await initBackend('cpu');
    return { others: ['wasm', 'tensorflow'] };
  } catch (e) {
    await initBackend('cpu');
    const sel = (e as { message?: string }).message ?? String(e);
    if (/@tensorflow\/tfjs-node-gpu: not installed; @tensorflow\/tfjs-node: not installed/.test(sel)) {
      const why = 'tensorflow parity skipped: @tensorflow/tfjs-node is not installed (run tools/native-backend/setup.sh)';
      process.stdout.write(why + '\n');
      return { others: ['wasm'], tensorflowSkipped: why };
    }
    throw e;
  }
}

/**
 * Runs `compute` on `backend` inside tf.tidy and returns the named outputs as float64 arrays
 * (inputs must be created inside `compute`, from plain numbers). Checks that no tensor leaks.
 */
export async function runOn(backend: BackendName, compute: () => Record<string, tf.Tensor>): Promise<Record<string, Float64Array>> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const outputs = tf.tidy(compute) as Record<string, tf.Tensor>;
  const values: Record<string, Float64Array> = {};
  for (const [k, t] of Object.entries(outputs)) {
    values[k] = Float64Array.from(await t.data());
    t.dispose();
  }
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`${backend}: ${after - before} tensors leaked`);
  await tf.setBackend('cpu');
  return values;
}

/** Largest |a - b| / (atol + rtol |b|) over all entries of all keys (<= 1 means agreement). */
export function closeness(a: Record<string, Float64Array>, b: Record<string, Float64Array>, atol: number, rtol: number): { worst: number; where: string } {
  let worst = 0;
  let where = '';
  for (const k of Object.keys(b)) {
    if (!a[k] || a[k].length !== b[k].length) return { worst: Infinity, where: `${k}: length ${a[k]?.length} vs ${b[k].length}` };
    for (let i = 0; i < b[k].length; i++) {
      const e = Math.abs(a[k][i] - b[k][i]) / (atol + rtol * Math.abs(b[k][i]));
      if (!(e <= worst)) {
        worst = Number.isNaN(e) ? Infinity : e;
        where = `${k}[${i}]: ${a[k][i]} vs ${b[k][i]}`;
      }
    }
  }
  return { worst, where };
}

/**
 * Runs `compute` on cpu and on every other backend in `backends` and expects agreement within
 * atol + rtol |cpu| entrywise (the caller states why those numbers). Returns the worst ratio per
 * backend (<= 1 means agreement).
 */
export async function expectParity(backends: ParityBackends, compute: () => Record<string, tf.Tensor>, atol: number, rtol: number): Promise<Record<string, number>> {
  const reference = await runOn('cpu', compute);
  const worst: Record<string, number> = {};
  for (const b of backends.others) {
    const got = await runOn(b, compute);
    const c = closeness(got, reference, atol, rtol);
    worst[b] = c.worst;
    if (process.env.CASCADE_GRADCHECK_REPORT) process.stdout.write(`parity ${b}: worst / tolerance = ${c.worst.toFixed(3)} at ${c.where}\n`);
    if (!(c.worst <= 1)) throw new Error(`${b} differs from cpu beyond atol ${atol} + rtol ${rtol}: ${c.where}`);
  }
  return worst;
}
