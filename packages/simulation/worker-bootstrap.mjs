// Entry of every simulation worker thread (plain JavaScript, so it loads from src/ and dist/ alike).
// When the pool runs from TypeScript sources (tests) or the process runs TypeScript through tsx
// (benchmarks, examples), tsx is registered first, with a tsconfig mapping @cascade-lab/* to
// sources when one is given; then the real worker module is imported.
import { workerData } from 'node:worker_threads';

if (workerData.tsx) {
  const { register } = await import('tsx/esm/api');
  register(workerData.tsconfig ? { tsconfig: workerData.tsconfig } : undefined);
}
await import(workerData.entry);
