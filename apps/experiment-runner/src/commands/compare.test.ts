import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTracker } from '@cascade-lab/tracking';
import { runCli as cli } from '../cli.test-util.js';

/** A finished local run with config params and per-cascade rows, as `cascade run` leaves one. */
async function makeRun(tracker: LocalTracker, name: string, params: Record<string, unknown>, f1s: number[], ids = f1s.map((_, i) => `c${i}`)): Promise<string> {
  const run = await tracker.startRun({ name, experiment: 'cmp', system: false });
  await run.logParams(params);
  const rows = f1s.map((f1, i) => ({ id: ids[i], truthSize: 4, f1, hitMass: 4 * f1, predictedMass: 4, earlyF1: f1, earlyHitMass: 4 * f1, earlyPredictedMass: 4, earlyTruthSize: 4 }));
  await run.logText(rows.map((r) => JSON.stringify(r)).join('\n') + '\n', 'predictions.jsonl');
  await run.end('FINISHED');
  return run.runId;
}

describe('cascade compare', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cascade-compare-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compares runs on the same split and refuses runs on another protocol or split, saying what differs', async () => {
    const tracker = new LocalTracker({ root: dir });
    const settings = { dataset: { name: 'irvine' }, evaluation: { simulations: 100 } };
    const a = await makeRun(tracker, 'ndm-a', { ...settings, model: { name: 'ndm' } }, [0.5, 0.7, 0.2, 0.9, 0.4, 0.6, 0.3, 0.8, 0.55, 0.65]);
    const b = await makeRun(tracker, 'netrate-b', { ...settings, model: { name: 'netrate' } }, [0.45, 0.5, 0.25, 0.6, 0.35, 0.5, 0.3, 0.7, 0.5, 0.4]);
    const c = await makeRun(tracker, 'netrate-c', { ...settings, evaluation: { simulations: 30 }, model: { name: 'netrate' } }, [0.45, 0.5]);
    const d = await makeRun(tracker, 'netrate-d', { ...settings, model: { name: 'netrate' } }, [0.45, 0.5], ['x', 'y']);
    await tracker.close();

    const out = join(dir, 'report');
    const ok = await cli('compare', a, b, '--runs-dir', dir, '--out', out, '--quiet');
    expect(ok.code).toBe(0);
    // ndm 0.56 against netrate 0.455; exact paired permutation test over 2^10 sign patterns:
    // scipy.stats.permutation_test((a, b), mean diff, permutation_type='samples') -> p = 0.01953125
    expect(ok.stdout).toMatch(/^\| irvine \| \*\*0\.560\*\* \[0\.\d{3}, 0\.\d{3}\] \| 0\.455 \[0\.\d{3}, 0\.\d{3}\] p=0\.020 \|$/m);
    expect(readFileSync(join(out, 'plots/f1-by-model.png')).subarray(1, 4).toString()).toBe('PNG');

    const protocol = await cli('compare', a, c, '--runs-dir', dir, '--quiet');
    expect(protocol.code).not.toBe(0);
    expect(protocol.stderr).toMatch(/not on the same test split and protocol: settings differ: evaluation\.simulations=100 \(first\), evaluation\.simulations=30 \(second\)/);
    const split = await cli('compare', a, d, '--runs-dir', dir, '--quiet');
    expect(split.code).not.toBe(0);
    expect(split.stderr).toMatch(/the test cascades differ \(10 and 2 cascades, 10 of the first not in the second\)/);
  }, 60_000);
});
