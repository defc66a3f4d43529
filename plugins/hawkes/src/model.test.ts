import { expectedFinalSize, expectedSizeAfter, fitHawkes, fitMarkedHawkes, hawkesLogLikelihood, markWeights, meanMarkWeight, pendingOffspring, profileLogLikelihood, defaultFitOptions } from './model.js';
import { readMacroCascade, readReference } from './reference.test-util.js';

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('hawkes likelihood (hand-computed)', () => {
  it('one reshare: log(K theta e^{-theta t1}) - K sum (1 - e^{-theta (T - t_i)})', () => {
    // times [0, 1], T = 2, K = 0.5, theta = 1: log 0.5 - 1 - 0.5 (2 - e^-2 - e^-1) (python3 math).
    expect(hawkesLogLikelihood([0, 1], 2, 0.5, 1)).toBeCloseTo(-2.441539818355918, 14);
  });

  it('tied reshares see each other (the recursion convention): times [0, 0.5, 0.5]', () => {
    // R1 = e^-0.65, R2 = 1 + R1 at K = 0.7, theta = 1.3, T = 1 (python3 math): -1.5969296806505364.
    expect(hawkesLogLikelihood([0, 0.5, 0.5], 1, 0.7, 1.3)).toBeCloseTo(-1.5969296806505364, 14);
  });

  it('the profile equals the likelihood at K = m / C(theta), and its slope the finite difference', () => {
    const times = [0, 0.01, 0.05, 0.05, 0.3, 0.31, 0.9, 1.7, 2.5, 4, 5.9];
    const T = 6;
    for (const theta of [0.05, 0.7, 3, 40]) {
      const p = profileLogLikelihood(times, T, theta);
      const m = times.length - 1;
      const c = times.reduce((a, t) => a - Math.expm1(-theta * (T - t)), 0);
      expect(relErr(p.K, m / c)).toBeLessThan(1e-12);
      expect(relErr(p.value, hawkesLogLikelihood(times, T, p.K, theta))).toBeLessThan(1e-11);
      // Central difference in log theta, step 1e-5: error O(1e-10).
      const h = 1e-5;
      const fd = (profileLogLikelihood(times, T, theta * Math.exp(h)).value - profileLogLikelihood(times, T, theta * Math.exp(-h)).value) / (2 * h);
      expect(Math.abs(p.slope - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });

  it('the fit is a maximum: no perturbation of K or theta does better, and the slope is zero there', () => {
    const times = [0, 0.01, 0.05, 0.05, 0.3, 0.31, 0.9, 1.7, 2.5, 4, 5.9];
    const fit = fitHawkes(times, 6);
    expect(fit.atBoundary).toBe(false);
    expect(Math.abs(profileLogLikelihood(times, 6, fit.theta).slope)).toBeLessThan(1e-6);
    for (const [dk, dt] of [[1.01, 1], [0.99, 1], [1, 1.01], [1, 0.99], [1.01, 1.01], [0.99, 0.99]]) {
      expect(hawkesLogLikelihood(times, 6, fit.K * dk, fit.theta * dt)).toBeLessThan(fit.logLikelihood);
    }
  });

  it('every reshare at the root\'s second: the likelihood rises with theta to the search edge, which is reported', () => {
    // lp(theta) = m log(m / C) - m + m log theta + sum log Q_i with t_last = 0 grows like m log theta.
    const fit = fitHawkes([0, 0, 0, 0], 6);
    expect(fit.atBoundary).toBe(true);
    expect(fit.theta / (1e6 / 6)).toBeCloseTo(1, 12); // defaultFitOptions(6).thetaMax
    // K = m / C with C = n (1 - e^{-theta T}) = 4: K = 3 / 4; nothing is left to come.
    expect(fit.K).toBeCloseTo(0.75, 12);
    expect(pendingOffspring([0, 0, 0, 0], 6, fit.K, fit.theta)).toBe(0);
  });

  it('no reshare: K = 0 and the size stays the observed one', () => {
    const fit = fitHawkes([0], 6);
    expect(fit.K).toBe(0);
    const pending = pendingOffspring([0], 6, fit.K, fit.theta);
    expect(expectedSizeAfter(1, pending, fit.K, fit.theta, 100)).toBe(1);
    expect(expectedFinalSize(1, pending, fit.K)).toBe(1);
  });
});

describe('hawkes with follower marks (option)', () => {
  const times = [0, 0.01, 0.05, 0.05, 0.3, 0.31, 0.9, 1.7, 2.5, 4, 5.9];
  const followers = [5000, 0, 30, 120, 7, 2000, 1, 45, 300, 12, 80];

  it('weighted likelihood by hand: times [0, 1], T = 2, w = [4, 1], K = 0.5, theta = 1', () => {
    // log(K theta w_0 e^-1) - K (4 (1 - e^-2) + (1 - e^-1)) (python3 math): -2.352242532381108.
    expect(hawkesLogLikelihood([0, 1], 2, 0.5, 1, [4, 1])).toBeCloseTo(-2.352242532381108, 14);
  });

  it('unit weights give the unmarked model; weights max(f, 1)^beta; E w = (alpha - 1) / (alpha - 1 - beta)', () => {
    expect(hawkesLogLikelihood(times, 6, 0.9, 3, new Float64Array(times.length).fill(1))).toBe(hawkesLogLikelihood(times, 6, 0.9, 3));
    expect(Array.from(markWeights([0, 1, 16], 0.5))).toEqual([1, 1, 4]);
    // 1.016 / 0.516 (python3): 1.9689922480620154
    expect(meanMarkWeight(2.016, 0.5)).toBeCloseTo(1.9689922480620154, 14);
    expect(meanMarkWeight(2.016, 1.016)).toBe(Infinity);
  });

  it('the weighted profile equals the weighted likelihood at its K, and its slope the finite difference', () => {
    const w = markWeights(followers, 0.4);
    for (const theta of [0.05, 0.7, 3, 40]) {
      const p = profileLogLikelihood(times, 6, theta, w);
      expect(relErr(p.value, hawkesLogLikelihood(times, 6, p.K, theta, w))).toBeLessThan(1e-11);
      const h = 1e-5;
      const fd = (profileLogLikelihood(times, 6, theta * Math.exp(h), w).value - profileLogLikelihood(times, 6, theta * Math.exp(-h), w).value) / (2 * h);
      expect(Math.abs(p.slope - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });

  it('a fitted beta is a maximum over beta too (refitting K and theta at beta +- 0.02 does worse)', () => {
    // Followers for which the likelihood peaks inside [0, 0.95 (alpha - 1)] (near beta = 0.4 on a
    // scan of 0, 0.2, ..., 2); with the followers above it keeps rising with beta (the fit takes the edge).
    const interior = [50, 400, 3, 10, 700, 5, 1, 45, 20, 12, 3];
    const options = defaultFitOptions(6);
    const fit = fitMarkedHawkes(times, interior, 6, options, { betaMax: 0.95 * 1.016 });
    expect(fit.beta).toBeGreaterThan(0.2);
    expect(fit.beta).toBeLessThan(0.6);
    for (const d of [-0.02, 0.02]) expect(fitMarkedHawkes(times, interior, 6, options, { beta: fit.beta + d, betaMax: 1 }).logLikelihood).toBeLessThan(fit.logLikelihood);
    expect(fitMarkedHawkes(times, followers, 6, options, { betaMax: 0.95 * 1.016 }).beta).toBeCloseTo(0.95 * 1.016, 3);
    // beta = 0 is the unmarked fit.
    expect(fitMarkedHawkes(times, interior, 6, options, { beta: 0, betaMax: 1 }).logLikelihood).toBeCloseTo(fitHawkes(times, 6).logLikelihood, 9);
  });
});

describe('hawkes expected sizes (closed form, hand-computed)', () => {
  it('N + A1 (1 - e^{-theta (1 - K) D}) / (1 - K); its K = 1 limit N + A1 theta D; final N + A1 / (1 - K)', () => {
    // K = 0.5, theta = 2, D = 1, A1 = 3: 3 (1 - e^-1) / 0.5 = 3.792723352971346 (python3 math).
    expect(expectedSizeAfter(10, 3, 0.5, 2, 1)).toBeCloseTo(10 + 3.792723352971346, 12);
    expect(expectedSizeAfter(10, 3, 1, 2, 1)).toBe(16);
    expect(relErr(expectedSizeAfter(10, 3, 1 + 1e-12, 2, 1), 16)).toBeLessThan(1e-11);
    expect(expectedFinalSize(10, 3, 0.5)).toBe(16);
    expect(expectedFinalSize(10, 3, 1)).toBe(Infinity);
    // A1 = K sum e^{-theta (T - t_i)}: times [0, 1], T = 1, K = 0.5, theta = ln 2: 0.5 (1/2 + 1).
    expect(pendingOffspring([0, 1], 1, 0.5, Math.LN2)).toBeCloseTo(0.75, 15);
  });
});

describe('hawkes against the scipy reference (shared/reference/hawkes-tideh-reference.json)', () => {
  interface Row {
    file: string;
    observed: number;
    K: number;
    theta: number;
    logLikelihood: number;
    predicted: Record<string, number>;
    final: number | null;
  }
  const reference = readReference<{ observationHours: number; horizonsHours: number[]; cascades: Row[] }>('hawkes-tideh-reference.json');
  const T = reference.observationHours;
  const timesOf = (file: string) => {
    const c = readMacroCascade(`tideh-rt/${file}`);
    return [0, ...c.events.filter((e) => e.time <= T * 3600).map((e) => e.time / 3600)];
  };

  it('has the 100 TiDeH cascades', () => expect(reference.cascades.length).toBe(100));

  it.each(reference.cascades.map((r) => [r.file, r] as const))('%s: likelihood, predictions at the reference parameters, our fit at least as likely', (_file, row) => {
    const times = timesOf(row.file);
    expect(times.length).toBe(row.observed);
    expect(relErr(hawkesLogLikelihood(times, T, row.K, row.theta), row.logLikelihood)).toBeLessThan(1e-12);
    const pending = pendingOffspring(times, T, row.K, row.theta);
    for (const h of reference.horizonsHours) expect(relErr(expectedSizeAfter(times.length, pending, row.K, row.theta, h - T), row.predicted[String(h.toFixed(1))])).toBeLessThan(1e-9);
    const final = expectedFinalSize(times.length, pending, row.K);
    if (row.final === null) expect(final).toBe(Infinity);
    else expect(relErr(final, row.final)).toBeLessThan(1e-9);
    const fit = fitHawkes(times, T);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(row.logLikelihood - 1e-6 * Math.abs(row.logLikelihood));
  });
});
