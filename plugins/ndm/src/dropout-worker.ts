/** The worker-thread side of `DropoutThread`: makes keep flags and posts them back (their buffers moved, not copied). */
import { parentPort } from 'node:worker_threads';
import { keepFlags, type KeepFlagJob } from './dropout-flags.js';

const port = parentPort;
if (!port) throw new Error('ndm dropout worker: not running in a worker thread');
port.on('message', ({ id, jobs }: { id: number; jobs: KeepFlagJob[] }) => {
  try {
    const flags = jobs.map(keepFlags);
    port.postMessage({ id, flags }, flags.map((f) => f.buffer as ArrayBuffer));
  } catch (e) {
    port.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
port.postMessage({ ready: true });
