/**
 * Univariate Hawkes process with an exponential kernel, the generative baseline of the GammaCas
 * paper (Sec. 5.2), fitted by maximum likelihood to one cascade at a time. The root post (t_0 = 0)
 * is the only immigrant; every post, the root included, raises the rate of later reshares by
 *
 *     lambda(t) = sum_{t_j < t} K theta e^{-theta (t - t_j)},                                  (1)
 *
 * K the branching factor (expected direct reshares per post) and theta the decay rate. On the
 * observation window [0, T] with posts t_0 = 0 <= t_1 <= ... <= t_{n-1} <= T the log-likelihood is
 *
 *     l(K, theta) = sum_{i >= 1} log lambda(t_i) - K sum_{i >= 0} (1 - e^{-theta (T - t_i)}).   (2)
 *
 * Posts at the same time count as earlier for each other (lambda at a tie includes the tied posts:
 * the O(n) recursion's convention, and the reference's).
 *
 * Fitting. For fixed theta, (2) is m log K - K C(theta) + const with m = n - 1 reshares and
 * C(theta) = sum_i (1 - e^{-theta (T - t_i)}), so the best K is m / C(theta) in closed form and the
 * fit is a one-dimensional search over theta of the profile likelihood
 *
 *     lp(theta) = m log(m / C) - m + m log theta - theta t_{n-1} + sum_{i=0}^{n-2} log Q_i,   (3)
 *
 * with the recursion Q_0 = 1, Q_i = 1 + e^{-theta (t_i - t_{i-1})} Q_{i-1} (Q_i = sum_{j <= i}
 * e^{-theta (t_i - t_j)}): log lambda(t_i) = log K theta + log Q_{i-1} - theta (t_i - t_{i-1}), and the
 * differences telescope. Its derivative uses P_i = sum_{j <= i} (t_i - t_j) e^{-theta (t_i - t_j)} =
 * e^{-theta dt} (P_{i-1} + dt Q_{i-1}) (dQ_i / dtheta = -P_i). The search: lp on a grid in log theta,
 * then every local maximum on it refined by a bracketing root search on dlp / dlog theta; the global
 * best wins. A 1-D profile searched on a grid cannot stop in a poor local optimum the way a 2-D local
 * optimiser from few starts can.
 *
 * Prediction (expected size, from the conditional mean of (1) given the history up to T): the rate
 * just after T is theta A1 with A1 = K sum_i e^{-theta (T - t_i)}, and it decays at theta (1 - K), so
 *
 *     E N(T + D) = N(T) + A1 (1 - e^{-theta (1 - K) D}) / (1 - K)     (= N(T) + A1 theta D at K = 1),
 *     E N(inf)   = N(T) + A1 / (1 - K)  for K < 1, infinite for K >= 1 (supercritical).
 *
 * Marks (an option beyond the paper, MODELS.md): post j's bump is scaled by w_j = m_j^beta, m_j its
 * follower count (at least m_min = 1), as SEISMIC scales exposure by followers. Every formula above
 * holds with the sums weighted by w (Q_i = w_i + e^{-theta dt} Q_{i-1}, C = sum_i w_i (1 - ...),
 * A1 = K sum_i w_i e^{-theta (T - t_i)}), and a future post's expected weight under power-law
 * follower counts (density ~ m^-alpha, m >= 1) is E w = (alpha - 1) / (alpha - 1 - beta), so the
 * branching factor is n* = K E w and it replaces K in the prediction formulas. Without weights
 * every w_j = 1 and n* = K.
 *
 * Times in any unit (the plugin uses hours, as the reference does); theta is per that unit.
 */

/** Posts of one cascade: times sorted, times[0] = 0 the root, all <= the observation end. */
export type PostTimes = ArrayLike<number>;

/** Mark weights w_j, index-aligned with the post times; absent: every w_j = 1 (the unmarked model). */
export type MarkWeights = ArrayLike<number> | undefined;

const weightAt = (weights: MarkWeights, i: number): number => (weights === undefined ? 1 : weights[i]);

