import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { RESERVED_USERS, type MacroscopicDataset, type MicroscopicDataset } from '../data-types.js';
import { MemoryLogger } from '../logging.js';
import type { BackendInfo, InferenceContext, MacroscopicModel, MicroscopicModel, ModelPlugin, SimulationRequest, SimulationResult, SizePredictions, TrainContext } from '../plugin.js';
import { quietProgress } from '../progress.js';
import { Rng } from '../rng.js';
import { executionSettings } from '../execution.js';
import { tinyMacroscopicDataset, tinyMicroscopicDataset } from './datasets.js';

/** A contract check that failed: the message says what the plugin did and what the contract asks. */
export class ConformanceError extends Error {
  constructor(plugin: string, message: string) {
    super(`plugin "${plugin}": ${message}`);
    this.name = 'ConformanceError';
  }
}

export interface ConformanceOptions {
  /**
   * Hyperparameters for the tiny dataset (fast settings: one or two epochs, small dimensions);
   * the plugin's schema fills in the rest. Default `{}` (the plugin's defaults).
   */
  hyperparameters?: Record<string, unknown>;
  /** Dataset to train and predict on (default: `tinyMicroscopicDataset()` / `tinyMacroscopicDataset()`). */
  dataset?: MicroscopicDataset | MacroscopicDataset;
  /** Prepares the tensor backend (e.g. `() => initBackend('cpu')`) and returns it; default: no tensors. */
  setup?: () => Promise<BackendInfo>;
  /** Live tensor count (`() => tf.memory().numTensors`): enables the tensor-leak check. */
  numTensors?: () => number;
  /** Seed of the reproducibility check (default 7). */
  seed?: number;
  /** Simulations per request in the simulator checks (default 20). */
  simulations?: number;
}

/** One named contract check; `run` throws a ConformanceError when the plugin breaks the contract. */
export interface ConformanceCheck {
  name: string;
  run(): Promise<void>;
}

export interface ConformanceSuite {
  checks: ConformanceCheck[];
  /** Disposes the models the checks trained and removes their folders. */
  dispose(): void;
}

type Model = MicroscopicModel | MacroscopicModel;
type Outputs = { kind: 'micro'; results: SimulationResult[]; scores?: Float32Array[] } | { kind: 'macro'; predictions: SizePredictions };

const NO_BACKEND: BackendInfo = { name: 'none', package: 'none', device: 'cpu' };

/**
 * The plugin contract (packages/core/src/plugin.ts) as runnable checks, shared by every plugin's
 * tests through `describePluginConformance` (jest.ts):
 * 1. name, task, description, and a hyperparameter schema whose defaults validate (every field described);
 * 2. training on a tiny dataset works, and the same seed gives the same model (same outputs);
 * 3. save -> load gives the same predictions;
 * 4. the simulator (microscopic) or predictor (macroscopic) returns well-formed output;
 * 5. loading a folder without a saved model fails with an error;
 * 6. with `numTensors`: no tensor is left behind by a train + evaluate + dispose cycle.
 */
