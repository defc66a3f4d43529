/**
 * Backend selection: `auto | tensorflow | wasm | cpu`.
 *
 * `auto` tries, in order, @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node (both give the
 * `tensorflow` backend: libtensorflow through a native addon), @tensorflow/tfjs-backend-wasm and
 * @tensorflow/tfjs-backend-cpu, and takes the first that loads. Every candidate's outcome is
 * recorded (loaded / not installed / failed, with the reason) so that a run can say what it really
 * used and why. An explicit preference that cannot load fails with BACKEND_UNAVAILABLE.
 *
 * Two facts this module checks rather than assumes:
 * - tfjs-node registers its backend into the @tensorflow/tfjs-core that *it* resolves; that must be
 *   the copy this package imports, or our tensors would never reach it.
 * - tfjs-node-gpu 4.22 needs CUDA 11.2 and cuDNN 8.1 (it loads libcudart.so.11.0) and quietly
 *   computes on the CPU without them; the addon's own device list says which device is in use.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { CascadeError, silentLogger, type BackendInfo, type Logger } from '@cascade-lab/core';
import { tf } from './tf.js';

export const BACKEND_PREFERENCES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/**
 * What happened to one candidate: `loaded` (in use), `available` (works, but a better one was
 * taken; only with `probeAll`), `not-installed`, `failed` (installed but unusable), `not-tried`.
 */
export type CandidateStatus = 'loaded' | 'available' | 'not-installed' | 'failed' | 'not-tried';

export interface BackendCandidate {
  backend: BackendName;
  package: string;
  status: CandidateStatus;
  /** Package version when installed. */
  version?: string;
  /** Why it was skipped or failed; for a working candidate, the device it computes on. */
  reason: string;
}

/** The backend in use (core's BackendInfo) plus how it was chosen. */
export interface BackendSelection extends BackendInfo {
  name: BackendName;
  preference: BackendPreference;
  /** Version of `package`. */
  version: string;
  tfjsCoreVersion: string;
  /** libtensorflow version reported by the native addon (tensorflow backend only). */
  libtensorflowVersion?: string;
  /** For the tensorflow backend: whether TensorFlow found a GPU, and why not when it did not. */
  gpu?: { found: boolean; detail: string };
  /** Every candidate in preference order. */
  candidates: BackendCandidate[];
  /** Things worth knowing (e.g. a GPU package running on the CPU). */
  notes: string[];
}

export interface InitBackendOptions {
  logger?: Logger;
  /** Also check the candidates after the chosen one (slower; for `cascade backend`). */
  probeAll?: boolean;
}

interface CandidateSpec {
  backend: BackendName;
  package: string;
}

const CANDIDATES: CandidateSpec[] = [
  { backend: 'tensorflow', package: '@tensorflow/tfjs-node-gpu' },
  { backend: 'tensorflow', package: '@tensorflow/tfjs-node' },
  { backend: 'wasm', package: '@tensorflow/tfjs-backend-wasm' },
  { backend: 'cpu', package: '@tensorflow/tfjs-backend-cpu' },
];

export const NATIVE_SETUP_HINT =
  'run `tools/native-backend/setup.sh` from the repository root (installs @tensorflow/tfjs-node 4.22.0; without internet it builds it against the tensorflow-cpu wheel from PyPI), or choose --backend wasm';

const requireHere = createRequire(import.meta.url);

/** The addon-backed backend object of tfjs-node (only the fields read here). */
interface NodeKernelBackend {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
  binding?: { TF_Version?: string };
}

interface Loaded {
  device: string;
  version: string;
  libtensorflowVersion?: string;
  gpu?: { found: boolean; detail: string };
  notes: string[];
}

