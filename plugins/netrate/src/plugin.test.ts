import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { executionSettings, MemoryLogger, quietProgress, Rng, type Cascade, type MicroscopicDataset, type TrainContext } from '@cascade-lab/core';
import { RateNetworkModel } from '@cascade-lab/simulation';
import { parseInfopathCascades, parseInfopathNetwork, parseNetinfCascades, parseNetinfNetwork, snapVocabulary } from '@cascade-lab/data';
import { fitNetRate } from './fit.js';
import { LikelihoodBuilder, observeCascades } from './likelihood.js';
import { netrateHyperparameters, netratePlugin } from './plugin.js';
import { DATA_DIR, networkRecovery, REFERENCE_DIR } from './recovery.test-util.js';
import { solveTarget } from './solver.js';

// The plugin contract: schema, reproducible training, save/load, well-formed simulations (packages/core/src/conformance).
describePluginConformance(netratePlugin);

const cascade = (id: string, events: [number, number][]): Cascade => ({ id, events: events.map(([user, time]) => ({ user, time })) });
const context = (): TrainContext => ({
  rng: Rng.fromSeed(1),
  backend: { name: 'cpu', package: 'none', device: 'cpu' },
  progress: quietProgress,
  logger: new MemoryLogger(),
  metrics: { logMetric: () => undefined },
  signal: new AbortController().signal,
  workDir: mkdtempSync(join(tmpdir(), 'netrate-')),
  execution: executionSettings({ workers: 1 }),
});

describe('netrate: closed-form optima of one edge', () => {
  // User 2 infects 3 after delays 1 and 2; in a third cascade 3 stays uninfected for the window 3.
  // Cascades observed 3 time units after their first infection.
  const cascades = [cascade('a', [[2, 0], [3, 1]]), cascade('b', [[2, 10], [3, 12]]), cascade('c', [[2, 20], [4, 20.5]])];
  const fit = (delay: 'exponential' | 'rayleigh' | 'power-law', powerLawMinDelay = 1) => fitNetRate(cascades, 5, { delay, powerLawMinDelay, window: 3 });
  const rate = (f: ReturnType<typeof fit>, j: number, i: number) => {
    for (let e = 0; e < f.rates.length; e++) if (f.sources[e] === j && f.targets[e] === i) return f.rates[e];
    return 0;
  };

  it('exponential: alpha = infections / (sum of delays + time survived) (hand calculation)', () => {
    const f = fit('exponential');
    // Target 3: f(a) = a (1 + 2 + 3) - 2 ln a, minimised at a = 2 / 6 = 1/3, f = 2 + 2 ln 3.
    // Target 4: from 2 (delay 0.5), survival of 2 -> 4 in a and b: a (0.5 + 3 + 3) - ln a: a = 1 / 6.5.
    // f_4 = 1 + ln 6.5. Users 3 and 4 precede nobody, so they have no candidates' rates out of them.
    expect(rate(f, 2, 3)).toBeCloseTo(1 / 3, 12);
    expect(rate(f, 2, 4)).toBeCloseTo(1 / 6.5, 12);
    expect(f.negLogLikelihood).toBeCloseTo(2 + 2 * Math.log(3) + 1 + Math.log(6.5), 10);
    expect(f.rates.length).toBe(2);
  });

  it("reads each cascade's observationEnd (contract v2) when no window is given", () => {
    // The same observation as `window: 3`, carried by the cascades (as the data loader sets it).
    const observed = cascades.map((c) => ({ ...c, observationEnd: c.events[0].time + 3 }));
    const f = fitNetRate(observed, 5, { delay: 'exponential', powerLawMinDelay: 1 });
    expect(rate(f, 2, 3)).toBeCloseTo(1 / 3, 12);
    expect(f.negLogLikelihood).toBeCloseTo(fit('exponential').negLogLikelihood, 12);
    // Without either, a cascade ends at its last infection: target 3 survives 0.5 in cascade c.
    // f_3(a) = a (1 + 2 + 0.5) - 2 ln a: a = 2 / 3.5.
    expect(rate(fitNetRate(cascades, 5, { delay: 'exponential', powerLawMinDelay: 1 }), 2, 3)).toBeCloseTo(2 / 3.5, 12);
  });

  it('Rayleigh: alpha = infections / sum of dt^2 / 2 (hand calculation)', () => {
    // Target 3: a (1/2 + 4/2 + 9/2) - ln(a * 1) - ln(a * 2) => a = 2 / 7.
    expect(rate(fit('rayleigh'), 2, 3)).toBeCloseTo(2 / 7, 12);
  });

  it('power-law: alpha = infections / sum of ln(dt / delta) over delays past delta (hand calculation)', () => {
    // delta = 0.5: target 3: a (ln 2 + ln 4 + ln 6) - 2 ln a (hazards 1/1, 1/2) => a = 2 / ln 48.
    expect(rate(fit('power-law', 0.5), 2, 3)).toBeCloseTo(2 / Math.log(48), 12);
    // Target 4: its only delay 0.5 is not past delta: infected from outside, no log term, rate 0.
    expect(rate(fit('power-law', 0.5), 2, 4)).toBe(0);
  });

  it('only users preceding the target are candidates; later and simultaneous users are not', () => {
    const b = new LikelihoodBuilder(observeCascades([cascade('x', [[2, 0], [3, 1], [4, 1], [5, 2]])]), 6, 0, 1);
    expect(Array.from(b.problem(4).candidates)).toEqual([2]); // 3 is infected at the same time
    expect(Array.from(b.problem(5).candidates)).toEqual([2, 3, 4]);
    expect(b.problem(2).candidates.length).toBe(0);
  });
});

