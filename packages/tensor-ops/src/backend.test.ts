import { CascadeError, MemoryLogger } from '@cascade-lab/core';
import { tf, initBackend, initTensorflowIfInstalled, currentBackend, BACKEND_PREFERENCES } from './index.js';

describe('initBackend', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('loads cpu and wasm when asked, and says what it uses', async () => {
    const cpu = await initBackend('cpu');
    expect(cpu).toMatchObject({ name: 'cpu', package: '@tensorflow/tfjs-backend-cpu', device: 'cpu', preference: 'cpu', version: '4.22.0', tfjsCoreVersion: '4.22.0' });
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend('wasm');
    expect(wasm).toMatchObject({ name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'wasm-simd' });
    expect(tf.getBackend()).toBe('wasm');
    expect(currentBackend()).toBe(wasm);
    // Candidates not asked for are reported as such, never as failures.
    expect(wasm.candidates.find((c) => c.backend === 'cpu')).toMatchObject({ status: 'not-tried' });
  });

  it('auto takes the first candidate that loads and explains every earlier one', async () => {
    const logger = new MemoryLogger();
    const sel = await initBackend('auto', { logger });
    const order = sel.candidates.map((c) => c.package);
    expect(order).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu']);
    const chosen = sel.candidates.findIndex((c) => c.status === 'loaded');
    expect(sel.candidates[chosen].package).toBe(sel.package);
    for (const c of sel.candidates.slice(0, chosen)) expect(['not-installed', 'failed']).toContain(c.status);
    expect(tf.getBackend()).toBe(sel.name);
    expect(logger.lines.some((l) => l.level === 'info' && l.message.includes(sel.package))).toBe(true);
    // A 2x2 matmul on whatever was chosen: [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]].
    const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).arraySync());
    expect(product).toEqual([[19, 22], [43, 50]]);
  });

  it('probeAll reports later candidates as available without switching away from the choice', async () => {
    const sel = await initBackend('auto', { probeAll: true });
    expect(tf.getBackend()).toBe(sel.name);
    const cpu = sel.candidates.find((c) => c.backend === 'cpu')!;
    if (sel.name !== 'cpu') expect(cpu.status).toBe('available');
  });

  it('tensorflow: loads the native addon when installed, else fails with BACKEND_UNAVAILABLE and the setup hint', async () => {
    let installed = true;
    try {
      await import('@tensorflow/tfjs-node/package.json', { with: { type: 'json' } });
    } catch {
      installed = false;
    }
    if (installed) {
      const sel = await initBackend('tensorflow');
      expect(sel).toMatchObject({ name: 'tensorflow', device: 'cpu' });
      expect(sel.libtensorflowVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(sel.gpu?.found).toBe(false);
      // One thread per kernel and no oneDNN unless the environment said otherwise (set before load).
      expect(process.env.TF_NUM_INTRAOP_THREADS).toMatch(/^\d+$/);
      expect(process.env.TF_ENABLE_ONEDNN_OPTS).toBeDefined();
      expect(sel.notes).toContain(
        `TensorFlow kernels use ${process.env.TF_NUM_INTRAOP_THREADS} thread(s) each (TF_NUM_INTRAOP_THREADS), oneDNN ${process.env.TF_ENABLE_ONEDNN_OPTS === '0' ? 'off' : 'on'} (TF_ENABLE_ONEDNN_OPTS)`,
      );
      expect(sel.notes).toContain('training and prediction steps run as compiled TensorFlow graphs (CASCADE_GRAPH_FUNCTIONS=off runs them eagerly)');
      expect((await initTensorflowIfInstalled())?.name).toBe('tensorflow');
    } else {
      const err = await initBackend('tensorflow').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CascadeError);
      expect((err as CascadeError).code).toBe('BACKEND_UNAVAILABLE');
      expect((err as CascadeError).message).toContain('@tensorflow/tfjs-node: not installed');
      expect((err as CascadeError).hint).toContain('tools/native-backend/setup.sh');
      expect(await initTensorflowIfInstalled()).toBeNull();
    }
  });

  it('rejects an unknown preference', async () => {
    await expect(initBackend('webgpu' as (typeof BACKEND_PREFERENCES)[number])).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });
});
