/** The worker-thread side of SimulationPool: runs engine tasks and posts their results back. */
import { parentPort } from 'node:worker_threads';
import { EngineContext, runEngineTask, type EngineTask } from './tasks.js';
import type { WorkerReply } from './pool.js';

const port = parentPort;
if (!port) throw new Error('simulation worker: not running in a worker thread');
const context = new EngineContext();

port.on('message', (msg: { id: number; task: EngineTask }) => {
  runEngineTask(msg.task, context).then(
    (result) => {
      const reply: WorkerReply = { id: msg.id, ok: true, result };
      const transfer: ArrayBuffer[] = [result.sequences.buffer as ArrayBuffer];
      if (result.times) transfer.push(result.times.buffer as ArrayBuffer);
      port.postMessage(reply, transfer);
    },
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      const reply: WorkerReply = { id: msg.id, ok: false, error: { name: err.name, message: err.message, code: (err as { code?: string }).code, stack: err.stack } };
      port.postMessage(reply);
    },
  );
});
