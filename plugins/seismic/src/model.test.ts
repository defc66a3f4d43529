import { MacroCascade } from '@cascade-lab/core';
import {
  chiSquareQuantile,
  infectiousnessAt,
  memoryCcdf,
  memoryPdf,
  predictFinalReshares,
  triangularKernelIntegral,
  TWITTER_MEMORY_KERNEL,
  type Shares,
} from './model.js';
import { readMacroCascade, readReference } from './reference.test-util.js';

/** The root (time 0, its followers) then every retweet: the arrays SEISMIC works on. */
export function sharesOf(c: MacroCascade): Shares {
  return { times: [0, ...c.events.map((e) => e.time)], followers: [c.rootFollowers, ...c.events.map((e) => e.followers)] };
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('seismic memory kernel', () => {
  const k = TWITTER_MEMORY_KERNEL;

  it('phi is c up to s0, then c (s/s0)^-(1+theta) (Sec. 3.1)', () => {
    expect(memoryPdf(100)).toBe(k.c);
    // Hand: at s = 2 s0 the density is c 2^-(1.2314843).
    expect(memoryPdf(600)).toBeCloseTo(k.c * Math.pow(2, -1.2314843), 15);
    expect(memoryPdf(-1)).toBe(0);
  });

  it('the ccdf pieces meet at s0 to within 2e-7 (c normalises phi to that precision)', () => {
    // Hand (python3 floats): 1 - c s0 = 0.81202825; c s0 / theta = 0.18797175 / 0.2314843 =
    // 0.8120280727461862, a gap of 1.7725e-7.
    expect(memoryCcdf(300)).toBeCloseTo(0.81202825, 14);
    expect(memoryCcdf(300 + 1e-9)).toBeCloseTo(0.8120280727461862, 11); // the 1e-9 s step moves it by 6e-13
    expect(memoryCcdf(0)).toBe(1);
  });

  it('the triangular-kernel integral: hand-computed inside the constant part', () => {
    // s = 0, p = 200, w = 300: K(t) = 1 - (200 - t)/300 on [0, 200], phi = c:
    // c int_0^200 (100 + t)/300 dt = c (100*200 + 200^2/2) / 300 = c * 40000 / 300.
    expect(relErr(triangularKernelIntegral(200, 0, 300), (k.c * 40000) / 300)).toBeLessThan(1e-14);
    expect(triangularKernelIntegral(100, 100, 300)).toBe(0);
    expect(triangularKernelIntegral(50, 100, 300)).toBe(0);
  });

  it('the triangular-kernel integral equals Simpson quadrature of phi(t - s) K(t) in every regime', () => {
    // The five cases of the kernel's support against the window (post inside the constant part,
    // inside the window, window cutting the constant part, window past it).
    const cases: [number, number, number][] = [
      [1000, 900, 300], // p - s < s0 <= w
      [5000, 1000, 7200], // s0 < p - s <= w
      [5000, 1000, 3900], // w < p - s <= w + s0
      [20000, 0, 7200], // p - s > w + s0
      [21600, 21500, 7200],
    ];
    for (const [p, s, w] of cases) {
      // Composite Simpson on [max(s, p - w), p], split at s + s0 where phi has a kink.
      const f = (t: number) => memoryPdf(t - s) * (1 - (p - t) / w);
      const simpson = (a: number, b: number, n = 20000) => {
        if (b <= a) return 0;
        const h = (b - a) / n;
        let acc = f(a) + f(b);
        for (let i = 1; i < n; i++) acc += (i % 2 ? 4 : 2) * f(a + i * h);
        return (acc * h) / 3;
      };
      const a = Math.max(s, p - w);
      const kink = Math.min(Math.max(s + k.cutoffSeconds, a), p);
      const quadrature = simpson(a, kink) + simpson(kink, p);
      expect(relErr(triangularKernelIntegral(p, s, w), quadrature)).toBeLessThan(1e-9);
    }
  });

  it('a post without reshares: infectiousness 0, final size 0 reshares', () => {
    const got = predictFinalReshares({ times: [0], followers: [1000] }, 21600);
    expect(got.infectiousness).toBe(0);
    expect(got.observedReshares).toBe(0);
    expect(got.finalReshares).toBe(0);
  });

  it('a tiny cascade by hand: constant kernel part, window widened to the last posts', () => {
    // Root (100 followers) at 0, reshares at 100 s and 200 s (10 followers each), estimated at p = 400:
    // w = clamp(200, 300, 7200) = 300 holds 2 posts (< 5), so w = 400 - t_root = 400.
    // Numerator: K(100) + K(200) = (1 - 300/400) + (1 - 200/400) = 0.75.
    // Exposure: n_i c int_{t_i}^{400} (1 - (400 - t)/400) dt = n_i c (400^2 - t_i^2) / 800 (all within
    // s0 = 300 s of their post? no: the root's kernel turns to a power law at 300 s, so integrate
    // piecewise). The root: c [int_0^300 t/400 dt] + c int_300^400 (t/300)^-1.2314843 t/400 dt.
    const c = TWITTER_MEMORY_KERNEL.c;
    const th = TWITTER_MEMORY_KERNEL.theta;
    // int_300^400 (t/300)^-(1+th) t dt = 300^(1+th) (400^(1-th) - 300^(1-th)) / (1 - th)
    const rootTail = (Math.pow(300, 1 + th) * (Math.pow(400, 1 - th) - Math.pow(300, 1 - th))) / (1 - th);
    const root = 100 * ((c * (300 * 300)) / 2 / 400 + (c * rootTail) / 400);
    const share = (t: number) => 10 * ((c * (400 * 400 - t * t)) / 800);
    const expected = 0.75 / (root + share(100) + share(200));
    const got = infectiousnessAt({ times: [0, 100, 200], followers: [100, 10, 10] }, 400);
    expect(got.windowSeconds).toBe(400);
    expect(got.sharesInWindow).toBe(2);
    expect(relErr(got.infectiousness, expected)).toBeLessThan(1e-12);
  });

  it('chi-square quantiles match scipy', () => {
    // scipy.stats.chi2.ppf(q, k), scipy 1.17.1
    const expected: [number, number, number][] = [
      [0.05, 46, 31.43899526669704],
      [0.95, 46, 62.829620411408165],
      [0.05, 2, 0.10258658877510106],
      [0.95, 10, 18.307038053275146],
      [0.05, 1964, 1862.0603294848577],
      [0.95, 1964, 2068.2136031914383],
    ];
    for (const [q, dof, x] of expected) expect(relErr(chiSquareQuantile(q, dof), x)).toBeLessThan(1e-12);
  });
});

describe('seismic against the CRAN package (shared/reference/seismic-reference.json)', () => {
  interface Row {
    data: string;
    p_time_s: number;
    infectiousness: number;
    p_low: number;
    p_up: number;
    prediction: number | 'Inf';
    observed_events_le_t: number;
  }
  const reference = readReference<{ rows: Row[] }>('seismic-reference.json');
  const cascades = new Map<string, Shares>();
  const shares = (file: string) => {
    if (!cascades.has(file)) cascades.set(file, sharesOf(readMacroCascade(file)));
    return cascades.get(file)!;
  };

  it('covers both datasets and a supercritical case', () => {
    expect(reference.rows.length).toBe(22);
    expect(reference.rows.filter((r) => r.prediction === 'Inf').length).toBe(2);
  });

  it.each(reference.rows.map((r) => [r.data, r.p_time_s, r] as const))('%s at %d s: infectiousness, interval and final size to 1e-6 relative', (file, p, row) => {
    const s = shares(file);
    const got = predictFinalReshares(s, p);
    expect(relErr(got.infectiousness, row.infectiousness)).toBeLessThan(1e-6);
    expect(relErr(got.low, row.p_low)).toBeLessThan(1e-6);
    expect(relErr(got.up, row.p_up)).toBeLessThan(1e-6);
    // The package counts reshares, the root excluded: observed_events_le_t counts the root too.
    expect(got.observedReshares + 1).toBe(row.observed_events_le_t);
    if (row.prediction === 'Inf') expect(got.finalReshares).toBe(Infinity);
    else expect(relErr(got.finalReshares, row.prediction)).toBeLessThan(1e-6);
    // The stand-alone estimate is the one the prediction used.
    expect(infectiousnessAt(s, p).infectiousness).toBe(got.infectiousness);
  });
});
