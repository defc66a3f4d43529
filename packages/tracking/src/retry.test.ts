import { describe, expect, it } from '@jest/globals';
import { DEFAULT_RETRY_POLICY, backoffDelayMs, parseRetryAfter, withRetry, type RetryPolicy } from './retry.js';

const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 1000, backoffFactor: 2, maxDelayMs: 5000, jitter: 0.5, maxRetries: 4 };

describe('backoffDelayMs', () => {
  it('grows by the factor up to the cap; jitter takes off up to half', () => {
    // base = min(5000, 1000 * 2^n): 1000, 2000, 4000, 5000, 5000
    expect([0, 1, 2, 3, 4].map((n) => backoffDelayMs(policy, n, () => 0))).toEqual([1000, 2000, 4000, 5000, 5000]);
    // delay = base * (1 - 0.5 * u); u -> 1 gives half the base
    expect(backoffDelayMs(policy, 1, () => 0.999999)).toBeCloseTo(1000, 2);
    expect(backoffDelayMs(policy, 2, () => 0.5)).toBe(3000);
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter('0.25')).toBe(250);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('withRetry', () => {
  const fail = (retryable: boolean, retryAfterMs?: number) => Object.assign(new Error('x'), { retryable, retryAfterMs });
  const classify = (e: unknown) => e as { retryable: boolean; retryAfterMs?: number };

  it('retries retryable errors with backoff, and waits Retry-After instead when given', async () => {
    const waits: number[] = [];
    const errors = [fail(true), fail(true, 7000), fail(true)];
    const result = await withRetry(
      async (n) => {
        if (n < errors.length) throw errors[n];
        return 'ok';
      },
      classify,
      policy,
      { random: () => 0, sleep: async (ms) => void waits.push(ms) },
    );
    expect(result).toBe('ok');
    // attempt 0 -> backoff 1000; attempt 1 -> Retry-After 7000; attempt 2 -> backoff 4000
    expect(waits).toEqual([1000, 7000, 4000]);
  });

  it('caps Retry-After at maxRetryAfterMs', async () => {
    const waits: number[] = [];
    await withRetry(
      async (n) => {
        if (n === 0) throw fail(true, 10_000_000);
        return 1;
      },
      classify,
      { ...policy, maxRetryAfterMs: 30_000 },
      { sleep: async (ms) => void waits.push(ms) },
    );
    expect(waits).toEqual([30_000]);
  });

  it('gives up on final errors at once and after maxRetries on retryable ones', async () => {
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw fail(false); }, classify, policy, { sleep: async () => {} })).rejects.toThrow('x');
    expect(calls).toBe(1);
    calls = 0;
    await expect(withRetry(async () => { calls++; throw fail(true); }, classify, policy, { sleep: async () => {} })).rejects.toThrow('x');
    expect(calls).toBe(1 + policy.maxRetries);
  });

  it('stops when the next wait would pass the deadline', async () => {
    let calls = 0;
    const waits: number[] = [];
    await expect(
      withRetry(async () => { calls++; throw fail(true); }, classify, policy, {
        random: () => 0,
        deadline: Date.now() + 3500,
        sleep: async (ms) => void waits.push(ms),
      }),
    ).rejects.toThrow('x');
    // waits of 1000 and 2000 fit in 3.5 s (the fake sleep takes no time); 4000 does not.
    expect(waits).toEqual([1000, 2000]);
    expect(calls).toBe(3);
  });
});