/** w_j = max(followers_j, 1)^beta: the mark weights of a marked fit. */
export function markWeights(followers: ArrayLike<number>, beta: number): Float64Array {
  return Float64Array.from(followers, (f) => Math.pow(Math.max(f, 1), beta));
}

/** E w = (alpha - 1) / (alpha - 1 - beta) for power-law marks m >= 1 of exponent alpha; Infinity when beta >= alpha - 1. */
export function meanMarkWeight(alpha: number, beta: number): number {
  return beta < alpha - 1 ? (alpha - 1) / (alpha - 1 - beta) : Infinity;
}

/** The log-likelihood (2) computed directly, for reporting and tests (O(n), accurate for any theta). */
export function hawkesLogLikelihood(times: PostTimes, T: number, K: number, theta: number, weights?: MarkWeights): number {
  const n = times.length;
  let sum = 0;
  let r = 0; // R_i = sum_{j < i} w_j e^{-theta (t_i - t_j)} (ties included)
  for (let i = 1; i < n; i++) {
    r = Math.exp(-theta * (times[i] - times[i - 1])) * (weightAt(weights, i - 1) + r);
    sum += Math.log(K * theta * r);
  }
  let compensator = 0;
  for (let i = 0; i < n; i++) compensator += -weightAt(weights, i) * Math.expm1(-theta * (T - times[i]));
  return sum - K * compensator;
}

export interface ProfilePoint {
  /** lp(theta) of (3). */
  value: number;
  /** d lp / d log theta. */
  slope: number;
  /** The best K at this theta: m / C(theta). */
  K: number;
}

/** The profile log-likelihood (3) and its slope in log theta, O(n): one exp and one log per post. */
export function profileLogLikelihood(times: PostTimes, T: number, theta: number, weights?: MarkWeights): ProfilePoint {
  const n = times.length;
  const m = n - 1;
  let total = weightAt(weights, 0);
  let q = total;
  let p = 0;
  let logQSum = 0; // sum_{i=0}^{n-2} log Q_i
  let ratioSum = 0; // sum_{i=0}^{n-2} P_i / Q_i
  for (let i = 1; i < n; i++) {
    logQSum += Math.log(q);
    ratioSum += p / q;
    const dt = times[i] - times[i - 1];
    const e = Math.exp(-theta * dt);
    p = e * (p + dt * q);
    const w = weightAt(weights, i);
    q = w + e * q;
    total += w;
  }
  const tLast = times[n - 1];
  const tau = T - tLast;
  const eTau = Math.exp(-theta * tau);
  // C = sum_i w_i (1 - e^{-theta (T - t_i)}) = sum_i w_i - e^{-theta tau} Q_{n-1}; C' = e^{-theta tau} (tau Q + P).
  const c = total - eTau * q;
  const dc = eTau * (tau * q + p);
  const value = m * Math.log(m / c) - m + m * Math.log(theta) - theta * tLast + logQSum;
  const derivative = -(m * dc) / c + m / theta - tLast - ratioSum;
  return { value, slope: theta * derivative, K: m / c };
}

export interface HawkesFitOptions {
  /** Grid of log theta: from thetaMin to thetaMax (per time unit) in equal steps of at most gridStep. */
  thetaMin: number;
  thetaMax: number;
  gridStep: number;
  /** Stop refining when the bracket in log theta is this narrow. */
  tolerance: number;
}

/** theta from 1e-2 to 1e6 per observation window, in steps of e^0.25 (75 points over 6 h). */
export function defaultFitOptions(T: number): HawkesFitOptions {
  return { thetaMin: 1e-2 / T, thetaMax: 1e6 / T, gridStep: 0.25, tolerance: 1e-10 };
}

export interface HawkesFit {
  K: number;
  theta: number;
  /** (2) at (K, theta). */
  logLikelihood: number;
  /** Profile evaluations spent (each one pass over the posts). */
  evaluations: number;
  /** True when the best theta lies on the grid's edge (the likelihood still rising beyond it). */
  atBoundary: boolean;
}

