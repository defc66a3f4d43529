/**
 * Child process for the SIGTERM test: opens an MLflow run with `withRun`, logs a metric every
 * few ms (flushing every 10 points), and prints `READY <runId>` once the server has the first
 * points. The test sends SIGTERM; the trainer loop sees the AbortSignal, the run closes KILLED,
 * and the child prints `LOGGED <count>` and exits 130.
 */
import { CancelledError, throwIfCancelled } from '@cascade-lab/core';
import { createTracker, withRun } from '../../src/index.js';

const tracker = createTracker({ experiment: process.env.TEST_EXPERIMENT });
let logged = 0;
try {
  await withRun(tracker, { name: 'sigterm-child', system: { sourceName: 'sigterm-child.ts' }, endDeadlineMs: 20_000 }, async (run, signal) => {
    for (let step = 0; ; step++) {
      throwIfCancelled(signal);
      run.logMetric('loss', 1 / (step + 1), step);
      logged++;
      if (step % 10 === 9) {
        await run.flush();
        if (step === 9) process.stdout.write(`READY ${run.runId}\n`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  });
} catch (err) {
  if (!(err instanceof CancelledError)) throw err;
  process.stdout.write(`LOGGED ${logged}\n`);
  process.exitCode = 130;
} finally {
  await tracker.close();
}
