/**
 * A reduced evaluation run on the Twitter-sized synthetic set of `npm run bench -- scale` (issue 22),
 * for profiling the simulator where the full run would take hours: the `--long` longest test
 * cascades and `--typical` cascades of median length, `--simulations` each, through the shared
 * protocol (`simulateMicroscopicRows`), with an untrained model (seeded: `initialWeights` of
 * `Rng.fromSeed(1).derive('init')`) or a saved one (`--model DIR`). It prints, per pass, the wall
 * and CPU seconds, a hash of the rows and infection probabilities (equal hashes: equal numbers), and
 * where the time went: the stepper's next-user weights (window product, softmax, host sums) against
 * its extensions (one attention step per new state).
 *
 *   node --import tsx plugins/ndm/scripts/scale-evaluation.ts [--long 3] [--typical 20] \
 *     [--simulations 10] [--passes scores-js,scores-wasm] [--model DIR]
 *
 * `--passes`: `scores-wasm` (the simulator as it is) or `scores-js` (the attention scores by the
 * JavaScript dot products instead of the WebAssembly kernel, as before it), one pass each, in order,
 * in this one process: alternate them to compare speed on a shared machine.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Rng } from '@cascade-lab/core';
import { simulateMicroscopicRows } from '@cascade-lab/evaluation';
import { twitterSizedCascades, twitterSizedDataset } from '@cascade-lab/simulation';
import { initBackend } from '@cascade-lab/tensor-ops';
import { architectureOf, defaultHyperparameters, initialWeights } from '../src/index.js';
import { loadNdmModel, NdmModel } from '../src/plugin.js';
import type { PrefixStates } from '../src/simulator.js';

const { values } = parseArgs({
  options: {
    long: { type: 'string', default: '3' },
    typical: { type: 'string', default: '20' },
    simulations: { type: 'string', default: '10' },
    passes: { type: 'string', default: 'scores-wasm' },
    model: { type: 'string' },
  },
});

await initBackend('tensorflow');
const data = twitterSizedDataset(twitterSizedCascades({ seed: 1 }));
const byLength = data.test.map((c, i) => ({ i, n: c.events.length })).sort((a, b) => b.n - a.n);
const middle = Math.floor(byLength.length / 2);
const picked = [...byLength.slice(0, Number(values.long)), ...byLength.slice(middle, middle + Number(values.typical))];
const test = picked.map((p) => data.test[p.i]);
const simulations = Number(values.simulations);
let model: NdmModel;
if (values.model) model = await loadNdmModel(values.model);
else {
  const hp = defaultHyperparameters({ learnEnd: false, earlyStoppingMetric: 'none' });
  const arch = architectureOf(hp, data.users.size);
  model = new NdmModel(arch, hp, initialWeights(arch, Rng.fromSeed(1).derive('init')), {});
}
console.log(`${test.length} test cascades of ${picked.map((p) => p.n).join(', ')} users, ${simulations} simulations each, ${values.model ?? 'untrained model'}`);

// Time the stepper's two phases (wrapping its methods on this instance).
const stepper = model.simulator.stepper;
const spent = { weights: 0, extend: 0, weightCalls: 0, states: 0 };
const weights = stepper.weights.bind(stepper);
const extend = stepper.extend.bind(stepper);
stepper.weights = async (states: PrefixStates) => {
  const t = performance.now();
  const out = await weights(states);
  spent.weights += performance.now() - t;
  spent.weightCalls++;
  spent.states += states.prefixes.length;
  return out;
};
stepper.extend = (states: PrefixStates, parent: Int32Array, user: Int32Array) => {
  const t = performance.now();
  const out = extend(states, parent, user);
  spent.extend += performance.now() - t;
  return out;
};

const tables = model.simulator.tables as { keyRows: typeof model.simulator.tables.keyRows };
const keyRows = tables.keyRows;
for (const pass of values.passes.split(',')) {
  if (pass !== 'scores-wasm' && pass !== 'scores-js') throw new Error(`unknown pass ${pass}`);
  tables.keyRows = pass === 'scores-js' ? null : keyRows;
  Object.assign(spent, { weights: 0, extend: 0, weightCalls: 0, states: 0 });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const rows = await simulateMicroscopicRows(model, test, { rng: Rng.fromSeed(1).derive('evaluation'), simulations });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const hash = createHash('sha256').update(JSON.stringify(rows.cascades)).update(JSON.stringify(rows.infectionProbabilities)).digest('hex').slice(0, 16);
  console.log(
    `${pass}: ${seconds.toFixed(2)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s), rows ${hash}; next-user weights ${(spent.weights / 1000).toFixed(2)} s ` +
      `(${spent.weightCalls} calls, ${spent.states} states), extensions ${(spent.extend / 1000).toFixed(2)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
}
tables.keyRows = keyRows;
model.dispose();
