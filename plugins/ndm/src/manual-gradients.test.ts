import { Rng } from '@cascade-lab/core';
import { attentionBlocks, blockedDropoutFlags, dropoutMultiplier, infectedEntries, manualLossAndGradients } from './manual-gradients.js';
import { UniformStream } from './uniform-stream.js';
import { batchOf, infectedUserMask, MASKED_LOGIT, NdmNetwork, nextUserTargets, type SequenceBatch } from './model.js';
import { smallHyperparameters, smallModel, useBackend } from './testing.test-util.js';
import { tf, type Tensor } from './tf.js';
import { tapeLossAndGradients } from './trainer.js';
import type { NdmHyperparameters } from './hyperparameters.js';
import { architectureOf, initialWeights } from './weights.js';

beforeAll(() => useBackend('cpu'));

const U = 12;
// Two chunks of different lengths, with padding, a repeated user (a target weighted out) and a length-1 row.
const chunks: SequenceBatch[] = [
  batchOf([
    [2, 5, 7, 3, 9],
    [4, 6],
    [8, 2, 8, 10],
    [11],
  ]),
  batchOf([
    [3, 4, 5, 6, 7, 8, 9, 10],
    [9, 2, 3],
  ]),
];

function gradients(overrides: Partial<NdmHyperparameters>, method: 'manual' | 'tape', lookup?: 'gather' | 'one-hot', learnEnd = true, maxAttentionBlockCells?: number) {
  const arch = architectureOf(smallHyperparameters(overrides), U);
  // NDM+SN's frozen half: any fixed vectors will do.
  const frozen = arch.frozenDimensions > 0 ? Float32Array.from({ length: U * arch.frozenDimensions }, (_, i) => Math.sin(i)) : undefined;
  const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(4), frozen));
  const targets = chunks.map((c) => nextUserTargets(c, learnEnd));
  const total = targets.reduce((s, t) => s + t.count, 0);
  const rng = Rng.fromSeed(9);
  const r = method === 'manual' ? manualLossAndGradients(net, chunks, targets, total, rng, { embeddingLookup: lookup, maxAttentionBlockCells }) : tapeLossAndGradients(net, chunks, targets, total, rng);
  const out: Record<string, Float32Array> = {};
  // Variable names carry a per-network prefix: key by the weight name after the slash.
  for (const [name, g] of Object.entries(r.grads)) out[name.split('/')[1]] = g.dataSync() as Float32Array;
  for (const g of Object.values(r.grads)) g.dispose();
  net.dispose();
  return { lossSum: r.lossSum, grads: out, after: rng.seedInt() };
}

function expectClose(a: Record<string, Float32Array>, b: Record<string, Float32Array>, tolerance = 2e-4) {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const name of Object.keys(a)) {
    const scale = Math.max(...Array.from(b[name], Math.abs), 1e-3);
    let worst = 0;
    for (let i = 0; i < a[name].length; i++) worst = Math.max(worst, Math.abs(a[name][i] - b[name][i]));
    expect({ name, error: worst / scale < tolerance }).toEqual({ name, error: true });
  }
}

