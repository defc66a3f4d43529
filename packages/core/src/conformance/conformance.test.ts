/**
 * The conformance kit itself: a well-behaved toy plugin of each task passes every check (through
 * `describePluginConformance`, as a plugin's test file calls it), and each way of breaking the
 * contract fails the check that covers it, with a message that says what is wrong.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelLoadError } from '../errors.js';
import { nothingToFit } from '../model-files.js';
import { RESERVED_USERS, type MacroscopicDataset, type MicroscopicDataset, type WindowedCascade } from '../data-types.js';
import type { DataNeed } from '../data-needs.js';
import { simulationRequestStream, type ModelPlugin, type MacroscopicModel, type MacroscopicPlugin, type MicroscopicModel, type MicroscopicPlugin, type SimulationRequest, type SimulationResult } from '../plugin.js';
import type { Rng } from '../rng.js';
import { conformanceChecks, describePluginConformance, tinyMacroscopicDataset, tinyMicroscopicDataset, type ConformanceOptions } from './index.js';

// ---- a well-behaved microscopic toy: next user sampled by training frequency (+ a random jitter) ----

const microSchema = z.strictObject({ jitter: z.number().min(0).default(0.1).describe('random jitter added to each learned weight') });

class ToyMicro implements MicroscopicModel {
  constructor(readonly weights: number[]) {}
  async simulate(requests: SimulationRequest[], rng: Rng): Promise<SimulationResult[]> {
    return requests.map((req, k) => {
      const stream = simulationRequestStream(rng, req, k);
      const sequences = new Int32Array(req.simulations * req.budget).fill(-1);
      for (let s = 0; s < req.simulations; s++) {
        const infected = new Set(req.seeds);
        for (let b = 0; b < req.budget; b++) {
          const w = this.weights.map((x, u) => (u < RESERVED_USERS || infected.has(u) ? 0 : x));
          if (w.every((x) => x === 0)) break;
          const u = stream.categorical(w);
          infected.add(u);
          sequences[s * req.budget + b] = u;
        }
      }
      return { simulations: req.simulations, budget: req.budget, sequences };
    });
  }
  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'toy.json'), JSON.stringify(this.weights));
  }
  dispose(): void {}
}

const goodMicro: MicroscopicPlugin<z.output<typeof microSchema>> = {
  name: 'toy-micro',
  task: 'microscopic',
  description: 'Toy next-user frequency model for the conformance kit tests.',
  hyperparameters: microSchema,
  async train(data: MicroscopicDataset, hp, ctx) {
    const weights = new Array<number>(data.users.size).fill(0);
    for (const c of data.train) for (const e of c.events.slice(1)) weights[e.user] += 1;
    for (let u = RESERVED_USERS; u < weights.length; u++) weights[u] += 0.01 + hp.jitter * ctx.rng.next();
    ctx.metrics.logMetric('train.users', weights.length, 1);
    return new ToyMicro(weights);
  },
  async load(dir) {
    const file = join(dir, 'toy.json');
    if (!existsSync(file)) throw new ModelLoadError(file, 'not found');
    return new ToyMicro(JSON.parse(readFileSync(file, 'utf8')));
  },
};

// ---- a well-behaved macroscopic toy: size(h) = observed * (1 + g log2(h / 6)), g fitted ----

const macroSchema = z.strictObject({ shrink: z.number().min(0).max(1).default(0).describe('shrinks the fitted growth towards 0') });

class ToyMacro implements MacroscopicModel {
  constructor(readonly growth: number) {}
  async predict(cascades: WindowedCascade[], horizonsHours: number[]) {
    return { sizes: cascades.map((c) => Float64Array.from(horizonsHours, (h) => c.observedSize * (1 + this.growth * Math.max(0, Math.log2(h / 6))))) };
  }
  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'toy.json'), JSON.stringify({ growth: this.growth }));
  }
  dispose(): void {}
}

const goodMacro: MacroscopicPlugin<z.output<typeof macroSchema>> = {
  name: 'toy-macro',
  task: 'macroscopic',
  description: 'Toy log-linear growth model for the conformance kit tests.',
  hyperparameters: macroSchema,
  async train(data: MacroscopicDataset, hp) {
    let sum = 0;
    let n = 0;
    for (const c of data.train)
      data.horizonsHours.forEach((h, i) => {
        sum += (c.targets[i] / c.observedSize - 1) / Math.log2(h / 6);
        n++;
      });
    return new ToyMacro((1 - hp.shrink) * (sum / n));
  },
  async load(dir) {
    const file = join(dir, 'toy.json');
    if (!existsSync(file)) throw new ModelLoadError(file, 'not found');
    return new ToyMacro(JSON.parse(readFileSync(file, 'utf8')).growth);
  },
};

describePluginConformance(goodMicro);
describePluginConformance(goodMacro);

// ---- a model with nothing to fit: size(h) = observed * (1 + growth log2(h / 6)), growth a hyperparameter ----

const fixedSchema = z.strictObject({ growth: z.number().min(0).default(0.5).describe('growth per doubling of the horizon') });
const fixedMacro: MacroscopicPlugin<z.output<typeof fixedSchema>> = {
  name: 'toy-fixed',
  task: 'macroscopic',
  description: 'Toy closed-form growth model with nothing to fit, for the conformance kit tests.',
  hyperparameters: fixedSchema,
  ...nothingToFit({ format: 'cascade-lab/toy-fixed', hyperparameters: fixedSchema, create: (hp) => new ToyMacro(hp.growth) }),
};
describePluginConformance(fixedMacro);

/** Runs the check whose name matches, expecting it to fail with a message matching `message`. */
async function expectCheckFails(plugin: ModelPlugin, check: RegExp, message: RegExp, options: ConformanceOptions = {}): Promise<void> {
  const suite = conformanceChecks(plugin, options);
  try {
    const c = suite.checks.find((x) => check.test(x.name));
    if (!c) throw new Error(`no check matches ${check}: ${suite.checks.map((x) => x.name).join('; ')}`);
    await expect(c.run()).rejects.toThrow(message);
  } finally {
    suite.dispose();
  }
}