/**
 * Maximum-likelihood (K, theta) of one cascade. No reshare (n = 1): K = 0 (nothing follows), theta
 * undefined and reported as 0.
 */
export function fitHawkes(times: PostTimes, T: number, options: HawkesFitOptions = defaultFitOptions(T), weights?: MarkWeights): HawkesFit {
  const n = times.length;
  if (n < 2) return { K: 0, theta: 0, logLikelihood: 0, evaluations: 0, atBoundary: false };
  let evaluations = 0;
  const at = (u: number): ProfilePoint => {
    evaluations++;
    return profileLogLikelihood(times, T, Math.exp(u), weights);
  };
  const lo = Math.log(options.thetaMin);
  const hi = Math.log(options.thetaMax);
  // Equal steps of at most gridStep from thetaMin to exactly thetaMax.
  const steps = Math.max(2, Math.ceil((hi - lo) / options.gridStep));
  const us: number[] = [];
  const points: ProfilePoint[] = [];
  for (let k = 0; k <= steps; k++) {
    const u = k === steps ? hi : lo + (k * (hi - lo)) / steps;
    us.push(u);
    points.push(at(u));
  }
  const value = (k: number) => (Number.isFinite(points[k].value) ? points[k].value : -Infinity);
  let bestK = 0;
  for (let k = 1; k <= steps; k++) if (value(k) > value(bestK)) bestK = k;
  let bestU = us[bestK];
  let best = points[bestK];
  for (let k = 0; k <= steps; k++) {
    const left = k > 0 ? value(k - 1) : -Infinity;
    const right = k < steps ? value(k + 1) : -Infinity;
    if (value(k) === -Infinity || value(k) < left || value(k) < right) continue;
    // Still rising past the grid's edge: keep the edge (atBoundary below says so).
    if ((k === 0 && points[k].slope < 0) || (k === steps && points[k].slope > 0)) continue;
    const [u, point] = refine(at, us[Math.max(0, k - 1)], us[Math.min(steps, k + 1)], options.tolerance);
    if (point.value > best.value) {
      best = point;
      bestU = u;
    }
  }
  const atBoundary = (bestU === us[0] && best.slope < 0) || (bestU === us[steps] && best.slope > 0);
  const theta = Math.exp(bestU);
  return { K: best.K, theta, logLikelihood: hawkesLogLikelihood(times, T, best.K, theta, weights), evaluations, atBoundary };
}

export interface MarkedHawkesFit extends HawkesFit {
  /** beta: the mark exponent (fitted, or as given). */
  beta: number;
}

/**
 * Maximum likelihood over (K, theta, beta) with marks w_j = max(followers_j, 1)^beta: the (K, theta)
 * fit above for each beta, beta on a grid of `betaSteps` + 1 points over [0, betaMax], then
 * golden-section search in the best grid point's neighbourhood. `beta` given: only (K, theta).
 */
export function fitMarkedHawkes(times: PostTimes, followers: ArrayLike<number>, T: number, options: HawkesFitOptions, marks: { beta?: number; betaMax: number; betaSteps?: number }): MarkedHawkesFit {
  const fitAt = (beta: number): MarkedHawkesFit => ({ ...fitHawkes(times, T, options, markWeights(followers, beta)), beta });
  if (marks.beta !== undefined) return fitAt(marks.beta);
  const steps = marks.betaSteps ?? 6;
  const grid = Array.from({ length: steps + 1 }, (_, k) => fitAt((k * marks.betaMax) / steps));
  let k = 0;
  for (let j = 1; j <= steps; j++) if (grid[j].logLikelihood > grid[k].logLikelihood) k = j;
  let best = grid[k];
  let a = grid[Math.max(0, k - 1)].beta;
  let b = grid[Math.min(steps, k + 1)].beta;
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = fitAt(b - g * (b - a));
  let x2 = fitAt(a + g * (b - a));
  while (b - a > 1e-4 * Math.max(1, marks.betaMax)) {
    if (x1.logLikelihood >= x2.logLikelihood) {
      b = x2.beta;
      x2 = x1;
      x1 = fitAt(b - g * (b - a));
    } else {
      a = x1.beta;
      x1 = x2;
      x2 = fitAt(a + g * (b - a));
    }
  }
  for (const f of [x1, x2]) if (f.logLikelihood > best.logLikelihood) best = f;
  return best;
}

