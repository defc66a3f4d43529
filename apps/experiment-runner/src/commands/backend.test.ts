import { createRequire } from 'node:module';
import { runCli as run } from '../cli.test-util.js';


function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json');
    return true;
  } catch {
    return false;
  }
}

describe('cascade backend', () => {
  test('--json reports the auto choice, every candidate in order, and a correct matmul', async () => {
    const r = await run('backend', '--json');
    expect(r.code).toBe(0);
    const sel = JSON.parse(r.stdout);
    expect(sel.preference).toBe('auto');
    expect(sel.candidates.map((c: { package: string }) => c.package)).toEqual([
      '@tensorflow/tfjs-node-gpu',
      '@tensorflow/tfjs-node',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-cpu',
    ]);
    expect(sel.candidates.find((c: { status: string }) => c.status === 'loaded').package).toBe(sel.package);
    expect(sel.name).toBe(tfjsNodeInstalled() ? 'tensorflow' : 'wasm');
    expect(sel.matmulOk).toBe(true);
  });

  test.each([
    ['wasm', '--backend wasm gives: wasm (@tensorflow/tfjs-backend-wasm 4.22.0) on wasm-simd; 2x2 matmul ok'],
    ['cpu', '--backend cpu gives: cpu (@tensorflow/tfjs-backend-cpu 4.22.0) on cpu; 2x2 matmul ok'],
  ])('--backend %s prints the truth', async (backend, line) => {
    const r = await run('backend', '--backend', backend);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(line);
    expect(r.stdout).toMatch(new RegExp(`^@tensorflow/tfjs-backend-${backend} +${backend} +loaded`, 'm'));
  });

  test('--backend tensorflow loads tfjs-node when installed, else exits 5 with the setup hint', async () => {
    const r = await run('backend', '--backend', 'tensorflow');
    if (tfjsNodeInstalled()) {
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(/^--backend tensorflow gives: tensorflow \(@tensorflow\/tfjs-node 4\.22\.0, libtensorflow \d+\.\d+\.\d+\) on cpu; 2x2 matmul ok$/);
    } else {
      expect(r.code).toBe(5);
      expect(r.stderr).toContain('[BACKEND_UNAVAILABLE]');
      expect(r.stderr).toContain('tools/native-backend/setup.sh');
    }
  });

  test('an unknown backend is a usage error', async () => {
    const r = await run('backend', '--backend', 'webgpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Invalid values/);
  });
});
