/**
 * The plugin contract: a request's result does not depend on the other requests of a `simulate`
 * call. For the LSTM's steps that means a state's next state and logits are the same bits whether
 * it is alone in its compiled call or among others (tensorflow backend: for a single row it
 * multiplies a vector by a matrix in another order, so calls use at least two rows).
 */
import { Rng } from '@cascade-lab/core';
import { initBackend, initTensorflowIfInstalled } from '@cascade-lab/tensor-ops';
import { LstmNetwork } from './network.js';
import { LstmStepper } from './simulator.js';

const tensorflow = (await initTensorflowIfInstalled()) !== null;
if (!tensorflow) process.stdout.write('lstm simulator-rows tests skipped: @tensorflow/tfjs-node is not installed (run tools/native-backend/setup.sh)\n');
const onTensorflow = tensorflow ? it : it.skip;
afterAll(() => initBackend('cpu'));

describe('LstmStepper rows (tensorflow)', () => {
  onTensorflow.each([
    [498, 64, 128],
    [3001, 16, 16],
    [77, 8, 12],
  ])('gives a state the same bits alone and among others (%i users, embedding %i, hidden %i)', (U, E, H) => {
    const stepper = new LstmStepper(new LstmNetwork({ numUsers: U, embeddingSize: E, hiddenSize: H }, Rng.fromSeed(1)));
    const watched = [5, 9];
    const other = (i: number): number[] => [2 + ((i * 53 + 1) % (U - 2)), 2 + ((i * 13) % (U - 2))];
    const alone = stepper.roots([watched]);
    // Extended alone as well: one parent, one user.
    const aloneNext = stepper.extend(alone, Int32Array.from([0]), Int32Array.from([7]));
    for (const n of [2, 3, 7, 17, 41, 100]) {
      const lists = Array.from({ length: n }, (_, i) => other(i));
      const at = Math.floor(n / 2);
      lists[at] = watched;
      const many = stepper.roots(lists);
      expect(Buffer.from(many.h.slice(at * H, (at + 1) * H).buffer).equals(Buffer.from(alone.h.buffer))).toBe(true);
      expect(Buffer.from(many.logits.slice(at * U, (at + 1) * U).buffer).equals(Buffer.from(alone.logits.buffer))).toBe(true);
      // Every state moves on; the watched one by user 7.
      const users = Int32Array.from({ length: n }, (_, i) => (i === at ? 7 : 3));
      const next = stepper.extend(many, Int32Array.from({ length: n }, (_, i) => i), users);
      const s = next.stateOf[at];
      expect(Buffer.from(next.states.logits.slice(s * U, (s + 1) * U).buffer).equals(Buffer.from(aloneNext.states.logits.buffer))).toBe(true);
    }
  });
});
