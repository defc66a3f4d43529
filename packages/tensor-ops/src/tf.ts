/**
 * The one tfjs-core namespace of the workspace. Plugins import `tf` from `@cascade-lab/tensor-ops`
 * (never `@tensorflow/tfjs-core` directly) so that every tensor, kernel and gradient lives in the
 * same engine as the backend chosen by `initBackend`.
 *
 * Importing this module registers the pure-JS `cpu` backend (always available) and the `wasm`
 * backend (initialised on first use), fills the wasm backend's kernel gaps, and registers the
 * gradients of every op: tfjs-core 4.x ships them only through the `@tensorflow/tfjs` union
 * package (its Node bundle of tfjs-core has none), which tfjs-node loads too, so this is the same
 * registration whichever backend runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernelGaps } from './wasm-kernels.js';

registerWasmKernelGaps();

export { tf };

// Without this, tfjs would pick its highest-priority registered backend (wasm), which needs an
// asynchronous start, and the first synchronous op would throw. cpu starts synchronously (this
// call completes before it returns its promise), so tensors work right after import;
// `initBackend` then switches to the best available backend.
void tf.setBackend('cpu');
// The cpu backend prints a banner recommending tfjs-node on its first tensor. `initBackend`
// already prefers tfjs-node and reports why it was not taken, so mark the banner as shown.
(tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null)!.firstUse = false;
