import { availableParallelism } from 'node:os';
import { describe, expect, it } from '@jest/globals';
import { defaultPredictContext, executionConfigSchema, executionSettings } from './execution.js';
import { secondsPerTimeUnit } from './data-types.js';

describe('execution settings', () => {
  it('default to every core and leave plugin defaults open', () => {
    expect(executionSettings()).toEqual({ workers: availableParallelism() });
    expect(executionSettings(executionConfigSchema.parse({ workers: 3, batchRows: 512, gradients: 'tape' }))).toEqual({ workers: 3, batchRows: 512, gradients: 'tape' });
  });

  it('reject unknown keys and bad values', () => {
    expect(executionConfigSchema.safeParse({ worker: 2 }).success).toBe(false);
    expect(executionConfigSchema.safeParse({ workers: 0 }).success).toBe(false);
    expect(executionConfigSchema.safeParse({ gradients: 'numeric' }).success).toBe(false);
  });

  it('give predict a seeded default context', () => {
    const a = defaultPredictContext(5);
    const b = defaultPredictContext(5);
    expect(a.rng.next()).toBe(b.rng.next());
    expect(a.signal.aborted).toBe(false);
  });
});

describe('time units', () => {
  it('convert to seconds, and never guess an unknown unit', () => {
    expect([secondsPerTimeUnit('seconds'), secondsPerTimeUnit('minutes'), secondsPerTimeUnit('hours'), secondsPerTimeUnit('days')]).toEqual([1, 60, 3600, 86400]);
    expect(secondsPerTimeUnit('unknown')).toBeUndefined();
  });
});
