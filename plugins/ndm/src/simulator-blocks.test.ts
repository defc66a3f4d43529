/**
 * The stepper's next-user weights in blocks of states (tensorflow backend) against one window
 * product and one softmax over every state: the products are the same bits (the backend sums each
 * entry in the same order whatever the number of rows); the softmax kernel splits its flat
 * [states, |U|] work between threads at places that depend on the size, and an entry at such a
 * seam can round differently by an ulp (a few dozen of millions here, none on even vocabularies).
 * And the reused row buffer.
 */
import { PAD_USER } from '@cascade-lab/core';
import { initBackend, initTensorflowIfInstalled } from '@cascade-lab/tensor-ops';
import { NdmStepper, WEIGHT_BLOCK_ROWS, weightBlockRows, type PrefixStates } from './simulator.js';
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
  ])('equal one product and softmax over all %i states (%i users), to an ulp at thread seams', async (R, U) => {
    const { arch, weights } = smallModel(U, { dropout: 0, dimension: 16, window: 3 });
    const stepper = new NdmStepper(arch, weights);
    const width = stepper.slots * arch.dimension;
    const st = states(R, width, U);
    const reference = tf.tidy(() => {
      const stacked = new Float32Array(width * U);
      stacked.set(weights.windowProjection, 0);
      return tf.softmax(tf.fused.matMul({ a: tf.tensor2d(st.logitRows, [R, width]), b: tf.tensor2d(stacked, [width, U]), bias: tf.tensor1d(weights.windowBias) })).dataSync() as Float32Array;
    });
    for (let r = 0; r < R; r++) {
      reference[r * U + PAD_USER] = 0;
      for (const u of st.prefixes[r]) reference[r * U + u] = 0;
    }
    const before = tf.memory().numTensors;
    const { rows, totals } = await stepper.weights(st);
    expect(tf.memory().numTensors).toBe(before);
    expect(rows.length).toBe(R * U);
    let differing = 0;
    let worst = 0;
    for (let i = 0; i < R * U; i++) {
      if (rows[i] === reference[i]) continue;
      differing++;
      worst = Math.max(worst, Math.abs(rows[i] - reference[i]) / Math.abs(reference[i]));
    }
    expect(differing).toBeLessThanOrEqual((R * U) / 10000);
    expect(worst).toBeLessThanOrEqual(2 ** -22);
    // The products themselves are equal bit for bit.
    const logits = await stepper.logits(st);
    const blockedLogits = new Float32Array(R * U);
    for (let r0 = 0; r0 < R; ) {
      const n = weightBlockRows(R - r0);
      blockedLogits.set(await stepper.logits({ prefixes: st.prefixes.slice(r0, r0 + n), logitRows: st.logitRows.subarray(r0 * width, (r0 + n) * width), history: st.history }), r0 * U);
      r0 += n;
    }
    expect(Buffer.from(blockedLogits.buffer).equals(Buffer.from(logits.buffer))).toBe(true);
    let total = 0;
    for (let v = 0; v < U; v++) total += reference[(R - 1) * U + v];
    expect(totals[R - 1]).toBe(total);
    // The next call reuses the buffer: a smaller step's rows are a prefix of it.
    const again = await stepper.weights(states(300, width, U));
    expect(again.rows.buffer).toBe(rows.buffer);
    expect(again.rows.length).toBe(300 * U);
    stepper.dispose();
  });
});