describe('hand-written NDM gradient', () => {
  const settings: [string, Partial<NdmHyperparameters>][] = [
    ['paper defaults (dropout 0.1, standard layer norm, scaled scores, window bias)', {}],
    ['authors\' layer norm, no dropout', { layerNorm: 'ndm-code', dropout: 0 }],
    ['authors\' layer norm with dropout', { layerNorm: 'ndm-code', dropout: 0.3 }],
    ['window 1, no bias, unscaled scores', { window: 1, windowBias: false, scaleScores: false }],
    ['window 5 (longer than some rows), 3 heads', { window: 5, heads: 3 }],
    ['NDM+SN: half of each embedding frozen', { socialEmbedding: true }],
  ];
  it.each(settings)('equals the tape gradient: %s', (_, overrides) => {
    const tape = gradients(overrides, 'tape');
    const manual = gradients(overrides, 'manual');
    expect(Math.abs(manual.lossSum - tape.lossSum) / tape.lossSum).toBeLessThan(1e-5);
    expectClose(manual.grads, tape.grads);
    // Same dropout seeds consumed: the rng is in the same state afterwards.
    expect(manual.after).toBe(tape.after);
  });

  it('gives the same result with a gather or a one-hot embedding lookup, and with </s> weighted out', () => {
    expectClose(gradients({}, 'manual', 'one-hot', false).grads, gradients({}, 'manual', 'gather', false).grads);
    expectClose(gradients({}, 'manual', 'gather', false).grads, gradients({}, 'tape', undefined, false).grads);
  });

  it.each([
    ['whole attention', undefined],
    ['attention in query blocks of one row', 1],
  ])('agrees with central finite differences of its own loss: %s', (_, maxAttentionBlockCells) => {
    const overrides = { dropout: 0 };
    const { arch, weights } = smallModel(U, overrides, 4);
    const targets = chunks.map((c) => nextUserTargets(c, true));
    const total = targets.reduce((s, t) => s + t.count, 0);
    const lossAt = (w: typeof weights) => {
      const net = new NdmNetwork(arch, w);
      const r = manualLossAndGradients(net, chunks, targets, total, Rng.fromSeed(1), { maxAttentionBlockCells });
      const grads: Record<string, Float32Array> = {};
      for (const [name, g] of Object.entries(r.grads)) grads[name.split('/')[1]] = g.dataSync() as Float32Array;
      for (const g of Object.values(r.grads)) g.dispose();
      net.dispose();
      return { loss: r.lossSum / total, grads };
    };
    const base = lossAt(weights);
    const probes: [keyof typeof weights, number][] = [
      ['embedding', 5 * 8 + 3],
      ['query', 17],
      ['key', 40],
      ['value', 3],
      ['output', 21],
      ['outputBias', 2],
      ['normGain', 6],
      ['normBias', 1],
      ['windowProjection', 8 * U + 7],
      ['windowBias', 9],
    ];
    const h = 1e-2;
    for (const [name, index] of probes) {
      const shifted = (delta: number) => {
        const w = { ...weights, [name]: weights[name].slice() };
        w[name][index] += delta;
        return lossAt(w).loss;
      };
      const numeric = (shifted(h) - shifted(-h)) / (2 * h);
      expect({ name, value: base.grads[name][index] }).toEqual({ name, value: expect.closeTo(numeric, 3) });
    }
  });

  it('gives the cpu backend\'s loss and gradients on wasm (every kernel it uses, OneHot and ScatterNd included)', async () => {
    const cpu = gradients({}, 'manual', 'one-hot');
    await useBackend('wasm');
    try {
      const wasm = gradients({}, 'manual', 'one-hot');
      expect(Math.abs(wasm.lossSum - cpu.lossSum) / cpu.lossSum).toBeLessThan(1e-5);
      expectClose(wasm.grads, cpu.grads);
    } finally {
      await useBackend('cpu');
    }
  });

  it.each([undefined, 30])('leaves no tensor behind but the gradients (block cap %s)', (maxAttentionBlockCells) => {
    const { arch, weights } = smallModel(U, {}, 4);
    const net = new NdmNetwork(arch, weights);
    const targets = chunks.map((c) => nextUserTargets(c, true));
    const before = tf.memory().numTensors;
    const r = manualLossAndGradients(net, chunks, targets, 20, Rng.fromSeed(1), { maxAttentionBlockCells });
    expect(tf.memory().numTensors).toBe(before + Object.keys(r.grads).length);
    for (const g of Object.values(r.grads)) (g as Tensor).dispose();
    net.dispose();
  });

  it('cuts a chunk\'s attention into query blocks only above the cap (by hand)', () => {
    // Within the cap (B h L^2 = 2 * 2 * 10^2 = 400): one block, the unblocked path.
    expect(attentionBlocks(2, 10, 2, 400)).toEqual([[0, 10]]);
    // B 1, h 2, L 10, cap 60 (400 > 60): block [0, q) has 2 q^2 cells, the largest q with 2 q^2 <= 60
    // is 5 (50 cells); from 5, 2 q (5 + q) <= 60 gives q = 3 (48); from 8 the 2 left (2 * 2 * 10 = 40).
    expect(attentionBlocks(1, 10, 2, 60)).toEqual([[0, 5], [5, 8], [8, 10]]);
    // A cap below one query row: blocks of one query each.
    expect(attentionBlocks(1, 4, 2, 1)).toEqual([[0, 1], [1, 2], [2, 3], [3, 4]]);
    // Every block within the cap and the blocks tile [0, L), here on the Twitter-sized longest row
    // padded (2,496 positions, 8 heads, cap 2^22).
    const blocks = attentionBlocks(1, 2496, 8, 1 << 22);
    expect(blocks[0][0]).toBe(0);
    expect(blocks[blocks.length - 1][1]).toBe(2496);
    for (let b = 0; b < blocks.length; b++) {
      if (b > 0) expect(blocks[b][0]).toBe(blocks[b - 1][1]);
      expect(8 * (blocks[b][1] - blocks[b][0]) * blocks[b][1]).toBeLessThanOrEqual(1 << 22);
    }
  });

  // Blocked attention sums the softmax over fewer (exactly-zero) terms and the key gradients over
  // blocks, in another order than the whole [L h, L] products: equal to float rounding only.
  it.each([
    ['paper defaults (dropout 0.1)', {}, 30],
    ['dropout 0.3, 3 heads, window 5', { dropout: 0.3, heads: 3, window: 5 }, 50],
    ['query blocks of one row, no dropout', { dropout: 0 }, 1],
  ] as [string, Partial<NdmHyperparameters>, number][])('gives the unblocked loss and gradients with the attention in query blocks: %s', (_, overrides, cap) => {
    const whole = gradients(overrides, 'manual');
    const blocked = gradients(overrides, 'manual', undefined, true, cap);
    expect(Math.abs(blocked.lossSum - whole.lossSum) / whole.lossSum).toBeLessThan(1e-6);
    expectClose(blocked.grads, whole.grads, 1e-5);
    // The same dropout seeds were drawn (the blocks slice the chunk's draws).
    expect(blocked.after).toBe(whole.after);
  });

  it('makes tf.randomUniform\'s stream one draw at a time (UniformStream), bit for bit', () => {
    for (const seed of [0, 1, 77, 123456789, 2147483647, -5]) {
      const expected = tf.tidy(() => tf.randomUniform([2000], 0, 1, 'float32', seed).dataSync());
      const stream = new UniformStream(seed);
      const got = Float32Array.from({ length: 2000 }, () => stream.next());
      expect(Array.from(got)).toEqual(Array.from(expected));
    }
  });

  it('gives each attention block the keep flags of its slice of the chunk\'s padded dropout draws (blockedDropoutFlags)', () => {
    // B 2, h 3, L 7 drawn; padded to 3 rows and length 9; blocks of the padded chunk; rates whose
    // keep probability is not a float32 (0.1, 0.3) and one that is (0.25).
    const [B, h, L, rows, length] = [2, 3, 7, 3, 9];
    const blocks = attentionBlocks(rows, length, h, 100);
    expect(blocks.length).toBeGreaterThan(2);
    for (const [seed, rate] of [[31, 0.1], [32, 0.3], [33, 0.25]]) {
      const full = tf.tidy(() => tf.pad(tf.randomUniform([B, h, L, L], 0, 1, 'float32', seed), [[0, rows - B], [0, 0], [0, length - L], [0, length - L]]));
      const flags = blockedDropoutFlags([B, h, L, L], seed, rate, rows, blocks);
      expect(flags.dtype).toBe('bool');
      const flat = flags.dataSync();
      let at = 0;
      for (const [j0, j1] of blocks) {
        const n = rows * h * (j1 - j0) * j1;
        // The old multiplier, floor(u + keep) / keep, computed by TensorFlow.js on the padded draws.
        const multiplier = tf.tidy(() => tf.div(tf.floor(tf.add(tf.slice(full, [0, 0, j0, 0], [rows, h, j1 - j0, j1]), 1 - rate)), 1 - rate).dataSync());
        const fromFlags = tf.tidy(() => tf.div(tf.cast(tf.tensor1d(flat.subarray(at, at + n), 'bool'), 'float32'), 1 - rate).dataSync());
        expect(Array.from(fromFlags)).toEqual(Array.from(multiplier));
        at += n;
      }
      expect(at).toBe(flat.length);
      full.dispose();
      flags.dispose();
    }
  });

  it('draws dropout multipliers exactly as tf.dropout does', () => {
    const x = tf.ones([3, 50]);
    const viaDropout = tf.dropout(x, 0.25, undefined, 77).dataSync();
    const viaMultiplier = dropoutMultiplier([3, 50], 0.25, 77).dataSync();
    expect(Array.from(viaMultiplier)).toEqual(Array.from(viaDropout));
    expect(new Set(viaMultiplier)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
  });

  it('masks infected users in index form: the dense mask of the tape path, entry for entry', () => {
    for (const c of chunks) {
      const { batchSize: B, maxLength: L } = c;
      const e = infectedEntries(c, U);
      const dense = tf.tidy(() => tf.scatterND(tf.tensor2d(e.indices, [e.values.length, 2], 'int32'), tf.tensor1d(e.values), [B * L, U]).dataSync());
      expect(Array.from(dense)).toEqual(Array.from(infectedUserMask(c, U)));
      // The bound B (L(L+1)/2 + L) is what a chunk shape gets, whatever its users.
      expect(e.values.length).toBe(B * ((L * (L + 1)) / 2 + L));
    }
    // By hand, the first chunk's third row [8, 2, 8, 10] (L 5): rows t = 0..4 mask {pad, 8}, {pad, 8, 2},
    // {pad, 8, 2} (8 again), {pad, 8, 2, 10}, and past the end the same 4: 2 + 3 + 3 + 4 + 4 = 16 pairs.
    const row2 = batchOf([[8, 2, 8, 10]]);
    const e = infectedEntries({ ...row2, maxLength: 5, users: Int32Array.from([8, 2, 8, 10, 0]) }, U);
    expect(e.pairs).toBe(16);
    expect(Array.from(e.values.subarray(0, 16))).toEqual(new Array(16).fill(MASKED_LOGIT));
    expect(Array.from(e.values.subarray(16))).toEqual(new Array(e.values.length - 16).fill(0));
  });
});
