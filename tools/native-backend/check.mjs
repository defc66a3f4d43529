#!/usr/bin/env node
// Loads @tensorflow/tfjs-node from the repository root, checks that it registered the `tensorflow`
// backend into the one copy of @tensorflow/tfjs-core the workspace uses, runs a 2x2 matmul and
// prints one summary line. Exit code 0 when the native backend is usable, 1 otherwise (the reason is
// printed on stderr). Used by setup.sh before (fast path) and after (verification) it does any work.
import { createRequire } from 'node:module';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const quiet = process.argv.includes('--quiet');
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

function fail(message) {
  if (!quiet) process.stderr.write(`native backend not usable: ${message}\n`);
  process.exit(1);
}

const requireFromRoot = createRequire(join(root, 'packages', 'tensor-ops', 'package.json'));
let pkgJson;
try {
  pkgJson = requireFromRoot.resolve('@tensorflow/tfjs-node/package.json');
} catch {
  fail('@tensorflow/tfjs-node is not installed in node_modules');
}
const coreOurs = realpathSync(requireFromRoot.resolve('@tensorflow/tfjs-core'));
const requireFromTfjs = createRequire(requireFromRoot.resolve('@tensorflow/tfjs/package.json'));
const coreTheirs = realpathSync(requireFromTfjs.resolve('@tensorflow/tfjs-core'));
if (coreOurs !== coreTheirs) {
  fail(`two copies of @tensorflow/tfjs-core: ${coreOurs} (ours) and ${coreTheirs} (tfjs-node's); run \`npm dedupe\``);
}

let tfnode;
const warn = console.warn;
try {
  console.warn = () => {}; // tfjs prints a platform notice when the node backend registers
  tfnode = requireFromRoot('@tensorflow/tfjs-node');
} catch (e) {
  fail(String(e?.message ?? e).split('\n')[0]);
} finally {
  console.warn = warn;
}
const tf = requireFromRoot('@tensorflow/tfjs-core');
if (tf.getBackend() !== 'tensorflow') fail(`backend after loading is ${tf.getBackend()}, expected tensorflow`);
const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).dataSync());
// [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]] by hand.
const expected = [19, 22, 43, 50];
if (!expected.every((v, i) => product[i] === v)) fail(`matmul gave ${Array.from(product)}, expected ${expected}`);
const backend = tf.backend();
const device = backend.isUsingGpuDevice ? 'gpu' : 'cpu';
const libVersion = backend.binding?.TF_Version ?? 'unknown';
const version = JSON.parse((await import('node:fs')).readFileSync(pkgJson, 'utf8')).version;
if (!quiet) {
  process.stdout.write(`native backend ready: tensorflow via @tensorflow/tfjs-node ${version} (libtensorflow ${libVersion}, device ${device}); 2x2 matmul ok\n`);
}
void tfnode;