export function conformanceChecks(plugin: ModelPlugin, options: ConformanceOptions = {}): ConformanceSuite {
  const fail = (message: string): never => {
    throw new ConformanceError(plugin.name, message);
  };
  const micro = plugin.task === 'microscopic';
  const data = options.dataset ?? (micro ? tinyMicroscopicDataset() : tinyMacroscopicDataset());
  const seed = options.seed ?? 7;
  const simulations = options.simulations ?? 20;
  const dirs: string[] = [];
  const models: Model[] = [];
  let backend: Promise<BackendInfo> | undefined;
  const ready = () => (backend ??= options.setup ? options.setup() : Promise.resolve(NO_BACKEND));

  const hyperparameters = (): unknown => {
    const parsed = plugin.hyperparameters.safeParse(options.hyperparameters ?? {});
    if (!parsed.success) fail(`the test hyperparameters ${JSON.stringify(options.hyperparameters ?? {})} do not validate: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return parsed.data;
  };
  const tempDir = (label: string) => {
    const d = mkdtempSync(join(tmpdir(), `conformance-${plugin.name}-${label}-`));
    dirs.push(d);
    return d;
  };
  const context = async (s: number): Promise<TrainContext & { logged: { key: string; value: number }[] }> => {
    const logged: { key: string; value: number }[] = [];
    return {
      rng: Rng.fromSeed(s),
      backend: await ready(),
      progress: quietProgress,
      logger: new MemoryLogger(),
      metrics: { logMetric: (key, value) => void logged.push({ key, value }) },
      signal: new AbortController().signal,
      workDir: tempDir('work'),
      // One worker: the kit runs inside test processes; results must not depend on the count anyway.
      execution: executionSettings({ workers: 1 }),
      logged,
    };
  };
  const inference = async (): Promise<InferenceContext> => ({ backend: await ready(), logger: new MemoryLogger(), signal: new AbortController().signal, execution: executionSettings({ workers: 1 }) });

  const train = async (s: number): Promise<Model> => {
    const ctx = await context(s);
    let model: Model;
    try {
      model = plugin.task === 'microscopic' ? await plugin.train(data as MicroscopicDataset, hyperparameters(), ctx) : await plugin.train(data as MacroscopicDataset, hyperparameters(), ctx);
    } catch (e) {
      if (e instanceof ConformanceError) throw e;
      return fail(`training on the tiny dataset ${data.name} failed: ${(e as Error).stack ?? e}`);
    }
    models.push(model);
    for (const m of ctx.logged) if (typeof m.value !== 'number' || m.key.trim() === '') fail(`logged metric ${JSON.stringify(m.key)} = ${String(m.value)}: keys must be non-empty and values numbers`);
    return model;
  };

  // Requests over the test cascades: seeded with the first user, a budget of the rest (at least 1).
  const requests = (): SimulationRequest[] =>
    (data as MicroscopicDataset).test.map((c, i) => ({ seeds: [c.events[0].user], startTime: c.events[0].time, budget: Math.max(1, c.events.length - 1), simulations, label: `cascade:${i}` }));

  const outputs = async (model: Model): Promise<Outputs> => {
    if (micro) {
      const m = model as MicroscopicModel;
      const results = await m.simulate(requests(), Rng.fromSeed(11));
      const scores = m.nextUserScores ? await m.nextUserScores((data as MicroscopicDataset).test[0].events.map((e) => e.user)) : undefined;
      return { kind: 'micro', results, scores };
    }
    const d = data as MacroscopicDataset;
    return { kind: 'macro', predictions: await (model as MacroscopicModel).predict(d.test, d.horizonsHours) };
  };

  let first: Promise<Model> | undefined;
  const trained = () => (first ??= train(seed));

  const checks: ConformanceCheck[] = [
    {
      name: 'declares a name, task and description, and a hyperparameter schema whose defaults validate',
      run: async () => {
        if (!/^[a-z][a-z0-9-]*$/.test(plugin.name)) fail(`name must be lower-case letters, digits and dashes (used in configs as model.name)`);
        const task: string = plugin.task;
        if (task !== 'microscopic' && task !== 'macroscopic') fail(`task must be microscopic or macroscopic, got ${task}`);
        if (!plugin.description || plugin.description.trim().length < 10) fail('needs a one-sentence description (shown by `cascade plugins`)');
        const parsed = plugin.hyperparameters.safeParse({});
        if (!parsed.success) fail(`parsing {} must give the defaults, but it fails: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        const shape = objectShape(plugin.hyperparameters);
        if (!shape) fail('the hyperparameters schema must be a zod object (each knob a field)');
        const undescribed = Object.entries(shape!).filter(([, s]) => !describedIn(s)).map(([k]) => k);
        if (undescribed.length) fail(`every hyperparameter needs .describe(...) (shown by \`cascade plugins\`): ${undescribed.join(', ')}`);
        const unknown = plugin.hyperparameters.safeParse({ __notAKnob: 1 });
        if (unknown.success) fail('the hyperparameters schema must reject unknown keys (use z.strictObject or .strict()) so that typos in configs are caught');
      },
    },
    {
      name: 'trains on a tiny dataset, and the same seed trains the same model',
      run: async () => {
        const a = await outputs(await trained());
        const b = await outputs(await train(seed));
        const diff = compareOutputs(a, b);
        if (diff) fail(`two trainings with seed ${seed} predict differently (${diff}): take every random choice from context.rng`);
      },
    },
    {
      name: 'save -> load gives the same predictions',
      run: async () => {
        const model = await trained();
        const dir = tempDir('saved');
        await model.save(dir);
        let loaded: Model;
        try {
          loaded = await plugin.load(dir, await inference());
        } catch (e) {
          return fail(`load() of what save() wrote failed: ${(e as Error).message}`);
        }
        models.push(loaded);
        const diff = compareOutputs(await outputs(model), await outputs(loaded));
        if (diff) fail(`the loaded model predicts differently from the saved one (${diff})`);
      },
    },
    {
      name: micro ? 'the simulator returns well-formed, batch-independent simulations' : 'the predictor returns well-formed sizes at every horizon',
      run: async () => {
        const model = await trained();
        if (micro) {
          const m = model as MicroscopicModel;
          const reqs = requests();
          const results = await m.simulate(reqs, Rng.fromSeed(3));
          checkSimulations(reqs, results, (data as MicroscopicDataset).users.size, fail);
          // A labelled request draws only from its own stream: alone, it gives the same simulations.
          const alone = await m.simulate([reqs[reqs.length - 1]], Rng.fromSeed(3));
          if (!equalInt32(alone[0].sequences, results[results.length - 1].sequences))
            fail('a labelled request simulated alone differs from the same request in a batch: draw its randomness from simulationRequestStream(rng, request, index)');
          if (m.nextUserScores) {
            const cascade = (data as MicroscopicDataset).test[0].events.map((e) => e.user);
            checkScores(cascade, await m.nextUserScores(cascade), (data as MicroscopicDataset).users.size, fail);
          }
        } else {
          const d = data as MacroscopicDataset;
          checkSizes(d.test.length, d.horizonsHours, await (model as MacroscopicModel).predict(d.test, d.horizonsHours), fail);
          // Other horizons than the dataset's (the runner may ask for any), in a different order of size.
          const horizons = [6.5, 100];
          checkSizes(2, horizons, await (model as MacroscopicModel).predict(d.test.slice(0, 2), horizons), fail);
        }
      },
    },
    {
      name: 'loading a folder without a saved model fails with an error',
      run: async () => {
        const empty = tempDir('empty');
        let loaded: Model | undefined;
        try {
          loaded = await plugin.load(empty, await inference());
        } catch {
          return;
        }
        models.push(loaded);
        fail('load() of an empty folder succeeded: it must throw (e.g. CascadeError MODEL naming the missing file)');
      },
    },
  ];
  if (options.numTensors) {
    const count = options.numTensors;
    checks.push({
      name: 'leaves no tensor behind across a train + evaluate + dispose cycle',
      run: async () => {
        await ready();
        const before = count();
        const model = await train(seed + 1);
        await outputs(model);
        model.dispose();
        models.splice(models.indexOf(model), 1);
        const after = count();
        if (after !== before) fail(`${after - before} tensor(s) leaked by train + predict + dispose (tf.memory().numTensors ${before} -> ${after}): wrap work in tf.tidy and dispose in dispose()`);
      },
    });
  }
  return {
    checks,
    dispose() {
      for (const m of models.splice(0)) m.dispose();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let s = schema as unknown as { _zod: { def: Record<string, unknown> } };
  for (let i = 0; i < 10; i++) {
    const def = s._zod.def;
    if (def.type === 'object') return def.shape as Record<string, z.ZodType>;
    if (def.innerType) s = def.innerType as typeof s;
    else if (def.type === 'pipe') s = def.in as typeof s;
    else return undefined;
  }
  return undefined;
}

/** zod 4 keeps `.describe()` on the schema it was called on; defaults and optionals wrap it. */
function describedIn(schema: z.ZodType): boolean {
  let s = schema as unknown as { description?: string; _zod: { def: Record<string, unknown> } };
  for (let i = 0; i < 10; i++) {
    if (s.description) return true;
    const inner = s._zod.def.innerType;
    if (!inner) return false;
    s = inner as typeof s;
  }
  return false;
}

function equalInt32(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Why two outputs differ, or undefined when they agree (sizes to 1e-9 relative). */
function compareOutputs(a: Outputs, b: Outputs): string | undefined {
  if (a.kind === 'micro' && b.kind === 'micro') {
    for (let i = 0; i < a.results.length; i++) if (!equalInt32(a.results[i].sequences, b.results[i].sequences)) return `simulations of request ${i}`;
    if (a.scores && b.scores)
      for (let t = 0; t < a.scores.length; t++)
        for (let u = 0; u < a.scores[t].length; u++) if (!Object.is(a.scores[t][u], b.scores[t][u]) && Math.abs(a.scores[t][u] - b.scores[t][u]) > 1e-6 * Math.max(1, Math.abs(a.scores[t][u]))) return `next-user score of user ${u} at step ${t}: ${a.scores[t][u]} vs ${b.scores[t][u]}`;
    return undefined;
  }
  if (a.kind === 'macro' && b.kind === 'macro') {
    const x = a.predictions.sizes;
    const y = b.predictions.sizes;
    for (let c = 0; c < x.length; c++)
      for (let h = 0; h < x[c].length; h++) {
        const p = x[c][h];
        const q = y[c][h];
        if (Object.is(p, q)) continue;
        if (!(Math.abs(p - q) <= 1e-9 * Math.max(1, Math.abs(p)))) return `size of cascade ${c} at horizon ${h}: ${p} vs ${q}`;
      }
    return undefined;
  }
  return 'different kinds of output';
}

function checkSimulations(requests: SimulationRequest[], results: SimulationResult[], numUsers: number, fail: (m: string) => never): void {
  if (!Array.isArray(results) || results.length !== requests.length) fail(`simulate() must return one result per request: ${requests.length} requests, ${results?.length} results`);
  results.forEach((r, i) => {
    const q = requests[i];
    if (r.simulations !== q.simulations || r.budget !== q.budget) fail(`result ${i}: simulations/budget ${r.simulations}/${r.budget}, requested ${q.simulations}/${q.budget}`);
    if (!(r.sequences instanceof Int32Array) || r.sequences.length !== q.simulations * q.budget) fail(`result ${i}: sequences must be an Int32Array of simulations x budget = ${q.simulations * q.budget} entries`);
    for (let s = 0; s < q.simulations; s++) {
      const row = r.sequences.subarray(s * q.budget, (s + 1) * q.budget);
      const seen = new Set(q.seeds);
      let stopped = false;
      for (let k = 0; k < q.budget; k++) {
        const u = row[k];
        if (u === -1) {
          stopped = true;
          continue;
        }
        if (stopped) fail(`result ${i}, simulation ${s}: user ${u} after -1 (a stopped simulation stays stopped)`);
        if (!Number.isInteger(u) || u < RESERVED_USERS || u >= numUsers) fail(`result ${i}, simulation ${s}: user index ${u} is not a real user (${RESERVED_USERS}..${numUsers - 1})`);
        if (seen.has(u)) fail(`result ${i}, simulation ${s}: user ${u} infected twice (or a seed predicted)`);
        seen.add(u);
      }
    }
  });
}

function checkScores(cascade: number[], rows: Float32Array[], numUsers: number, fail: (m: string) => never): void {
  if (rows.length !== cascade.length - 1) fail(`nextUserScores() of a ${cascade.length}-user cascade returned ${rows.length} rows (expected ${cascade.length - 1}: row t scores the user at position t + 1)`);
  rows.forEach((row, t) => {
    if (row.length !== numUsers) fail(`nextUserScores() row ${t} has ${row.length} scores, the vocabulary ${numUsers}`);
    if (row.some((v) => Number.isNaN(v))) fail(`nextUserScores() row ${t} contains NaN`);
    for (let j = 0; j <= t; j++) if (row[cascade[j]] !== -Infinity) fail(`nextUserScores() row ${t} scores the already infected user ${cascade[j]} (${row[cascade[j]]}): it must be -Infinity`);
  });
}

function checkSizes(n: number, horizons: number[], p: SizePredictions, fail: (m: string) => never): void {
  if (!p || !Array.isArray(p.sizes) || p.sizes.length !== n) fail(`predict() must return sizes for each of the ${n} cascades, got ${p?.sizes?.length}`);
  if (p.details !== undefined && p.details.length !== n) fail(`predict() details must have one entry per cascade (${n}), got ${p.details.length}`);
  const order = horizons.map((h, i) => [h, i] as const).sort((a, b) => a[0] - b[0]);
  p.sizes.forEach((row, c) => {
    if (!(row instanceof Float64Array) || row.length !== horizons.length) fail(`cascade ${c}: sizes must be a Float64Array with one entry per horizon (${horizons.length})`);
    row.forEach((v, h) => {
      if (Number.isNaN(v) || v < 0) fail(`cascade ${c}, horizon ${horizons[h]} h: size ${v} (must be >= 0, or Infinity for an explosive prediction)`);
    });
    for (let k = 1; k < order.length; k++) {
      const earlier = row[order[k - 1][1]];
      const later = row[order[k][1]];
      if (later < earlier * (1 - 1e-9)) fail(`cascade ${c}: size ${later} at ${order[k][0]} h is below ${earlier} at ${order[k - 1][0]} h (cumulative sizes cannot shrink)`);
    }
  });
}