class CandidateFailure extends Error {
  constructor(
    readonly status: 'not-installed' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? text;
}

function packageJsonPath(pkg: string): string | undefined {
  try {
    return requireHere.resolve(`${pkg}/package.json`);
  } catch {
    return undefined;
  }
}

function packageVersion(pkg: string): string | undefined {
  const p = packageJsonPath(pkg);
  return p ? (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version : undefined;
}

/** Runs `fn` with console.warn captured (tfjs reports backend initialisation failures there). */
async function capturingWarnings<T>(fn: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
  try {
    return { value: await fn(), warnings };
  } finally {
    console.warn = original;
  }
}

/** Where a shared library would be found by the dynamic loader, if anywhere (Linux). */
export function findSharedLibrary(name: string): string | undefined {
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean),
    '/usr/local/cuda/lib64',
    '/usr/local/cuda-11.2/lib64',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
  ];
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name);
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      const out = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 3000 });
      const hit = out.split('\n').find((l) => l.trim().startsWith(name + ' '));
      if (hit) return hit.split('=>').pop()?.trim();
      return undefined;
    } catch {
      continue;
    }
  }
  return undefined;
}

function gpuName(): string | undefined {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    return out.split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Forgets the kernels a half-loaded tfjs-node registered, so the next candidate starts clean. */
function unregisterOrphanTensorflowKernels(): void {
  if (tf.findBackendFactory('tensorflow')) return;
  for (const k of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(k.kernelName, 'tensorflow');
}

async function loadNative(pkg: string): Promise<Loaded> {
  const pkgJson = packageJsonPath(pkg);
  if (!pkgJson) {
    throw new CandidateFailure(
      'not-installed',
      pkg.endsWith('-gpu')
        ? 'not in node_modules (optional: `npm install @tensorflow/tfjs-node-gpu@4.22.0`, needs CUDA 11.2 and cuDNN 8.1)'
        : 'not in node_modules (run tools/native-backend/setup.sh)',
    );
  }
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  // One tfjs-core: the one tfjs-node reaches through @tensorflow/tfjs must be ours.
  const ours = realpathSync(requireHere.resolve('@tensorflow/tfjs-core'));
  let theirs: string;
  try {
    const fromPkg = createRequire(pkgJson);
    theirs = realpathSync(createRequire(fromPkg.resolve('@tensorflow/tfjs/package.json')).resolve('@tensorflow/tfjs-core'));
  } catch (e) {
    throw new CandidateFailure('failed', `its dependency @tensorflow/tfjs cannot be resolved (${firstLine(e)})`);
  }
  if (ours !== theirs) {
    throw new CandidateFailure('failed', `it resolves a second copy of @tensorflow/tfjs-core (${dirname(dirname(theirs))}, ours is ${dirname(dirname(ours))}); run \`npm dedupe\``);
  }
  if (!tf.findBackendFactory('tensorflow')) {
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    // Measured defaults for CPU TensorFlow (npm run bench -- ndm / gammacas, 2 cores): one thread per
    // kernel and Eigen instead of oneDNN. This project's kernels are small (NDM: ~270 x 500 logits),
    // so a kernel costs its dispatch more than its arithmetic; handing each one to a thread pool made
    // NDM training 1.4x and its evaluation 1.2x slower and did not speed GammaCas' batch-256 training.
    // Read once, when libtensorflow starts; set either variable to override.
    process.env.TF_NUM_INTRAOP_THREADS ??= '1';
    process.env.TF_ENABLE_ONEDNN_OPTS ??= '0';
    try {
      await capturingWarnings(() => import(pkg));
    } catch (e) {
      unregisterOrphanTensorflowKernels();
      throw new CandidateFailure('failed', firstLine(e));
    }
    if (!tf.findBackendFactory('tensorflow')) {
      throw new CandidateFailure('failed', 'it loaded but registered no `tensorflow` backend in our @tensorflow/tfjs-core (two copies of tfjs-core in memory?)');
    }
  }
  const { value: ok, warnings } = await capturingWarnings(() => tf.setBackend('tensorflow'));
  if (!ok) throw new CandidateFailure('failed', `backend initialisation failed: ${warnings.join(' ') || 'no reason given'}`);
  const backend = tf.backend() as unknown as NodeKernelBackend;
  const libtensorflowVersion = backend.binding?.TF_Version;
  const notes: string[] = [];
  let device = 'cpu';
  let gpu: Loaded['gpu'];
  if (backend.isUsingGpuDevice) {
    const name = gpuName();
    device = `gpu:0${name ? ` (${name})` : ''}`;
    gpu = { found: true, detail: `TensorFlow placed ops on ${device}` };
  } else if (pkg.endsWith('-gpu')) {
    const cudart = findSharedLibrary('libcudart.so.11.0');
    const detail = cudart
      ? `${pkg} found no GPU device although ${cudart} exists: check the NVIDIA driver, cuDNN 8.1 and CUDA_VISIBLE_DEVICES`
      : `${pkg} found no GPU device: libcudart.so.11.0 (CUDA 11.2) is not on the library path; it needs CUDA 11.2 and cuDNN 8.1, so it computes on the CPU`;
    gpu = { found: false, detail };
    notes.push(detail);
  } else {
    gpu = { found: false, detail: `${pkg} is the CPU build of libtensorflow` };
  }
  notes.push(`TensorFlow kernels use ${process.env.TF_NUM_INTRAOP_THREADS ?? 'all'} thread(s) each (TF_NUM_INTRAOP_THREADS), oneDNN ${process.env.TF_ENABLE_ONEDNN_OPTS === '0' ? 'off' : 'on'} (TF_ENABLE_ONEDNN_OPTS)`);
  notes.push(graphFunctionsNote());
  return { device, version, libtensorflowVersion, gpu, notes };
}

/** What `GraphFunction` will do on this backend, as `cascade backend` prints it. */
export function graphFunctionsNote(): string {
  const setting = (process.env.CASCADE_GRAPH_FUNCTIONS ?? 'on').toLowerCase();
  return setting === 'off' || setting === '0' || setting === 'false'
    ? 'training and prediction steps run eagerly (CASCADE_GRAPH_FUNCTIONS=off)'
    : 'training and prediction steps run as compiled TensorFlow graphs (CASCADE_GRAPH_FUNCTIONS=off runs them eagerly)';
}

async function loadWasm(): Promise<Loaded> {
  const version = packageVersion('@tensorflow/tfjs-backend-wasm');
  if (!version) throw new CandidateFailure('not-installed', 'not installed');
  const { value: ok, warnings } = await capturingWarnings(() => tf.setBackend('wasm'));
  if (!ok) throw new CandidateFailure('failed', `initialisation failed: ${warnings.join(' ') || 'no reason given'}`);
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  return { device: simd ? 'wasm-simd' : 'wasm', version, notes: threads ? [] : ['wasm runs on one thread in Node (no WebAssembly threads); parallelise with worker threads'] };
}

async function loadCpu(): Promise<Loaded> {
  const version = packageVersion('@tensorflow/tfjs-backend-cpu');
  if (!version) throw new CandidateFailure('not-installed', 'not installed');
  const { value: ok, warnings } = await capturingWarnings(() => tf.setBackend('cpu'));
  if (!ok) throw new CandidateFailure('failed', `initialisation failed: ${warnings.join(' ') || 'no reason given'}`);
  return { device: 'cpu', version, notes: ['the cpu backend is plain JavaScript: about 100x slower than tensorflow for matmuls'] };
}

function load(spec: CandidateSpec): Promise<Loaded> {
  if (spec.backend === 'tensorflow') return loadNative(spec.package);
  return spec.backend === 'wasm' ? loadWasm() : loadCpu();
}

let current: BackendSelection | undefined;

/** The selection made by the last successful `initBackend`, if any. */
export function currentBackend(): BackendSelection | undefined {
  return current;
}

/**
 * Activates the tensorflow backend when a tfjs-node package is installed; returns null (and
 * activates nothing) when neither is. An installed but broken tfjs-node still throws: for code and
 * tests that use the native backend where the machine has it.
 */
export async function initTensorflowIfInstalled(options: InitBackendOptions = {}): Promise<BackendSelection | null> {
  if (!packageVersion('@tensorflow/tfjs-node') && !packageVersion('@tensorflow/tfjs-node-gpu')) return null;
  return initBackend('tensorflow', options);
}

/**
 * Chooses and activates a tfjs backend (see the module comment for the order `auto` follows) and
 * returns what is really in use. Throws CascadeError BACKEND_UNAVAILABLE when an explicitly named
 * backend cannot be loaded; the message lists every attempt and the hint says how to fix it.
 */
export async function initBackend(preference: BackendPreference = 'auto', options: InitBackendOptions = {}): Promise<BackendSelection> {
  const logger = options.logger ?? silentLogger;
  if (!(BACKEND_PREFERENCES as readonly string[]).includes(preference)) {
    throw new CascadeError('BACKEND_UNAVAILABLE', `unknown backend "${preference}"; expected one of ${BACKEND_PREFERENCES.join(', ')}`);
  }
  const wanted = CANDIDATES.filter((c) => preference === 'auto' || c.backend === preference);
  const candidates: BackendCandidate[] = CANDIDATES.map((c) => ({
    backend: c.backend,
    package: c.package,
    status: 'not-tried',
    version: packageVersion(c.package),
    reason: wanted.includes(c) ? 'a candidate before it was chosen' : `not requested (--backend ${preference})`,
  }));
  let chosen: { spec: CandidateSpec; loaded: Loaded } | undefined;
  for (const spec of wanted) {
    const report = candidates[CANDIDATES.indexOf(spec)];
    if (chosen) {
      // After the choice: only probe when asked, and never a second native package (both would
      // register `tensorflow`).
      if (!options.probeAll || spec.backend === chosen.spec.backend) {
        report.reason = spec.backend === chosen.spec.backend ? `${chosen.spec.package} already provides the ${spec.backend} backend` : `not needed: ${chosen.spec.package} was chosen`;
        continue;
      }
      try {
        const probe = await load(spec);
        report.status = 'available';
        report.reason = `works (${probe.device}); ${chosen.spec.package} was preferred`;
      } catch (e) {
        report.status = e instanceof CandidateFailure ? e.status : 'failed';
        report.reason = firstLine(e);
      }
      continue;
    }
    try {
      const loaded = await load(spec);
      chosen = { spec, loaded };
      report.status = 'loaded';
      report.reason = `in use on ${loaded.device}`;
    } catch (e) {
      report.status = e instanceof CandidateFailure ? e.status : 'failed';
      report.reason = firstLine(e);
      logger.debug(`backend candidate ${spec.package}: ${report.status}: ${report.reason}`);
    }
  }
  if (!chosen) {
    const tried = candidates.filter((c) => wanted.some((w) => w.package === c.package)).map((c) => `${c.package}: ${c.status === 'not-installed' ? 'not installed' : c.reason}`);
    throw new CascadeError('BACKEND_UNAVAILABLE', `backend "${preference}" is not available (${tried.join('; ')})`, {
      hint: preference === 'tensorflow' ? NATIVE_SETUP_HINT : `reinstall with \`npm ci\`, or choose --backend auto`,
    });
  }
  // Probing may have switched backends; the chosen one must be the active one.
  if (tf.getBackend() !== chosen.spec.backend) await tf.setBackend(chosen.spec.backend);
  await tf.ready();
  const { spec, loaded } = chosen;
  current = {
    name: spec.backend,
    package: spec.package,
    device: loaded.device,
    preference,
    version: loaded.version,
    tfjsCoreVersion: tf.version_core,
    libtensorflowVersion: loaded.libtensorflowVersion,
    gpu: loaded.gpu,
    candidates,
    notes: loaded.notes,
  };
  logger.info(`tensor backend: ${spec.backend} (${spec.package} ${loaded.version}, ${loaded.device})`);
  for (const n of loaded.notes) (n.includes('found no GPU') ? logger.warn : logger.debug).call(logger, n);
  return current;
}
