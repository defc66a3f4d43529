import { GraphFunction, graphFunctionsEnabled, initBackend, tf } from './index.js';
import { parityBackends, randn } from './testing.test-util.js';

const backends = await parityBackends();
const haveTensorflow = backends.others.includes('tensorflow');
const onTensorflow = haveTensorflow ? it : it.skip;

/** A function using many kinds of op: matmul, softmax, gather and its gradient, split, int32 and bool ops. */
function mixed([x, w, ids]: tf.Tensor[]): tf.Tensor[] {
  return tf.tidy(() => {
    const h = tf.softmax(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D));
    const rows = tf.gather(h, ids);
    const [left, right] = tf.split(rows, 2, 1);
    const counts = tf.sum(tf.cast(tf.greater(ids, tf.scalar(1, 'int32')), 'int32'));
    const g = tf.grad((m: tf.Tensor) => tf.sum(tf.square(tf.gather(tf.matMul(x as tf.Tensor2D, m as tf.Tensor2D), ids))))(w);
    return [tf.mul(tf.add(left, right), 0.5), counts, g, tf.concat([x, x], 0)];
  });
}

function inputs(seed: number, rows = 4): tf.Tensor[] {
  return [tf.tensor2d(randn(rows * 3, `x${seed}`), [rows, 3]), tf.tensor2d(randn(3 * 4, `w${seed}`), [3, 4]), tf.tensor1d([0, 2, 3, 2, 1].map((i) => i % rows), 'int32')];
}

function values(ts: tf.Tensor[]): number[][] {
  return ts.map((t) => Array.from(t.dataSync()));
}

function expectClose(a: number[][], b: number[][]): void {
  expect(a.length).toBe(b.length);
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i].length);
    row.forEach((v, j) => expect(Math.abs(v - b[i][j])).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(b[i][j])));
  });
}

function disposeAll(ts: tf.Tensor[]): void {
  for (const t of ts) t.dispose();
}

/** Calls `f` on fresh inputs of `rows` rows and expects what `mixed` gives eagerly (values, dtypes, shapes). */
function expectCallMatchesEager(f: GraphFunction, seed: number, rows = 4): void {
  const xs = inputs(seed, rows);
  const reference = mixed(xs);
  const got = f.call(xs);
  expectClose(values(got), values(reference));
  expect(got.map((t) => t.dtype)).toEqual(reference.map((t) => t.dtype));
  expect(got.map((t) => t.shape)).toEqual(reference.map((t) => t.shape));
  disposeAll([...xs, ...reference, ...got]);
}

