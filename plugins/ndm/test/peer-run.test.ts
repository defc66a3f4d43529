import { describe, expect, it } from '@jest/globals';
import { parsePeerOptions, peerTable, speedUp, summarise, type RunTiming } from '../bench/peer-run.js';

describe('ndm bench --peer options', () => {
  it('defaults: 5 epochs, python3, the cores, the sub-batches', () => {
    expect(parsePeerOptions(['--peer'])).toEqual({ epochs: 5, python: 'python3', threads: [0], subBatches: true });
  });

  it('reads every option, and CASCADE_TORCH_PYTHON when --python is absent', () => {
    expect(parsePeerOptions(['--peer', '--epochs', '30', '--python', '/x/python', '--threads', '2,1', '--peer-batches', 'whole'])).toEqual({ epochs: 30, python: '/x/python', threads: [2, 1], subBatches: false });
    expect(parsePeerOptions(['--peer'], { CASCADE_TORCH_PYTHON: '/env/python' }).python).toBe('/env/python');
    expect(parsePeerOptions(['--python', '/x/python'], { CASCADE_TORCH_PYTHON: '/env/python' }).python).toBe('/x/python');
  });

  it('refuses bad values and a flag without its value', () => {
    expect(() => parsePeerOptions(['--epochs', '0'])).toThrow('--epochs must be an integer >= 1, got "0"');
    expect(() => parsePeerOptions(['--epochs', '2.5'])).toThrow('--epochs must be an integer >= 1');
    expect(() => parsePeerOptions(['--threads', '-1'])).toThrow('--threads must be an integer >= 0');
    expect(() => parsePeerOptions(['--threads', '2,'])).toThrow('--threads must be an integer >= 0, got ""');
    expect(() => parsePeerOptions(['--peer-batches', 'all'])).toThrow('--peer-batches must be sub or whole, got "all"');
    expect(() => parsePeerOptions(['--epochs', '--peer'])).toThrow('--epochs needs a value');
    expect(() => parsePeerOptions(['--epochs'])).toThrow('--epochs needs a value');
  });
});

// Hand-made runs: ours 3 epochs of 10 + 4 + 2 s (run 18 s with 2 s of set-up), 1,000 targets each;
// the peer 3 epochs of 9 s each (run 27 s).
const ours: RunTiming = { label: 'ours', epochSeconds: [10, 4, 2], epochTargets: [1000, 1000, 1000], epochLoss: [6.1, 5.2, 5], runSeconds: 18, processSeconds: 24 };
const peer: RunTiming = { label: 'peer', epochSeconds: [9, 9, 9], epochTargets: [1000, 1000, 1000], epochLoss: [6.2, 5.3, 5.1], runSeconds: 27, processSeconds: 30 };

describe('ndm bench --peer table', () => {
  it('summarises a run: the cold first epoch, the mean of the rest, targets over the run', () => {
    // rest: (4 + 2) / 2 = 3 s; targets/s: 3,000 / 18 = 166.67
    const s = summarise(ours);
    expect(s).toMatchObject({ epochs: 3, firstEpochSeconds: 10, restEpochSeconds: 3, runSeconds: 18, processSeconds: 24 });
    expect(s.targetsPerSecond).toBeCloseTo(3000 / 18, 10);
    expect(summarise({ ...ours, epochSeconds: [10], epochTargets: [1000], epochLoss: [6.1], runSeconds: 11 }).restEpochSeconds).toBeNaN();
  });

  it('the speed-up is the peer seconds over ours: 27 / 18 = 1.5 (run), 30 / 24 = 1.25 (process)', () => {
    expect(speedUp(ours, peer)).toEqual({ run: 1.5, process: 1.25 });
  });

  it('prints ours, then each peer run with its ratio row', () => {
    const lines = peerTable(ours, [peer, { ...peer, label: 'peer2', runSeconds: 9, processSeconds: 12 }]).split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[2]).toMatch(/^\| ours +\| 3 +\| 10\.0 +\| 3\.0 +\| 18\.0 +\| 24\.0 +\| 167 +\| 6\.100, 5\.200, 5\.000 \|$/);
    // epoch 1: 9 / 10 = 0.90; the rest: 9 / 3 = 3.00; targets/s 166.7 / 111.1 = 1.50
    expect(lines[4]).toMatch(/^\|   peer \/ ours \(speed-up; target >= 1\.5\) +\| +\| 0\.90 +\| 3\.00 +\| 1\.50 +\| 1\.25 +\| 1\.50 +\| +\|$/);
    // the second peer: run 9 / 18 = 0.50, process 12 / 24 = 0.50, targets/s 166.7 / 333.3 = 0.50
    expect(lines[6]).toMatch(/\| 0\.50 +\| 0\.50 +\| 0\.50 +\| +\|$/);
  });
});