describe('netrate: the solver', () => {
  // A target with three candidates and overlapping log terms (made-up numbers).
  const problem = {
    linear: Float64Array.from([4, 2.5, 6]),
    rowOffsets: Int32Array.from([0, 2, 3, 6, 7]),
    cols: Int32Array.from([0, 1, 1, 0, 1, 2, 0]),
    vals: Float64Array.from([1, 1, 1, 1, 1, 1, 1]),
  };

  it('EM updates never increase the objective (minorise-maximise)', () => {
    let last = Infinity;
    for (let k = 1; k <= 30; k++) {
      const r = solveTarget(problem, { emIterations: k, emTolerance: 0, newtonIterations: 0, newtonTolerance: 0, maxNewtonSize: 10 });
      expect(r.negLogLikelihood).toBeLessThanOrEqual(last + 1e-12);
      last = r.negLogLikelihood;
    }
  });

  it('reaches the same optimum from different starts, with the KKT conditions met', () => {
    const a = solveTarget(problem);
    const b = solveTarget(problem, { emIterations: 0, emTolerance: 0, newtonIterations: 200, newtonTolerance: 1e-15, maxNewtonSize: 10 }, Float64Array.from([5, 0.01, 3]));
    expect(b.negLogLikelihood).toBeCloseTo(a.negLogLikelihood, 12);
    for (let j = 0; j < 3; j++) expect(b.rates[j]).toBeCloseTo(a.rates[j], 8);
    expect(a.kktResidual).toBeLessThan(1e-12);
    // KKT by hand: g_j = B_j - sum_r h_rj / s_r is 0 for a positive rate and >= 0 for a zero one.
    const [x, y, z] = a.rates;
    const s = [x + y, y, x + y + z, x];
    const g = [4 - 1 / s[0] - 1 / s[2] - 1 / s[3], 2.5 - 1 / s[0] - 1 / s[1] - 1 / s[2], 6 - 1 / s[2]];
    for (let j = 0; j < 3; j++) {
      if (a.rates[j] > 0) expect(Math.abs(g[j])).toBeLessThan(1e-9);
      else expect(g[j]).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('netrate: the exact optimum on micro/infopath-example (../shared/reference/netrate-infopath-example.json)', () => {
  const ref = JSON.parse(readFileSync(join(REFERENCE_DIR, 'netrate-infopath-example.json'), 'utf8'));
  const dir = join(DATA_DIR, 'micro/infopath-example');
  const file = parseInfopathCascades(readFileSync(join(dir, 'example-cascades.txt'), 'utf8'), 'example-cascades.txt');
  const vocab = file.vocabulary;
  // The reference: exponential, window 10 after each cascade's first infection, no regularisation.
  const fit = fitNetRate(file.cascades, vocab.size, { delay: 'exponential', powerLawMinDelay: 1, window: ref.window });
  const rates = new Map<string, number>();
  for (let e = 0; e < fit.rates.length; e++) rates.set(`${vocab.rawIdOf(fit.sources[e])}->${vocab.rawIdOf(fit.targets[e])}`, fit.rates[e]);

  it('total negative log-likelihood within 1e-6 relative of the reference', () => {
    expect(Math.abs(fit.negLogLikelihood - ref.totalNegLogLikelihood) / ref.totalNegLogLikelihood).toBeLessThan(1e-6);
  });

  it('every reference rate above 1e-3 within 1e-3 relative, and no extra rate above 1e-3', () => {
    const expected = Object.entries(ref['ratesAbove1e-6'] as Record<string, number>).filter(([, v]) => v > 1e-3);
    expect(expected.length).toBeGreaterThan(50);
    for (const [key, v] of expected) expect(Math.abs((rates.get(key) ?? 0) - v) / v).toBeLessThan(1e-3);
    const extra = [...rates].filter(([key, v]) => v > 1e-3 && !(key in ref['ratesAbove1e-6']));
    expect(extra).toEqual([]);
  });

  it('recovers the ground-truth network as the reference does (precision@57, AUC)', async () => {
    const net = parseInfopathNetwork(readFileSync(join(dir, 'example-network.txt'), 'utf8'), 'example-network.txt');
    const nv = snapVocabulary(net.nodes);
    const truth = new Set(net.edges.map((e) => `${nv.indexOf(String(e.source))}>${nv.indexOf(String(e.target))}`));
    expect(truth.size).toBe(57);
    const model = new RateNetworkModel(vocab.size, fit.sources, fit.targets, fit.rates, { delay: 'exponential', powerLawMinDelay: 1, simulationHorizon: Infinity });
    const scores = await model.edgeScores();
    const byPair = new Map<string, number>();
    for (let e = 0; e < scores.scores.length; e++) byPair.set(`${scores.sources[e]}>${scores.targets[e]}`, scores.scores[e]);
    const nodes = Array.from({ length: vocab.size - 2 }, (_, k) => k + 2);
    const r = networkRecovery(nodes, (j, i) => byPair.get(`${j}>${i}`) ?? 0, truth);
    expect(r.precisionAtK).toBeCloseTo(ref.recovery.precisionAt57, 6);
    expect(Math.abs(r.auc - ref.recovery.aucAllOrderedPairs)).toBeLessThan(1e-4);
  });
});

describe('netrate: recovery of the NETINF example network (micro/netinf-example)', () => {
  it('ranks the true edges first', () => {
    const dir = join(DATA_DIR, 'micro/netinf-example');
    const file = parseNetinfCascades(readFileSync(join(dir, 'example-cascades.txt'), 'utf8'), 'example-cascades.txt');
    const net = parseNetinfNetwork(readFileSync(join(dir, 'example-network.txt'), 'utf8'), 'example-network.txt');
    const vocab = file.vocabulary;
    const nv = snapVocabulary(net.nodes);
    const truth = new Set<string>();
    for (let e = 0; e < net.edges.length; e += 2) truth.add(`${vocab.indexOf(nv.rawIdOf(nv.indexOf(String(net.edges[e]))!))}>${vocab.indexOf(String(net.edges[e + 1]))}`);
    const fit = fitNetRate(file.cascades, vocab.size, { delay: 'exponential', powerLawMinDelay: 1 });
    const byPair = new Map<string, number>();
    for (let e = 0; e < fit.rates.length; e++) byPair.set(`${fit.sources[e]}>${fit.targets[e]}`, fit.rates[e]);
    const nodes = Array.from({ length: vocab.size - 2 }, (_, k) => k + 2);
    const r = networkRecovery(nodes, (j, i) => byPair.get(`${j}>${i}`) ?? 0, truth);
    console.log('netinf-example recovery', truth.size, r);
    expect(r.auc).toBeGreaterThan(0.5);
  });
});

describe('netrate: the plugin', () => {
  it('trains, simulates in infection-time order and round-trips through save/load', async () => {
    // A chain 2 -> 3 -> 4 seen many times: every simulation from 2 adds 3 before 4.
    const train = Array.from({ length: 20 }, (_, k) => cascade(`c${k}`, [[2, 0], [3, 1 + (k % 3) * 0.1], [4, 2 + (k % 5) * 0.1]]));
    const data: MicroscopicDataset = { name: 'chain', timeUnit: 'unknown', users: snapVocabulary([2, 3, 4].map((id) => ({ id, name: '' }))), train, validation: [], test: [] };
    const hp = netrateHyperparameters.parse({});
    const model = (await netratePlugin.train({ ...data, users: { size: 5, indexOf: () => undefined, rawIdOf: (i) => String(i) } }, hp, context())) as RateNetworkModel;
    const [r] = await model.simulate([{ seeds: [2], budget: 2, simulations: 200, label: 'x' }], Rng.fromSeed(3));
    for (let s = 0; s < 200; s++) expect([r.sequences[2 * s], r.sequences[2 * s + 1]]).toEqual([3, 4]);
    const dir = mkdtempSync(join(tmpdir(), 'netrate-save-'));
    await model.save(dir);
    const loaded = await netratePlugin.load(dir, { backend: { name: 'cpu', package: 'none', device: 'cpu' }, logger: new MemoryLogger(), signal: new AbortController().signal, execution: executionSettings({ workers: 1 }) });
    expect(await (loaded as RateNetworkModel).edgeScores()).toEqual(await model.edgeScores());
  });
});
