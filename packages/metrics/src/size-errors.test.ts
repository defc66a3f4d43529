import { INFINITE_APE_CAP, MAPE_AUTHORS_CODE, mape, msle, sizePredictionMetrics } from './size-errors.js';

const t = [10, 20, 5, 100, 1];
const p = [12, 15, 0, 250, 1];

describe('MAPE', () => {
  it('is the mean relative error as a fraction (hand: (0.2 + 0.25 + 1 + 1.5 + 0)/5 = 0.59)', () => {
    expect(mape(t, p)).toBeCloseTo(0.59, 15);
  });
  it('follows the authors-code convention (epsilon 0.001, percent)', () => {
    // numpy: 100*np.mean(np.abs((t+0.001)-(p+0.001))/(t+0.001)) -> 58.99505085533537
    expect(mape(t, p, MAPE_AUTHORS_CODE)).toBeCloseTo(58.99505085533537, 11);
    // a zero target is allowed only with the epsilon floor: |0.001 - 2.001| / 0.001 * 100 = 200000
    expect(mape([0], [2], MAPE_AUTHORS_CODE)).toBeCloseTo(200000, 6);
    expect(() => mape([0], [2])).toThrow(/not positive/);
  });
  it('propagates Infinity and NaN predictions (IEEE)', () => {
    expect(mape([1, 2], [1, Infinity])).toBe(Infinity);
    expect(mape([1, 2], [1, NaN])).toBeNaN();
    expect(() => mape([], [])).toThrow(/no predictions/);
    expect(() => mape([1], [1, 2])).toThrow(/differ in length/);
  });
});

describe('MSLE', () => {
  it('matches sklearn and the base-2 variant', () => {
    // sklearn.metrics.mean_squared_log_error(t, p) -> 0.8281924254922239
    expect(msle(t, p)).toBeCloseTo(0.8281924254922239, 14);
    // np.mean((np.log2(t+1)-np.log2(p+1))**2) -> 1.7237740247233138
    expect(msle(t, p, { base: 2 })).toBeCloseTo(1.7237740247233138, 13);
    expect(msle([1], [Infinity])).toBe(Infinity);
    expect(() => msle([1], [-1])).toThrow(/<= -1/);
  });
});

describe('sizePredictionMetrics (the paper policy for non-finite predictions)', () => {
  // 6 cascades: one infinite prediction, one NaN prediction, one unknown target.
  const targets = [3, 10, 50, 200, 1000, 7, 40, NaN];
  const preds = [5, 8, 300, 150, 2000, Infinity, NaN, 12];
  const m = sizePredictionMetrics(targets, preds);
  it('counts what it leaves out', () => {
    expect(m.evaluated).toBe(7);
    expect(m.missingTargets).toBe(1);
    expect(m.infinitePredictions).toBe(1);
    expect(m.invalidPredictions).toBe(1);
  });
  it('computes MAPE and MSLE over the finite predictions', () => {
    // finite pairs: t = [3,10,50,200,1000], p = [5,8,300,150,2000]
    // np.mean(np.abs(t-p)/t) -> 1.4233333333333333 (hand: (2/3 + 0.2 + 5 + 0.25 + 1)/5)
    expect(m.mape).toBeCloseTo(1.4233333333333333, 14);
    // 100*np.mean(np.abs(t-p)/(t+0.001)) -> 142.3264454500169
    expect(m.mapePercent).toBeCloseTo(142.3264454500169, 10);
    // np.mean((np.log1p(t)-np.log1p(p))**2) -> 0.7835754367625277
    expect(m.msle).toBeCloseTo(0.7835754367625277, 14);
    expect(m.mapeWithInfinite).toBe(Infinity);
  });
  it('counts an infinite prediction with the documented cap in mapeCapped', () => {
    // hand: the 5 finite errors sum to 7.116666...; the infinite one counts 1e4 (INFINITE_APE_CAP); 6 valid
    expect(INFINITE_APE_CAP).toBe(1e4);
    expect(m.mapeCapped).toBeCloseTo((2 / 3 + 0.2 + 5 + 0.25 + 1 + 1e4) / 6, 10);
    // another cap: (7.116666... + 100) / 6
    expect(sizePredictionMetrics(targets, preds, { infiniteErrorCap: 100 }).mapeCapped).toBeCloseTo((2 / 3 + 0.2 + 5 + 0.25 + 1 + 100) / 6, 12);
    // no infinite prediction: equal to mape
    expect(sizePredictionMetrics([3, 10], [5, 8]).mapeCapped).toBeCloseTo((2 / 3 + 0.2) / 2, 15);
    expect(() => sizePredictionMetrics([1], [1], { infiniteErrorCap: Infinity })).toThrow(/finite non-negative/);
  });
  it('ranks the infinite prediction in the correlations', () => {
    // scipy.stats.kendalltau([3,10,50,200,1000,7],[5,8,300,150,2000,np.inf]).statistic -> 0.3333333333333333
    expect(m.kendallTau).toBeCloseTo(1 / 3, 14);
    // scipy.stats.spearmanr([3,10,50,200,1000,7],[5,8,300,150,2000,np.inf]).statistic -> 0.3714285714285715
    expect(m.spearmanRho).toBeCloseTo(0.3714285714285715, 14);
  });
  it('gives NaN errors when no finite prediction is left', () => {
    const all = sizePredictionMetrics([1, 2], [Infinity, Infinity]);
    expect(all.mape).toBeNaN();
    expect(all.mapeWithInfinite).toBe(Infinity);
    expect(all.infinitePredictions).toBe(2);
    expect(all.mapeCapped).toBe(1e4);
  });
});
