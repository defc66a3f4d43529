import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@cascade-lab/core';
import { pairedPermutationTest } from '@cascade-lab/metrics';
import { compareRuns, protocolDifference, protocolOf, renderComparisonCsv, renderComparisonMarkdown, type RunRows } from './comparison.js';
import type { RunRecord } from './runs.js';

const record = (name: string, params: Record<string, string>): RunRecord => ({
  runId: name,
  name,
  experiment: 'e',
  status: 'FINISHED',
  startTime: 0,
  tags: {},
  params: { 'dataset.name': 'irvine', 'evaluation.simulations': '4', ...params },
  metrics: {},
  location: '',
});

/** A microscopic run whose cascade c has F1 f1s[c]; counts chosen so that precision = recall = F1. */
function microRun(method: string, seed: number, f1s: number[], ids = f1s.map((_, i) => `c${i}`)): RunRows {
  // truthSize 4, hitMass = 4 f1, predictedMass 4: precision = recall = f1
  const rows = f1s.map((f1, i) => ({
    id: ids[i],
    truthSize: 4,
    f1,
    hitMass: 4 * f1,
    predictedMass: 4,
    earlyF1: f1 / 2,
    earlyHitMass: 2 * f1,
    earlyPredictedMass: 4,
    earlyTruthSize: 4,
    perSimulation: { added: [4, 4, 4, 4], hits: [4 * f1, 4 * f1, 4 * f1, 4 * f1], earlyAdded: [4, 4, 4, 4], earlyHits: [2 * f1, 2 * f1, 2 * f1, 2 * f1] },
  }));
  const run = record(`${method}-${seed}`, { 'model.name': method, seed: String(seed) });
  return { run, method, dataset: 'irvine', seed, task: 'microscopic', rows, protocol: protocolOf(run, rows) };
}

const mean = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;

