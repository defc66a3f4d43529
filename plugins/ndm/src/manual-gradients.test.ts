import { Rng } from '@cascade-lab/core';
import { attentionBlocks, dropoutMultiplier, keptPositions, manualLossAndGradients, packChunks } from './manual-gradients.js';
import { attendedKeepFlags, attentionKeepFlags, blockedKeepFlags } from './dropout-flags.js';
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

  it('gives the same loss and gradients with the chunks in several position-wise passes (a logit cap of 5 rows)', () => {
    const arch = architectureOf(smallHyperparameters({}), U);
    const run = (maxLogitCells?: number) => {
      const net = new NdmNetwork(arch, initialWeights(arch, Rng.fromSeed(4)));
      const targets = chunks.map((c) => nextUserTargets(c, true));
      const r = manualLossAndGradients(net, chunks, targets, 20, Rng.fromSeed(3), { maxLogitCells });
      const grads: Record<string, Float32Array> = {};
      for (const [name, g] of Object.entries(r.grads)) grads[name.split('/')[1]] = g.dataSync() as Float32Array;
      tf.dispose(Object.values(r.grads));
      net.dispose();
      return { lossSum: r.lossSum, grads };
    };
    const one = run();
    const several = run(5 * U);
    expect(several.lossSum).toBeCloseTo(one.lossSum, 5);
    expectClose(several.grads, one.grads, 1e-5);
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

  it('gives each attention block the keep flags of its slice of the chunk\'s padded dropout draws (blockedKeepFlags)', () => {
    // B 2, h 3, L 7 drawn; padded to 3 rows and length 9; blocks of the padded chunk; rates whose
    // keep probability is not a float32 (0.1, 0.3) and one that is (0.25).
    const [B, h, L, rows, length] = [2, 3, 7, 3, 9];
    const blocks = attentionBlocks(rows, length, h, 100);
    expect(blocks.length).toBeGreaterThan(2);
    for (const [seed, rate] of [[31, 0.1], [32, 0.3], [33, 0.25]]) {
      const full = tf.tidy(() => tf.pad(tf.randomUniform([B, h, L, L], 0, 1, 'float32', seed), [[0, rows - B], [0, 0], [0, length - L], [0, length - L]]));
      const flat = blockedKeepFlags(B, h, L, seed, rate, rows, blocks);
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
    }
  });

  it('draws dropout multipliers exactly as tf.dropout does', () => {
    const x = tf.ones([3, 50]);
    const viaDropout = tf.dropout(x, 0.25, undefined, 77).dataSync();
    const viaMultiplier = dropoutMultiplier([3, 50], 0.25, 77).dataSync();
    expect(Array.from(viaMultiplier)).toEqual(Array.from(viaDropout));
    expect(new Set(viaMultiplier)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
  });

  it('packs the kept positions row after row, with the dense infected-user mask of the tape path entry for entry', () => {
    const layouts = chunks.map((batch) => {
      const targets = nextUserTargets(batch, false);
      return { batch, targets, rows: batch.batchSize + 1, length: batch.maxLength + 2, kept: keptPositions(batch, targets) };
    });
    // </s> weighted out: each row up to its last real target ([2, 5, 7, 3, 9] keeps 4; [8, 2, 8, 10]
    // keeps 3, its 8 -> 2 -> 8 -> 10 targets being 2, 8 (seen: weight 0), 10, </s>; [11] keeps none).
    expect(Array.from(layouts[0].kept)).toEqual([4, 1, 3, 0]);
    expect(Array.from(layouts[1].kept)).toEqual([7, 2]);
    const p = packChunks(layouts, 20, 0.5);
    expect(p.count).toBe(17);
    expect(Array.from(p.ids.subarray(0, 8))).toEqual([2, 5, 7, 3, 4, 8, 2, 8]);
    expect(Array.from(p.positions.subarray(0, 8))).toEqual([0, 1, 2, 3, 0, 0, 1, 2]);
    expect(Array.from(p.rowWeights.subarray(5, 8))).toEqual([0.5, 0, 0.5]);
    expect(Array.from(p.ids.subarray(17))).toEqual([0, 0, 0]);
    expect(Array.from(p.rowWeights.subarray(17))).toEqual([0, 0, 0]);
    // Where each packed row lives in the stacked [rows * length] layouts (5 x 7, then 3 x 10), and back.
    expect(Array.from(p.gather.subarray(0, 8))).toEqual([0, 1, 2, 3, 7, 14, 15, 16]);
    expect(p.gather[8]).toBe(35);
    expect(Array.from(p.gather.subarray(17))).toEqual([65, 65, 65]);
    layouts.forEach((l, c) => {
      expect(p.unpack[c].length).toBe(l.rows * l.length);
      p.unpack[c].forEach((k, position) => (k < 20 ? expect(p.gather[k] - (c === 0 ? 0 : 35)).toBe(position) : expect(k).toBe(20)));
    });
    // The mask's rows at the packed positions, against the dense mask.
    const mask = tf.tidy(() => tf.scatterND(tf.tensor2d(p.infectedIndices, [p.infectedIndices.length / 2, 2], 'int32'), tf.fill([p.infectedIndices.length / 2], MASKED_LOGIT), [20, U]).dataSync());
    let k = 0;
    for (const { batch, kept } of layouts) {
      const dense = infectedUserMask(batch, U);
      for (let b = 0; b < batch.batchSize; b++) {
        for (let t = 0; t < kept[b]; t++, k++) expect(Array.from(mask.subarray(k * U, (k + 1) * U))).toEqual(Array.from(dense.subarray((b * batch.maxLength + t) * U, (b * batch.maxLength + t + 1) * U)));
      }
    }
    expect(Array.from(mask.subarray(17 * U))).toEqual(new Array(3 * U).fill(0));
  });

  it('draws the attention and attended keep flags of tf.dropout, laid out as the step reads them', () => {
    const [B, h, L, rows, length, d] = [2, 3, 4, 3, 6, 5];
    for (const [seed, rate] of [[41, 0.1], [42, 0.3]]) {
      const multiplier = tf.tidy(() => tf.transpose(dropoutMultiplier([B, h, L, L], rate, seed), [0, 2, 1, 3]).arraySync() as number[][][][]);
      const flags = attentionKeepFlags(B, h, L, seed, rate, rows, length);
      for (let b = 0; b < rows; b++)
        for (let j = 0; j < length; j++)
          for (let i = 0; i < h; i++)
            for (let k = 0; k < length; k++) {
              const flag = flags[((b * length + j) * h + i) * length + k];
              expect(b < B && j < L && k < L ? Math.fround(flag / Math.fround(1 - rate)) : 0).toBe(b < B && j < L && k < L ? multiplier[b][j][i][k] : flag);
            }
      // Attended draws [B, L, d]; rows kept 3 and 1.
      const batch = batchOf([[1, 2, 3, 4], [5, 6]]);
      const attended = dropoutMultiplier([B, L, d], rate, seed).dataSync();
      const out = attendedKeepFlags(batch.maxLength, Int32Array.from([3, 1]), d, seed, rate);
      const expected = [0, 1, 2, 4].flatMap((row) => Array.from(attended.subarray(row * d, (row + 1) * d), (m) => (m > 0 ? 1 : 0)));
      expect(Array.from(out)).toEqual(expected);
    }
  });
});