describe('GraphFunction', () => {
  afterEach(async () => {
    delete process.env.CASCADE_GRAPH_FUNCTIONS;
    await initBackend('cpu');
  });

  onTensorflow('compiles on the first call and then gives the eager results for new input values', async () => {
    await initBackend('tensorflow');
    expect(graphFunctionsEnabled()).toBe(true);
    const f = new GraphFunction(mixed, { name: 'mixed' });
    for (const seed of [1, 2, 3]) expectCallMatchesEager(f, seed);
    expect(f.stats).toMatchObject({ compiled: 1, loaded: 1, graphCalls: 2, eagerCalls: 1 });
    // One call eagerly on request: no graph run, nothing compiled.
    const xs = inputs(4);
    disposeAll(f.call(xs, '', { eager: true }));
    disposeAll(xs);
    expect(f.stats).toMatchObject({ compiled: 1, graphCalls: 2, eagerCalls: 2 });
    f.dispose();
  });

  onTensorflow('compiles once per input signature and per key', async () => {
    await initBackend('tensorflow');
    const f = new GraphFunction(mixed, { name: 'mixed' });
    for (const rows of [4, 6, 4, 6]) expectCallMatchesEager(f, rows, rows);
    expect(f.stats).toMatchObject({ compiled: 2, graphCalls: 2 });
    const xs = inputs(9);
    disposeAll(f.call(xs, 'other'));
    disposeAll(xs);
    expect(f.stats.compiled).toBe(3);
    f.dispose();
  });

  onTensorflow('a dynamic dimension: one graph serves every size along it, with the eager results', async () => {
    await initBackend('tensorflow');
    // Rows of x vary; every size-dependent op uses -1 or reduces along the rows.
    const body = ([x, w, weights]: tf.Tensor[]) => {
      const pairs = tf.reshape(tf.matMul(x, w), [-1, 2, 2]);
      const p = tf.softmax(pairs);
      return [tf.reshape(tf.matMul(p, pairs, true, false), [-1, 4]), tf.sum(tf.mul(tf.reshape(p, [-1, 4]), weights), 0), tf.matMul(x, tf.reshape(p, [-1, 4]), true, false)];
    };
    const f = new GraphFunction(body, { name: 'rows' });
    for (const rows of [3, 1, 7, 3, 12]) {
      const xs = [tf.tensor2d(randn(rows * 5, `x${rows}`), [rows, 5]), tf.tensor2d(randn(5 * 4, 'w'), [5, 4]), tf.tensor2d(randn(rows * 4, `v${rows}`), [rows, 4])];
      const reference = tf.tidy(() => body(xs));
      const got = f.call(xs, '', { dynamic: [0, null, 0] });
      expect(got.map((t) => t.shape)).toEqual(reference.map((t) => t.shape));
      expectClose(values(got), values(reference));
      disposeAll([...xs, ...reference, ...got]);
    }
    expect(f.stats).toMatchObject({ compiled: 1, graphCalls: 4, eagerCalls: 1 });
    f.dispose();
  });

  onTensorflow('a dynamic dimension the function bakes in (a slice size) gives other numbers at other sizes: what testing at several sizes catches', async () => {
    await initBackend('tensorflow');
    const f = new GraphFunction(([x]) => [tf.slice(x, [0, 0], [x.shape[0]! - 1, 2])], { name: 'baked' });
    const traced = tf.tensor2d(randn(8, 'a'), [4, 2]);
    disposeAll(f.call([traced], '', { dynamic: [0] }));
    const other = tf.tensor2d(randn(12, 'b'), [6, 2]);
    const [out] = f.call([other], '', { dynamic: [0] });
    expect(out.shape).toEqual([3, 2]); // the traced size's 3 rows, not 5
    disposeAll([traced, other, out]);
    f.dispose();
  });

  onTensorflow('unloads the least recently used graph beyond maxGraphs and stays correct', async () => {
    await initBackend('tensorflow');
    const f = new GraphFunction(mixed, { name: 'mixed', maxGraphs: 1 });
    for (const rows of [4, 6, 4]) expectCallMatchesEager(f, rows, rows);
    expect(f.stats).toMatchObject({ compiled: 3, loaded: 1 });
    f.dispose();
    expect(f.stats.loaded).toBe(0);
  });

  onTensorflow('leaves no tensors behind over repeated calls', async () => {
    await initBackend('tensorflow');
    const f = new GraphFunction(mixed, { name: 'mixed' });
    const xs = inputs(1);
    disposeAll(f.call(xs));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) disposeAll(f.call(xs));
    expect(tf.memory().numTensors).toBe(before);
    disposeAll(xs);
    f.dispose();
  });

  onTensorflow('a scalar passed as an input changes the result; a number operand is a constant', async () => {
    await initBackend('tensorflow');
    const f = new GraphFunction(([x, rate]) => [tf.mul(tf.mul(x, rate), 2)], { name: 'scale' });
    const x = tf.tensor1d([1, 2, 3]);
    for (const r of [1, 0.5, 3]) {
      const rate = tf.scalar(r);
      const [out] = f.call([x, rate]);
      expect(Array.from(out.dataSync())).toEqual([2 * r, 4 * r, 6 * r]);
      disposeAll([rate, out]);
    }
    x.dispose();
    f.dispose();
  });

  onTensorflow('refuses a tensor made before the call that is not an input, and reading values inside', async () => {
    await initBackend('tensorflow');
    const outside = tf.tensor1d([1, 2, 3]);
    const captured = new GraphFunction(([x]) => [tf.add(x, outside)], { name: 'captures' });
    const x = tf.tensor1d([1, 1, 1]);
    expect(() => captured.call([x])).toThrow(/graph function captures: .*made before the call is used inside it; pass it in as an input, or set captureExternal/);
    const reads = new GraphFunction(([v]) => [tf.mul(v, v.dataSync()[0])], { name: 'reads' });
    expect(() => reads.call([x])).toThrow(/graph function reads: the function reads a tensor's values/);
    // A failed trace leaves the backend usable and records nothing.
    expect(Array.from(tf.add(x, outside).dataSync())).toEqual([2, 3, 4]);
    expect(captured.stats.compiled).toBe(0);
    disposeAll([outside, x]);
  });

  onTensorflow('captureExternal feeds a variable\'s current value and retraces when a captured tensor is gone', async () => {
    await initBackend('tensorflow');
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, 'graph-function-test/w');
    let offset = tf.tensor1d([10, 10, 10]);
    const f = new GraphFunction(([x]) => [tf.add(tf.mul(x, w), offset)], { name: 'captures', captureExternal: true });
    const x = tf.tensor1d([1, 1, 2]);
    const run = () => {
      const [out] = f.call([x]);
      const v = Array.from(out.dataSync());
      out.dispose();
      return v;
    };
    expect(run()).toEqual([11, 12, 16]);
    w.assign(tf.tensor1d([0, 5, 1]));
    expect(run()).toEqual([10, 15, 12]);
    expect(f.stats).toMatchObject({ compiled: 1, graphCalls: 1 });
    offset.dispose();
    offset = tf.tensor1d([-1, -1, -1]);
    expect(run()).toEqual([-1, 4, 1]);
    expect(f.stats.compiled).toBe(2);
    disposeAll([w, offset, x]);
    f.dispose();
  });

  onTensorflow('runs eagerly when CASCADE_GRAPH_FUNCTIONS=off', async () => {
    await initBackend('tensorflow');
    process.env.CASCADE_GRAPH_FUNCTIONS = 'off';
    expect(graphFunctionsEnabled()).toBe(false);
    const f = new GraphFunction(mixed, { name: 'mixed' });
    const xs = inputs(1);
    disposeAll(f.call(xs));
    disposeAll(f.call(xs));
    expect(f.stats).toMatchObject({ compiled: 0, eagerCalls: 2, graphCalls: 0 });
    disposeAll(xs);
  });

  it('runs eagerly on wasm with the same results', async () => {
    await initBackend('wasm');
    expect(graphFunctionsEnabled()).toBe(false);
    const f = new GraphFunction(mixed, { name: 'mixed' });
    expectCallMatchesEager(f, 2);
    expect(f.stats).toMatchObject({ compiled: 0, eagerCalls: 1 });
  });
});
