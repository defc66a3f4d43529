import { cascadePrecisionRecallF1, diffusionCounts, macroF1, microF1, microPrecisionRecallF1 } from './diffusion-f1.js';

// Hand-worked example (NDM paper §5.3 definitions).
// Cascade A: G = {2,3,4}; P_2 = 0.5, P_3 = 0.25, P_7 = 1. hit = 0.75, predicted = 1.75,
//   pre = 3/7, rec = 1/4, f = 2(3/7)(1/4)/(3/7 + 1/4) = 6/19.
// Cascade B: G = {5}; P_5 = 1. pre = rec = f = 1.
// Macro-F1 = (6/19 + 1)/2 = 25/38. Micro: pre = 1.75/2.75 = 7/11, rec = 1.75/4 = 7/16, F1 = 14/27.
const a = diffusionCounts({ truth: [2, 3, 4], users: [2, 3, 7], infectionProbabilities: [0.5, 0.25, 1] });
const b = diffusionCounts({ truth: [5], users: [5], infectionProbabilities: [1] });

describe('diffusion F1 (NDM §5.3)', () => {
  it('computes the per-cascade sums', () => {
    expect(a).toEqual({ hitMass: 0.75, predictedMass: 1.75, truthSize: 3 });
  });
  it('computes per-cascade precision, recall and F1 by hand', () => {
    const r = cascadePrecisionRecallF1(a);
    expect(r.precision).toBeCloseTo(3 / 7, 15);
    expect(r.recall).toBeCloseTo(1 / 4, 15);
    expect(r.f1).toBeCloseTo(6 / 19, 15);
  });
  it('averages F1 over cascades for Macro-F1', () => {
    expect(macroF1([a, b])).toBeCloseTo(25 / 38, 15);
  });
  it('sums numerators and denominators for Micro-F1', () => {
    const m = microPrecisionRecallF1([a, b]);
    expect(m.precision).toBeCloseTo(7 / 11, 15);
    expect(m.recall).toBeCloseTo(7 / 16, 15);
    expect(microF1([a, b])).toBeCloseTo(14 / 27, 15);
  });
  it('gives 0 for a model that predicts nobody (all-zero P)', () => {
    const none = diffusionCounts({ truth: [2, 3], users: [], infectionProbabilities: [] });
    expect(cascadePrecisionRecallF1(none)).toEqual({ precision: 0, recall: 0, f1: 0 });
    const zeros = diffusionCounts({ truth: [2, 3], users: [4, 2], infectionProbabilities: [0, 0] });
    expect(macroF1([zeros])).toBe(0);
    expect(microF1([zeros, none])).toBe(0);
  });
  it('gives 0 when every prediction misses', () => {
    const miss = diffusionCounts({ truth: [2], users: [3], infectionProbabilities: [1] });
    expect(cascadePrecisionRecallF1(miss)).toEqual({ precision: 0, recall: 0, f1: 0 });
  });
  it('rejects an empty ground truth, duplicates and non-probabilities', () => {
    expect(() => diffusionCounts({ truth: [], users: [2], infectionProbabilities: [1] })).toThrow(/ground truth G_c is empty/);
    expect(() => diffusionCounts({ truth: [2, 2], users: [], infectionProbabilities: [] })).toThrow(/twice in the ground truth/);
    expect(() => diffusionCounts({ truth: [2], users: [3, 3], infectionProbabilities: [0.1, 0.1] })).toThrow(/listed twice/);
    expect(() => diffusionCounts({ truth: [2], users: [3], infectionProbabilities: [1.5] })).toThrow(/not a probability/);
    expect(() => diffusionCounts({ truth: [2], users: [3], infectionProbabilities: [NaN] })).toThrow(/not a probability/);
    expect(() => macroF1([])).toThrow(/no test cascades/);
    expect(() => microF1([])).toThrow(/no test cascades/);
  });
});
