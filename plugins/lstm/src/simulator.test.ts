import { Rng, simulationRequestStream } from '@cascade-lab/core';
import { sampleSequences, type NextUserModel } from '@cascade-lab/simulation';
import { initBackend, tf } from '@cascade-lab/tensor-ops';
import { LstmNetwork, MASKED_LOGIT } from './network.js';
import { LstmSimulator } from './simulator.js';

/**
 * The state-carrying simulator against prefix recompute: a NextUserModel that reads every
 * simulation's whole prefix again through the training forward pass at every step, handed to the
 * sequential engine of @cascade-lab/simulation, which draws with the same arithmetic.
 */
function recomputeModel(network: LstmNetwork, seeds: readonly number[]): NextUserModel<{ prefixes: number[][] }> {
  const U = network.architecture.numUsers;
  return {
    numUsers: U,
    scoreKind: 'probabilities',
    start: (s, batch) => ({ prefixes: Array.from({ length: batch }, () => [...s]) }),
    next: (state, last) => {
      if (last) last.forEach((u, b) => u >= 0 && state.prefixes[b].push(u));
      const out = new Float32Array(state.prefixes.length * U);
      state.prefixes.forEach((p, b) => {
        const logits = tf.tidy(() => network.maskedLogits(tf.tensor2d(p, [1, p.length], 'int32')));
        const row = (logits.dataSync() as Float32Array).slice((p.length - 1) * U, p.length * U);
        logits.dispose();
        let max = -Infinity;
        for (let v = 0; v < U; v++) if (row[v] > MASKED_LOGIT / 2 && row[v] > max) max = row[v];
        for (let v = 0; v < U; v++) out[b * U + v] = row[v] > MASKED_LOGIT / 2 ? Math.fround(Math.exp(row[v] - max)) : 0;
      });
      void seeds;
      return out;
    },
  };
}

describe('lstm simulator', () => {
  beforeAll(() => initBackend('cpu'));
  const arch = { numUsers: 9, embeddingSize: 4, hiddenSize: 5 };

  it('carried states give the logits of a full forward pass over each prefix', async () => {
    const network = new LstmNetwork(arch, Rng.fromSeed(3));
    const sim = new LstmSimulator(arch, network.readWeights(), 64);
    let states = sim.stepper.roots([[2, 5], [7]]);
    const prefixes = [[2, 5], [7]];
    for (const [parent, user] of [[[0, 1, 0], [3, 2, 3]], [[0, 1], [8, 4]]] as const) {
      const next = sim.stepper.extend(states, Int32Array.from(parent), Int32Array.from(user));
      states = next.states;
      const np: number[][] = [];
      parent.forEach((p, i) => (np[next.stateOf[i]] = [...prefixes[p], user[i]]));
      prefixes.splice(0, prefixes.length, ...np);
      // Equal (parent, user) pairs share a state.
      expect(states.count).toBe(prefixes.length);
    }
    prefixes.forEach((p, s) => {
      const full = tf.tidy(() => network.logits(network.hiddenStates(tf.tensor2d(p, [1, p.length], 'int32'))));
      const last = (full.dataSync() as Float32Array).slice((p.length - 1) * 9);
      full.dispose();
      last.forEach((x, v) => expect(states.logits[s * 9 + v]).toBeCloseTo(x, 6));
      expect(Array.from(states.prefixes[s])).toEqual(p);
    });
    sim.dispose();
    network.dispose();
  });

  it('samples the sequences that prefix recompute samples (same streams, same draws)', async () => {
    const network = new LstmNetwork(arch, Rng.fromSeed(4));
    const sim = new LstmSimulator(arch, network.readWeights(), 16);
    const request = { seeds: [3], budget: 5, simulations: 40, label: 'r' };
    const rng = Rng.fromSeed(11);
    const [carried] = await sim.simulate([request], rng);
    const recomputed = await sampleSequences(recomputeModel(network, request.seeds), request.seeds, request.budget, simulationRequestStream(Rng.fromSeed(11), request, 0), 0, request.simulations);
    expect(Array.from(carried.sequences)).toEqual(Array.from(recomputed));
    expect(carried.sequences.filter((u) => u >= 2).length).toBeGreaterThan(40); // not a trivial run of early ends
    // Rows never repeat a user nor contain the seed or padding.
    for (let s = 0; s < 40; s++) {
      const row = Array.from(carried.sequences.slice(s * 5, s * 5 + 5)).filter((u) => u >= 0);
      expect(new Set(row).size).toBe(row.length);
      expect(row).not.toContain(3);
      expect(row).not.toContain(0);
    }
    sim.dispose();
    network.dispose();
  });

  it('leaves no tensors behind', async () => {
    const network = new LstmNetwork(arch, Rng.fromSeed(4));
    const sim = new LstmSimulator(arch, network.readWeights(), 16);
    await sim.simulate([{ seeds: [2], budget: 4, simulations: 10, label: 'w' }], Rng.fromSeed(1));
    const before = tf.memory().numTensors;
    await sim.simulate([{ seeds: [2, 6], budget: 6, simulations: 30, label: 'x' }, { seeds: [5], budget: 3, simulations: 7, label: 'y' }], Rng.fromSeed(2));
    expect(tf.memory().numTensors).toBe(before);
    sim.dispose();
    network.dispose();
  });
});