describe('compareRuns (microscopic)', () => {
  const a1 = [0.5, 0.7, 0.2, 0.9, 0.4, 0.6, 0.3, 0.8, 0.55, 0.65];
  const b1 = [0.45, 0.5, 0.25, 0.6, 0.35, 0.5, 0.3, 0.7, 0.5, 0.4];
  const runs = [microRun('ndm', 1, a1), microRun('ndm', 2, a1.map((v) => v - 0.02)), microRun('netrate', 1, b1), microRun('netrate', 2, b1.map((v) => v + 0.02))];
  const dir = mkdtempSync(join(tmpdir(), 'paper-'));
  const paper = join(dir, 'paper.json');
  writeFileSync(paper, JSON.stringify({ table2_full: { macroF1: { irvine: { ndm: 0.076, netrate: 0.032 } }, microF1: {} }, table3_early_first5: { macroF1: {}, microF1: {} } }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const result = compareRuns(runs, { paperTables: paper, resamples: 200 });
  const cell = (m: string, k: string) => result.cells.find((c) => c.method === m && c.metric === k)!;

  it('gives the mean and std over seeds (hand)', () => {
    // ndm macro-F1: seed 1 mean(a1) = 0.56, seed 2 0.54 -> mean 0.55, std sqrt(2 * 0.01^2 / 1) = 0.01414
    expect(cell('ndm', 'test.macroF1').mean).toBeCloseTo(0.55, 12);
    expect(cell('ndm', 'test.macroF1').std).toBeCloseTo(Math.SQRT2 * 0.01, 12);
    // micro-F1 with precision = recall = f1 per cascade and equal weights is the mean too
    expect(cell('ndm', 'test.microF1').mean).toBeCloseTo(0.55, 12);
    expect(cell('ndm', 'test.macroF1').best).toBe(true);
    expect(cell('ndm', 'test.macroF1').paper).toBe(0.076);
    const ci = cell('ndm', 'test.macroF1');
    expect(ci.ciLow).toBeLessThan(0.55);
    expect(ci.ciHigh).toBeGreaterThan(0.55);
  });

  it('tests the best model against each other one on the same cascades (the permutation test of the seed means)', () => {
    // With seeds averaged per cascade the statistic is a difference of means: ndm - netrate per
    // cascade = a1 - b1 - 0.02, the same test as scipy's on (a1 - 0.01, b1 + 0.01) pairs.
    const direct = pairedPermutationTest(a1.map((v) => v - 0.01), b1.map((v) => v + 0.01), (x, y) => mean(x) - mean(y), { rng: Rng.fromSeed(1) });
    expect(direct.exact).toBe(true);
    expect(cell('netrate', 'test.macroF1').pVsBest).toBeCloseTo(direct.pValue, 12);
    expect(cell('ndm', 'test.macroF1').pVsBest).toBeUndefined();
  });

  it('prints the paper layout with the improvement and marks a different order', () => {
    const md = renderComparisonMarkdown(result, 'T');
    // ours: ndm 0.55 over netrate 0.465 (= mean of mean(b1) = 0.455 and 0.475): 0.55 / 0.465 - 1 = +18.3%;
    // paper 0.076 / 0.032 - 1 = +137.5%
    expect(md).toMatch(/\| irvine \| 0\.465 ± 0\.014 \[[0-9.]+, [0-9.]+\] p=[0-9.]+ \(paper 0\.032\) \| \*\*0\.550\*\* ± 0\.014 \[[0-9.]+, [0-9.]+\] \(paper 0\.076\) \| \+18\.3% \(vs netrate\) \| \+137\.5% \(vs netrate\) \| same \|/);
    expect(md).toMatch(/## F1 against the number of simulations/);
    expect(renderComparisonCsv(result).split('\n')[0]).toBe('dataset,method,metric,mean,std,seeds,ciLow,ciHigh,best,pVsBest,paper');
    const flipped = compareRuns([microRun('ndm', 1, b1), microRun('netrate', 1, a1)], { paperTables: paper, resamples: 50 });
    expect(renderComparisonMarkdown(flipped, 'T')).toMatch(/≠ ours netrate > ndm; paper ndm > netrate/);
  });

  it('names what differs between two protocols', () => {
    const x = microRun('ndm', 1, [0.1, 0.2]);
    const y = microRun('ndm', 1, [0.1, 0.2], ['c0', 'c9']);
    expect(protocolDifference(x.protocol, y.protocol)).toMatch(/test cascades differ \(2 and 2 cascades, 1 of the first not in the second\)/);
    const run = record('z', { 'evaluation.simulations': '30' });
    expect(protocolDifference(x.protocol, protocolOf(run, x.rows))).toMatch(/evaluation\.simulations=4 \(first\), evaluation\.simulations=30 \(second\)/);
  });

  it('pairs a sharded evaluation with a local one (evaluation.shards is how to compute, not the protocol)', () => {
    const x = microRun('ndm', 1, [0.1, 0.2]);
    const sharded = record('s', { ...x.run.params, 'evaluation.shards': '4' });
    expect(protocolOf(sharded, x.rows)).toBe(x.protocol);
  });
});

describe('compareRuns (macroscopic)', () => {
  const macroRun = (method: string, predicted: number[][]): RunRows => {
    const actual = [[10, 20], [5, 5], [8, 16]];
    const rows = actual.map((a, i) => ({ id: `k${i}`, observedSize: [8, 5, 4][i], horizonsHours: [12, 24], actual: a, predicted: predicted[i] }));
    const run = record(method, { 'model.name': method, 'dataset.name': 'weibo-sample' });
    return { run, method, dataset: 'weibo-sample', seed: 1, task: 'macroscopic', rows, protocol: protocolOf(run, rows) };
  };

  it('adds the observed-size baseline and scores MAPE at every horizon (hand)', () => {
    const r = compareRuns([macroRun('hawkes', [[10, 10], [5, 5], [8, 8]])], { resamples: 50 });
    const at = (m: string, k: string) => r.cells.find((c) => c.method === m && c.metric === k)!.mean;
    // hawkes at 24 h: |20-10|/20, 0, |16-8|/16 -> mean(0.5, 0, 0.5) = 1/3
    expect(at('hawkes', 'test.h24.mape')).toBeCloseTo(1 / 3, 12);
    // observed size (8, 5, 4) at 12 h against (10, 5, 8): mean(0.2, 0, 0.5) = 0.7 / 3
    expect(at('observed-size', 'test.h12.mape')).toBeCloseTo(0.7 / 3, 12);
    expect(r.methods).toEqual(['observed-size', 'hawkes']);
    expect(renderComparisonMarkdown(r, 'M')).toMatch(/\| weibo-sample @ 24 h \|/);
  });
});

describe('compareRuns (macroscopic) over datasets with different horizon lists', () => {
  it('scores each dataset at its own horizons, found by hours, not by position in the union (hand)', () => {
    const run = (dataset: string, horizonsHours: number[], actual: number[][], predicted: number[][]): RunRows => {
      const rows = actual.map((a, i) => ({ id: `${dataset}${i}`, observedSize: 4, horizonsHours, actual: a, predicted: predicted[i] }));
      const r = record(`deepcas-${dataset}`, { 'model.name': 'deepcas', 'dataset.name': dataset });
      return { run: r, method: 'deepcas', dataset, seed: 1, task: 'macroscopic', rows, protocol: protocolOf(r, rows) };
    };
    // weibo at 12, 18, 24 h; test-net at 24, 48 h (union 12, 18, 24, 48: 24 h is position 2 of the
    // union, position 0 of test-net's rows).
    const weibo = run('weibo-sample', [12, 18, 24], [[10, 10, 10], [8, 8, 8]], [[10, 10, 5], [8, 8, 8]]);
    const testNet = run('deepcas-test-net', [24, 48], [[10, 20], [5, 10]], [[5, 20], [5, 5]]);
    const r = compareRuns([weibo, testNet], { resamples: 20, permutations: 20 });
    const at = (d: string, k: string) => r.cells.find((c) => c.dataset === d && c.method === 'deepcas' && c.metric === k)?.mean;
    // test-net 24 h: |5-10|/10, 0 -> 0.25; 48 h: 0, |5-10|/10 -> 0.25. weibo 24 h: 0.5, 0 -> 0.25.
    expect(at('deepcas-test-net', 'test.h24.mape')).toBeCloseTo(0.25, 12);
    expect(at('deepcas-test-net', 'test.h48.mape')).toBeCloseTo(0.25, 12);
    expect(at('weibo-sample', 'test.h24.mape')).toBeCloseTo(0.25, 12);
    expect(at('deepcas-test-net', 'test.h12.mape')).toBeUndefined();
    expect(renderComparisonMarkdown(r, 'M')).toMatch(/\| deepcas-test-net @ 48 h \|/);
  });
});

describe('compareRuns with a split that depends on the seed', () => {
  it('keeps every seed, resamples within each seed and pairs models seed by seed', () => {
    const run = (method: string, seed: number, ids: string[], f1s: number[]): RunRows => {
      const rows = f1s.map((f1, i) => ({ id: ids[i], truthSize: 4, f1, hitMass: 4 * f1, predictedMass: 4, earlyF1: f1, earlyHitMass: 4 * f1, earlyPredictedMass: 4, earlyTruthSize: 4 }));
      const r = record(`${method}-${seed}`, { 'model.name': method, seed: String(seed) });
      return { run: r, method, dataset: 'irvine', seed, task: 'microscopic', rows, protocol: protocolOf(r, rows) };
    };
    const a = [0.5, 0.7, 0.2, 0.9, 0.4];
    const b = [0.45, 0.5, 0.25, 0.6, 0.35];
    const s1 = ['c0', 'c1', 'c2', 'c3', 'c4'];
    const s2 = ['c5', 'c6', 'c7', 'c8', 'c9'];
    const r = compareRuns([run('ndm', 1, s1, a), run('ndm', 2, s2, b), run('netrate', 1, s1, b), run('netrate', 2, s2, b.map((v) => v - 0.1))], { resamples: 100 });
    const cell = (m: string) => r.cells.find((c) => c.method === m && c.metric === 'test.macroF1')!;
    // ndm: mean(a) = 0.54, mean(b) = 0.43 -> 0.485 over both seeds (hand)
    expect(cell('ndm').mean).toBeCloseTo(0.485, 12);
    expect(cell('ndm').seeds).toBe(2);
    // paired over the 10 (seed, cascade) pairs: ndm - netrate per pair = a - b (seed 1) and 0.1 (seed 2);
    // the statistic (mean over seeds of the mean difference) is the mean of the 10 differences, so the
    // test is the permutation test of those differences
    const direct = pairedPermutationTest([...a, ...b], [...b, ...b.map((v) => v - 0.1)], (x, y) => mean(x) - mean(y), { rng: Rng.fromSeed(1) });
    expect(cell('netrate').pVsBest).toBeCloseTo(direct.pValue, 12);
  });
});
