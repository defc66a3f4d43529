/**
 * Saving and loading models whose state is a small JSON document (parameter-only models: counts,
 * rates, a few fitted numbers), and the path for models with nothing to fit. One file,
 * `model.json`: `{ format, version, parameters }`. Every failure to load is a `ModelLoadError`
 * (code MODEL_LOAD), the code every plugin's `load` uses.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { CancelledError, CascadeError, ModelLoadError } from './errors.js';
import type { InferenceContext, MacroscopicModel, MicroscopicModel, TrainContext } from './plugin.js';

export const MODEL_JSON_FILE = 'model.json';

export interface ModelJsonFormat<P> {
  /** Names the model kind, e.g. `cascade-lab/popularity`: a file of another format is refused. */
  format: string;
  /** Version written by `save`; bump it when `parameters` change shape. */
  version: number;
  /** Versions `load` still reads (default: `[version]`). */
  readable?: readonly number[];
  /** Checks the parameters on load (a zod schema); without it they are taken as written. */
  schema?: z.ZodType<P>;
  /** File name inside the model folder (default `model.json`). */
  file?: string;
}

/** Writes `{ format, version, parameters }` as `dir/model.json` (creating `dir`). */
export async function saveModelJson<P>(dir: string, spec: ModelJsonFormat<P>, parameters: P): Promise<void> {
  await mkdir(dir, { recursive: true });
  const body = JSON.stringify({ format: spec.format, version: spec.version, parameters }, (_k, v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v));
  await writeFile(join(dir, spec.file ?? MODEL_JSON_FILE), body + '\n');
}

/** Reads what `saveModelJson` wrote: the parameters and the version they were written with. */
export async function loadModelJson<P>(dir: string, spec: ModelJsonFormat<P>): Promise<{ parameters: P; version: number }> {
  const file = join(dir, spec.file ?? MODEL_JSON_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ModelLoadError(file, `no saved model here (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  let doc: { format?: unknown; version?: unknown; parameters?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(file, `not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (doc === null || typeof doc !== 'object' || doc.format !== spec.format) throw new ModelLoadError(file, `not a ${spec.format} model (format ${JSON.stringify((doc as { format?: unknown } | null)?.format)})`);
  const readable = spec.readable ?? [spec.version];
  if (typeof doc.version !== 'number' || !readable.includes(doc.version)) throw new ModelLoadError(file, `${spec.format} version ${JSON.stringify(doc.version)} cannot be read (readable: ${readable.join(', ')})`);
  if (!spec.schema) return { parameters: doc.parameters as P, version: doc.version };
  const parsed = spec.schema.safeParse(doc.parameters);
  if (!parsed.success) throw new ModelLoadError(file, `parameters do not fit ${spec.format} v${doc.version}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return { parameters: parsed.data, version: doc.version };
}

/**
 * Runs a plugin's load body and turns any framework error it raises (a missing checkpoint, a
 * format or shape mismatch) into a ModelLoadError naming `what` (the folder or manifest): one code
 * for every failed load. Cancellation passes through; programming errors (non-CascadeErrors) too.
 */
export async function loadingModel<T>(what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof ModelLoadError || e instanceof CancelledError || !(e instanceof CascadeError)) throw e;
    // DataFormatError messages already start with the file: do not name it twice.
    const problem = e.message.startsWith(`${what}: `) ? e.message.slice(what.length + 2) : e.message;
    throw new ModelLoadError(what, problem, { cause: e, hint: e.hint });
  }
}

type AnyModel = MicroscopicModel | MacroscopicModel;

/**
 * `fitting: 'none'`, `train` and `load` for a model defined by its hyperparameters alone (SEISMIC,
 * per-cascade maximum likelihood): `create(hp)` builds the model; `train` never reads the training
 * cascades; the saved model is its hyperparameters (`model.json`), so `load` rebuilds the same model.
 * Spread it into the plugin object:
 * `{ name, task, description, hyperparameters, ...nothingToFit({ format, hyperparameters, create }) }`.
 */
export function nothingToFit<Hp, M extends AnyModel>(options: {
  format: string;
  version?: number;
  hyperparameters: z.ZodType<Hp>;
  create(hyperparameters: Hp, context: InferenceContext): M | Promise<Omit<M, 'save'>> | Omit<M, 'save'>;
}): { fitting: 'none'; train(data: unknown, hyperparameters: Hp, context: TrainContext): Promise<M>; load(dir: string, context: InferenceContext): Promise<M> } {
  const spec: ModelJsonFormat<unknown> = { format: options.format, version: options.version ?? 1 };
  const make = async (hp: Hp, context: InferenceContext): Promise<M> => {
    const model = (await options.create(hp, context)) as M;
    // The model's state is its hyperparameters: saving them is all `load` needs.
    (model as { save(dir: string): Promise<void> }).save = (dir: string) => saveModelJson(dir, spec, { hyperparameters: hp });
    return model;
  };
  return {
    fitting: 'none',
    train: (_data, hp, context) => make(hp, context),
    load: async (dir, context) => {
      const { parameters } = await loadModelJson(dir, spec);
      const hp = options.hyperparameters.safeParse((parameters as { hyperparameters?: unknown } | null)?.hyperparameters);
      if (!hp.success) throw new ModelLoadError(join(dir, MODEL_JSON_FILE), `saved hyperparameters do not validate: ${hp.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return make(hp.data, context);
    },
  };
}
