/**
 * The stepper's next-user weights in blocks of states (tensorflow backend): the products are those of
 * one window product over every state, bit for bit (the backend sums each entry in the same order
 * whatever the number of rows); the softmax is a float64 softmax to an ulp or two, and a state's
 * row is the same bits wherever it sits in a call (rows and columns padded to ROW_ALIGNMENT: without
 * that, where a row starts inside a vector register changed how the kernel split its sums and
 * exponentials). And the reused row buffer.
 */
import { PAD_USER } from '@cascade-lab/core';
import { initBackend, initTensorflowIfInstalled } from '@cascade-lab/tensor-ops';
import { NdmStepper, ROW_ALIGNMENT, WEIGHT_BLOCK_ROWS, weightBlockRows, type PrefixStates } from './simulator.js';
import { smallModel } from './testing.test-util.js';
import { tf } from './tf.js';

const tensorflow = (await initTensorflowIfInstalled()) !== null;
if (!tensorflow) process.stdout.write('simulator-blocks tests skipped: @tensorflow/tfjs-node is not installed (run tools/native-backend/setup.sh)\n');
const onTensorflow = tensorflow ? it : it.skip;
afterAll(() => initBackend('cpu'));

describe('weightBlockRows', () => {
  it('cuts blocks of 256 rows and never leaves a tail block under 256', () => {
    const cut = (n: number): number[] => {
      const out: number[] = [];
      for (let left = n; left > 0; left -= out[out.length - 1]) out.push(weightBlockRows(left));
      return out;
    };
    expect(WEIGHT_BLOCK_ROWS).toBe(256);
    expect(cut(1)).toEqual([1]);
    expect(cut(511)).toEqual([511]);
    expect(cut(512)).toEqual([256, 256]);
    expect(cut(700)).toEqual([256, 444]);
    expect(cut(1030)).toEqual([256, 256, 256, 262]);
  });
});

describe('NdmStepper.weights in blocks (tensorflow)', () => {
  // Window inputs in [-1, 1), deterministic; two prefix users per state masked out.
  function states(R: number, width: number, U: number): PrefixStates {
    const logitRows = Float32Array.from({ length: R * width }, (_, i) => Math.sin(i * 12.9898) * 0.999);
    const prefixes = Array.from({ length: R }, (_, r) => Int32Array.from([2 + (r % (U - 2)), 2 + ((r * 7 + 3) % (U - 2))]));
    return { prefixes, logitRows, history: logitRows };
  }

  onTensorflow.each([
    [700, 3000],
    [1030, 3001],
  ])('equal one product over all %i states (%i users) bit for bit, and a float64 softmax to an ulp or two', async (R, U) => {
    const { arch, weights } = smallModel(U, { dropout: 0, dimension: 16, window: 3 });
    const stepper = new NdmStepper(arch, weights);
    const width = stepper.slots * arch.dimension;
    const st = states(R, width, U);
    const before = tf.memory().numTensors;
    const { rows, totals, stride } = await stepper.weights(st);
    expect(tf.memory().numTensors).toBe(before);
    expect(stride).toBe(stepper.paddedUsers);
    expect(stride % ROW_ALIGNMENT).toBe(0);
    expect(stride - U).toBeLessThan(ROW_ALIGNMENT);
    expect(rows.length).toBe(R * stride);
    // The products in blocks are those of one call over every state, bit for bit.
    const logits = await stepper.logits(st);
    const blockedLogits = new Float32Array(R * U);
    for (let r0 = 0; r0 < R; ) {
      const n = weightBlockRows(R - r0);
      blockedLogits.set(await stepper.logits({ prefixes: st.prefixes.slice(r0, r0 + n), logitRows: st.logitRows.subarray(r0 * width, (r0 + n) * width), history: st.history }), r0 * U);
      r0 += n;
    }
    expect(Buffer.from(blockedLogits.buffer).equals(Buffer.from(logits.buffer))).toBe(true);
    // The softmax of those logits in float64 on the host, masked: every weight within 2^-21 of it
    // relatively, the padding columns 0, and totals the float64 sums of the rows in user order.
    let worst = 0;
    for (let r = 0; r < R; r++) {
      let max = -Infinity;
      for (let v = 0; v < U; v++) max = Math.max(max, logits[r * U + v]);
      let sum = 0;
      for (let v = 0; v < U; v++) sum += Math.exp(logits[r * U + v] - max);
      const masked = new Set([PAD_USER, ...st.prefixes[r]]);
      let total = 0;
      for (let v = 0; v < stride; v++) {
        const got = rows[r * stride + v];
        if (v >= U || masked.has(v)) {
          expect(got).toBe(0);
          continue;
        }
        const want = Math.exp(logits[r * U + v] - max) / sum;
        worst = Math.max(worst, Math.abs(got - want) / want);
        total += got;
      }
      expect(totals[r]).toBe(total);
    }
    expect(worst).toBeLessThanOrEqual(2 ** -21);
    // The next call reuses the buffer: a smaller step's rows are a prefix of it.
    const again = await stepper.weights(states(300, width, U));
    expect(again.rows.buffer).toBe(rows.buffer);
    expect(again.rows.length).toBe(300 * stride);
    stepper.dispose();
  });

  // A state's row must not depend on the other states of the call: which cascades share a call
  // (and so where a state's row sits) depends on how the test split is cut between processes.
  onTensorflow.each([498, 3000, 3001, 512])('gives a state the same bits wherever it sits in a call (%i users)', async (U) => {
    const { arch, weights } = smallModel(U, { dropout: 0, dimension: 16, window: 3 });
    // Logits spread as a trained model's (the row sums then depend on the order of their terms).
    for (let i = 0; i < weights.windowProjection.length; i++) weights.windowProjection[i] *= 20;
    const stepper = new NdmStepper(arch, weights);
    const width = stepper.slots * arch.dimension;
    const pool = states(1100, width, U);
    const pick = (ids: number[]): PrefixStates => {
      const logitRows = new Float32Array(ids.length * width);
      ids.forEach((id, r) => logitRows.set(pool.logitRows.subarray(id * width, (id + 1) * width), r * width));
      return { prefixes: ids.map((id) => pool.prefixes[id]), logitRows, history: logitRows };
    };
    const watched = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const alone = [];
    for (const id of watched) {
      const { rows, totals } = await stepper.weights(pick([id]));
      alone.push({ row: rows.slice(0, U), total: totals[0] });
    }
    let seed = 11;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let checked = 0;
    // Calls of one block (small, under 512) and of several (256-row blocks and a longer last one),
    // the watched states at pseudo-random places among others.
    for (const n of [3, 17, 301, 700, 1030]) {
      const ids = Array.from({ length: n }, () => watched.length + next(pool.prefixes.length - watched.length));
      const places = new Map<number, number>();
      for (const id of watched) {
        let at = next(n);
        while (places.has(at)) at = (at + 1) % n;
        places.set(at, id);
        if (places.size === n) break;
      }
      for (const [at, id] of places) ids[at] = id;
      const { rows, totals, stride } = await stepper.weights(pick(ids));
      for (const [at, id] of places) {
        expect(totals[at]).toBe(alone[id].total);
        expect(Buffer.from(rows.slice(at * stride, at * stride + U).buffer).equals(Buffer.from(alone[id].row.buffer))).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(3 + 12 * 4);
    stepper.dispose();
  });
});