/**
 * The maximum of lp on [a, b] (log theta): a root of the slope by regula falsi with the Illinois
 * modification when the slope changes sign on the bracket, else golden-section search on the value.
 */
function refine(at: (u: number) => ProfilePoint, a: number, b: number, tolerance: number): [number, ProfilePoint] {
  let pa = at(a);
  let pb = at(b);
  if (pa.slope > 0 && pb.slope < 0) {
    let best: [number, ProfilePoint] = pa.value > pb.value ? [a, pa] : [b, pb];
    let side = 0;
    for (let iter = 0; iter < 100 && b - a > tolerance; iter++) {
      const u = (a * pb.slope - b * pa.slope) / (pb.slope - pa.slope);
      const pu = at(u);
      if (pu.value > best[1].value) best = [u, pu];
      if (pu.slope === 0) return [u, pu];
      if (pu.slope > 0) {
        a = u;
        pa = pu;
        if (side === -1) pb = { ...pb, slope: pb.slope / 2 };
        side = -1;
      } else {
        b = u;
        pb = pu;
        if (side === 1) pa = { ...pa, slope: pa.slope / 2 };
        side = 1;
      }
    }
    return best;
  }
  // No sign change (a flat or kinked profile): golden-section search on the value.
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = b - g * (b - a);
  let x2 = a + g * (b - a);
  let p1 = at(x1);
  let p2 = at(x2);
  for (let iter = 0; iter < 200 && b - a > tolerance; iter++) {
    if (p1.value >= p2.value) {
      b = x2;
      x2 = x1;
      p2 = p1;
      x1 = b - g * (b - a);
      p1 = at(x1);
    } else {
      a = x1;
      x1 = x2;
      p1 = p2;
      x2 = a + g * (b - a);
      p2 = at(x2);
    }
  }
  const candidates: [number, ProfilePoint][] = [
    [x1, p1],
    [x2, p2],
    [a, pa],
    [b, pb],
  ];
  return candidates.reduce((m, c) => (c[1].value > m[1].value ? c : m));
}

/** A1 = K sum_i w_i e^{-theta (T - t_i)}: the expected direct offspring still to come from the posts so far. */
export function pendingOffspring(times: PostTimes, T: number, K: number, theta: number, weights?: MarkWeights): number {
  let s = 0;
  for (let i = 0; i < times.length; i++) s += weightAt(weights, i) * Math.exp(-theta * (T - times[i]));
  return K * s;
}

/**
 * Expected size (posts, root included) at time T + D given the posts up to T, in closed form:
 * N(T) + A1 (1 - e^{-theta (1 - K) D}) / (1 - K), written as N(T) + A1 theta D (1 - e^{-x}) / x with
 * x = theta (1 - K) D so that K = 1 is its continuous limit. Grows without bound in D when K >= 1.
 * With marks, pass the branching factor n* = K E w as K.
 */
export function expectedSizeAfter(observed: number, pending: number, K: number, theta: number, D: number): number {
  if (!(D > 0) || pending === 0) return observed;
  const x = theta * (1 - K) * D;
  const factor = x === 0 ? 1 : -Math.expm1(-x) / x;
  return observed + pending * theta * D * factor;
}

/** Expected final size N(T) + A1 / (1 - K); Infinity when K >= 1 (and the cascade has pending offspring). With marks, K = n*. */
export function expectedFinalSize(observed: number, pending: number, K: number): number {
  if (pending === 0) return observed;
  return K >= 1 ? Infinity : observed + pending / (1 - K);
}
