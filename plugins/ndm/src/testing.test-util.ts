import { executionSettings, Rng, type Cascade, type MicroscopicDataset, type TrainContext, type UserVocabulary } from '@cascade-lab/core';
import { tf } from './tf.js';
import { architectureOf, initialWeights, type NdmArchitecture, type NdmWeights } from './weights.js';
import { defaultHyperparameters, type NdmHyperparameters } from './hyperparameters.js';

/** Runs every test of a file on the pure-JS backend (exact, deterministic, no WASM start-up). */
export async function useBackend(name: 'cpu' | 'wasm' = 'cpu'): Promise<void> {
  await tf.setBackend(name);
  await tf.ready();
}

export function vocabulary(size: number): UserVocabulary {
  return {
    size,
    indexOf: (raw) => (/^\d+$/.test(raw) && Number(raw) < size ? Number(raw) : undefined),
    rawIdOf: (i) => String(i),
  };
}

/**
 * Cascades with a learnable order: each starts at a random real user u and continues u+1, u+2, ...
 * (wrapping over the real users 2..numUsers-1) for 2..maxLength users.
 */
export function chainCascades(count: number, numUsers: number, maxLength: number, rng: Rng): Cascade[] {
  const real = numUsers - 2;
  const out: Cascade[] = [];
  for (let i = 0; i < count; i++) {
    const start = rng.int(real);
    const n = 2 + rng.int(maxLength - 1);
    out.push({ id: `c${i}`, events: Array.from({ length: n }, (_, k) => ({ user: 2 + ((start + k) % real), time: k })) });
  }
  return out;
}

export function chainDataset(numUsers = 12, seed = 7): MicroscopicDataset {
  const rng = Rng.fromSeed(seed);
  return {
    name: 'chains',
    users: vocabulary(numUsers),
    timeUnit: 'unknown',
    train: chainCascades(48, numUsers, 6, rng.derive('train')),
    validation: chainCascades(12, numUsers, 6, rng.derive('validation')),
    test: chainCascades(12, numUsers, 6, rng.derive('test')),
  };
}

/** A small architecture for fast tests (d 8, h 2, win 3 unless overridden). */
export function smallHyperparameters(overrides: Partial<NdmHyperparameters> = {}): NdmHyperparameters {
  return defaultHyperparameters({ dimension: 8, heads: 2, batchSize: 8, maxEpochs: 3, patience: 0, learningRateSchedule: 'constant', learningRate: 0.01, ...overrides });
}

export function smallModel(numUsers = 12, overrides: Partial<NdmHyperparameters> = {}, seed = 3): { arch: NdmArchitecture; weights: NdmWeights; hp: NdmHyperparameters } {
  const hp = smallHyperparameters(overrides);
  const arch = architectureOf(hp, numUsers);
  return { arch, hp, weights: initialWeights(arch, Rng.fromSeed(seed)) };
}

export interface RecordedContext extends TrainContext {
  logged: { key: string; value: number; step?: number }[];
  ticks: number;
}

export function trainContext(seed = 1, signal?: AbortSignal): RecordedContext {
  const logged: RecordedContext['logged'] = [];
  const ctx: RecordedContext = {
    rng: Rng.fromSeed(seed),
    backend: { name: tf.getBackend(), package: 'test', device: 'cpu' },
    execution: executionSettings({ workers: 1 }),
    progress: {
      start: () => ({
        tick: () => {
          ctx.ticks++;
        },
        status() {},
        done() {},
      }),
    },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    metrics: { logMetric: (key, value, step) => logged.push({ key, value, step }) },
    signal: signal ?? new AbortController().signal,
    workDir: '/tmp',
    logged,
    ticks: 0,
  };
  return ctx;
}