describe('the conformance kit catches broken plugins', () => {
  it('tiny datasets are seeded and well-formed', () => {
    const a = tinyMicroscopicDataset();
    const b = tinyMicroscopicDataset();
    expect(a.train.map((c) => c.events.map((e) => e.user))).toEqual(b.train.map((c) => c.events.map((e) => e.user)));
    for (const c of [...a.train, ...a.test]) {
      const users = c.events.map((e) => e.user);
      expect(new Set(users).size).toBe(users.length);
      expect(users.every((u) => u >= RESERVED_USERS && u < a.users.size)).toBe(true);
    }
    const m = tinyMacroscopicDataset();
    for (const c of m.train) {
      expect(c.counts).toHaveLength(12);
      // Sizes grow with the horizon, from the observed size up.
      expect(c.targets[0]).toBeGreaterThanOrEqual(c.observedSize);
      expect(c.targets[2]).toBeGreaterThanOrEqual(c.targets[1]);
    }
  });

  it('schema: undescribed knobs, unknown keys accepted, defaults that do not validate, a bad name', async () => {
    await expectCheckFails({ ...goodMicro, hyperparameters: z.strictObject({ a: z.number().default(1) }) } as never, /schema/, /needs \.describe\(\.\.\.\).*: a/);
    await expectCheckFails({ ...goodMicro, hyperparameters: z.object({ a: z.number().default(1).describe('a') }) } as never, /schema/, /must reject unknown keys/);
    await expectCheckFails({ ...goodMicro, hyperparameters: z.strictObject({ a: z.number().describe('a') }) } as never, /schema/, /parsing \{\} must give the defaults/);
    await expectCheckFails({ ...goodMicro, name: 'Toy Micro' }, /schema/, /lower-case letters/);
  });

  it('reproducibility: randomness outside context.rng', async () => {
    const random: typeof goodMicro = { ...goodMicro, train: async (data, hp, ctx) => new ToyMicro((await goodMicro.train(data, hp, ctx) as ToyMicro).weights.map((w) => w + Math.random())) };
    await expectCheckFails(random, /same seed/, /two trainings with seed 7 predict differently/);
  });

  it('save/load: a model that does not save its state', async () => {
    const forgetful: typeof goodMicro = { ...goodMicro, load: async () => new ToyMicro(new Array(12).fill(1)) };
    await expectCheckFails(forgetful, /save -> load/, /the loaded model predicts differently/);
  });

  it('simulations: a repeated user, a seed predicted, batch-dependent randomness', async () => {
    class Repeating extends ToyMicro {
      override async simulate(requests: SimulationRequest[], rng: Rng) {
        const out = await super.simulate(requests, rng);
        for (const r of out) r.sequences[0] = requests[0].seeds[0];
        return out;
      }
    }
    const repeating: typeof goodMicro = { ...goodMicro, train: async (d, hp, ctx) => new Repeating((await goodMicro.train(d, hp, ctx) as ToyMicro).weights) };
    await expectCheckFails(repeating, /well-formed/, /infected twice \(or a seed predicted\)/);

    // One stream for the whole batch: a request's outcome depends on the requests before it.
    class Sequential extends ToyMicro {
      override async simulate(requests: SimulationRequest[], rng: Rng) {
        const stream = rng.derive('all');
        return requests.map((req) => {
          const sequences = new Int32Array(req.simulations * req.budget).fill(-1);
          for (let s = 0; s < req.simulations; s++) {
            const infected = new Set(req.seeds);
            for (let b = 0; b < req.budget; b++) {
              const w = this.weights.map((x, u) => (u < RESERVED_USERS || infected.has(u) ? 0 : x));
              const u = stream.categorical(w);
              infected.add(u);
              sequences[s * req.budget + b] = u;
            }
          }
          return { simulations: req.simulations, budget: req.budget, sequences };
        });
      }
    }
    const sequential: typeof goodMicro = { ...goodMicro, train: async (d, hp, ctx) => new Sequential((await goodMicro.train(d, hp, ctx) as ToyMicro).weights) };
    await expectCheckFails(sequential, /well-formed/, /simulated alone differs from the same request in a batch/);
  });

  it('next-user scores: one row per next user, infected users at -Infinity', async () => {
    class TooManyRows extends ToyMicro {
      async nextUserScores(cascade: number[]) {
        return cascade.map(() => Float32Array.from(this.weights));
      }
    }
    const tooMany: typeof goodMicro = { ...goodMicro, train: async (d, hp, ctx) => new TooManyRows((await goodMicro.train(d, hp, ctx) as ToyMicro).weights) };
    await expectCheckFails(tooMany, /well-formed/, /returned \d+ rows \(expected \d+: row t scores the user at position t \+ 1\)/);
    class Unmasked extends ToyMicro {
      async nextUserScores(cascade: number[]) {
        return cascade.slice(1).map(() => Float32Array.from(this.weights));
      }
    }
    const unmasked: typeof goodMicro = { ...goodMicro, train: async (d, hp, ctx) => new Unmasked((await goodMicro.train(d, hp, ctx) as ToyMicro).weights) };
    await expectCheckFails(unmasked, /well-formed/, /scores the already infected user \d+ .*: it must be -Infinity/);
  });

  it('sizes: shrinking with the horizon, NaN, wrong shape', async () => {
    class Shrinking extends ToyMacro {
      override async predict(cascades: WindowedCascade[], horizons: number[]) {
        return { sizes: cascades.map((c) => Float64Array.from(horizons, (h) => c.observedSize * 100 / h)) };
      }
    }
    await expectCheckFails({ ...goodMacro, train: async () => new Shrinking(0) }, /well-formed sizes/, /cumulative sizes cannot shrink/);
    class NotANumber extends ToyMacro {
      override async predict(cascades: WindowedCascade[], horizons: number[]) {
        return { sizes: cascades.map(() => Float64Array.from(horizons, () => NaN)) };
      }
    }
    await expectCheckFails({ ...goodMacro, train: async () => new NotANumber(0) }, /well-formed sizes/, /size NaN/);
    class Short extends ToyMacro {
      override async predict(cascades: WindowedCascade[]) {
        return { sizes: cascades.slice(1).map(() => new Float64Array(3)) };
      }
    }
    await expectCheckFails({ ...goodMacro, train: async () => new Short(0) }, /well-formed sizes/, /sizes for each of the 8 cascades, got 7/);
  });

  it('data needs: declared needs the fixture lacks, unknown names, and undeclared reads', async () => {
    await expectCheckFails({ ...goodMicro, dataNeeds: ['socialGraph'] }, /data needs/, /declares dataNeeds the test dataset tiny-micro does not meet: socialGraph/);
    await expectCheckFails({ ...goodMicro, dataNeeds: ['graph' as never] }, /data needs/, /dataNeeds \["graph"\] are not data needs/);
    // Needs as a function of the hyperparameters.
    await expectCheckFails({ ...goodMacro, dataNeeds: (hp: { shrink: number }): DataNeed[] => (hp.shrink > 0.5 ? ['cascadeGraph'] : []) }, /data needs/, /cascadeGraph/, { hyperparameters: { shrink: 0.9 } });
    // A model that reads the root text without declaring `text` trains on a fixture without text and fails.
    const reader: typeof goodMacro = {
      ...goodMacro,
      train: async (d, hp, ctx) => {
        if (!d.train.every((c) => c.textTokens)) throw new Error('no text');
        return goodMacro.train(d, hp, ctx);
      },
    };
    await expectCheckFails(reader, /same seed/, /training on the tiny dataset tiny-macro failed: Error: no text/);
    // Declared, it passes.
    const suite = conformanceChecks({ ...reader, dataNeeds: ['text', 'eventTimes'] });
    try {
      for (const c of suite.checks.filter((x) => /data needs|same seed/.test(x.name))) await c.run();
    } finally {
      suite.dispose();
    }
  });

  it('load: an empty folder must be refused, with the one load error code', async () => {
    await expectCheckFails({ ...goodMacro, load: async () => new ToyMacro(1) }, /empty folder|without a saved model/, /load\(\) of an empty folder succeeded/);
    await expectCheckFails(
      { ...goodMacro, load: async () => { throw new Error('nothing'); } },
      /without a saved model/,
      /must throw a ModelLoadError \(code MODEL_LOAD.*got no code: nothing/,
    );
  });

  it('nothing to fit: a model that reads the training data anyway is caught', async () => {
    await expectCheckFails({ ...goodMacro, fitting: 'none' }, /nothing to fit/, /predicts differently after training on other cascades/);
  });

  it('tensor leak: train + predict + dispose must return the count to where it was', async () => {
    let live = 0;
    class Leaky extends ToyMacro {
      override dispose(): void {}
    }
    const leaky: typeof goodMacro = {
      ...goodMacro,
      train: async (d, hp, ctx) => {
        live += 3; // three "tensors" allocated, never freed
        return new Leaky((await goodMacro.train(d, hp, ctx) as ToyMacro).growth);
      },
    };
    await expectCheckFails(leaky, /no tensor behind/, /3 tensor\(s\) leaked/, { numTensors: () => live });
  });
});
