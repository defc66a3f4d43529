import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, throwIfCancelled } from '@cascade-lab/core';
import { withRun } from './lifecycle.js';
import { LocalTracker } from './local/tracker.js';
import { LocalStore } from './local/store.js';
import type { TrackedRun, Tracker } from './types.js';

let root: string;
let tracker: LocalTracker;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cascade-life-'));
  tracker = new LocalTracker({ root });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const status = (runId: string) => new LocalStore(root).readMeta(runId).status;
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('withRun', () => {
  it('ends FINISHED when the body resolves, and returns its value', async () => {
    let id = '';
    const out = await withRun(tracker, { name: 'ok', system: false }, async (run) => {
      id = run.runId;
      run.logMetric('loss', 1);
      return 42;
    });
    expect(out).toBe(42);
    expect(status(id)).toBe('FINISHED');
    expect(new LocalStore(root).readMetricHistory(id, 'loss')).toHaveLength(1);
  });

  it('ends FAILED with the error tag when the body throws, and rethrows', async () => {
    let id = '';
    await expect(
      withRun(tracker, { name: 'bad', system: false }, async (run) => {
        id = run.runId;
        throw new RangeError('weights exploded');
      }),
    ).rejects.toThrow('weights exploded');
    expect(status(id)).toBe('FAILED');
    expect(new LocalStore(root).readTags(id)['cascade.error']).toBe('RangeError: weights exploded');
  });

  it('ends KILLED on SIGTERM: the signal is aborted and the trainer stops', async () => {
    let id = '';
    const before = process.listenerCount('SIGTERM');
    const result = withRun(tracker, { name: 'killed', system: false }, async (run, signal) => {
      id = run.runId;
      expect(process.listenerCount('SIGTERM')).toBe(before + 1);
      for (let epoch = 0; ; epoch++) {
        throwIfCancelled(signal);
        run.logMetric('loss', 1 / (epoch + 1), epoch);
        if (epoch === 3) process.emit('SIGTERM');
        await tick();
      }
    });
    await expect(result).rejects.toThrow(new CancelledError('interrupted by SIGTERM'));
    expect(status(id)).toBe('KILLED');
    expect(new LocalStore(root).readMetricHistory(id, 'loss').map((p) => p.step)).toEqual([0, 1, 2, 3]);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('forces KILLED and exits when the body ignores SIGINT past the grace period', async () => {
    const exits: number[] = [];
    let id = '';
    let release!: () => void;
    const body = withRun(tracker, { name: 'stubborn', system: false, graceMs: 20, exit: (code) => void exits.push(code) }, async (run) => {
      id = run.runId;
      process.emit('SIGINT');
      await new Promise<void>((r) => (release = r));
    });
    for (let i = 0; i < 100 && exits.length === 0; i++) await tick();
    expect(exits).toEqual([130]);
    expect(status(id)).toBe('KILLED');
    release();
    await body; // the body finishing afterwards changes nothing
    expect(status(id)).toBe('KILLED');
  });

  it('a second SIGINT exits at once even when closing the run hangs (server stuck): the run is kept KILLED locally', async () => {
    // A tracker whose runs never finish end(), as with a server that accepts connections and never answers.
    const hanging: Tracker = {
      kind: 'local',
      location: root,
      check: () => tracker.check(),
      close: () => tracker.close(),
      startRun: async (o) => {
        const run = await tracker.startRun(o);
        return new Proxy(run, {
          get: (t, p) => (p === 'end' ? () => new Promise(() => undefined) : typeof Reflect.get(t, p) === 'function' ? (Reflect.get(t, p) as Function).bind(t) : Reflect.get(t, p)),
        }) as TrackedRun;
      },
    };
    const exits: number[] = [];
    let id = '';
    let release!: () => void;
    const body = withRun(hanging, { name: 'twice', system: false, forceExitMs: 50, exit: (code) => void exits.push(code) }, async (run) => {
      id = run.runId;
      process.emit('SIGINT');
      process.emit('SIGINT');
      await new Promise<void>((r) => (release = r));
    });
    for (let i = 0; i < 100 && exits.length === 0; i++) await tick();
    expect(exits).toEqual([130]);
    expect(status(id)).toBe('KILLED');
    release();
    await body.catch(() => undefined);
  });

  it('a nested run follows its parent signal and installs no process handlers', async () => {
    const before = process.listenerCount('SIGINT');
    let childId = '';
    await expect(
      withRun(tracker, { name: 'parent', system: false }, async (parent, signal) =>
        withRun(tracker, { name: 'child', parent, signal, system: false }, async (child, childSignal) => {
          childId = child.runId;
          expect(process.listenerCount('SIGINT')).toBe(before + 1);
          process.emit('SIGINT');
          expect(childSignal.aborted).toBe(true);
          throwIfCancelled(childSignal);
        }),
      ),
    ).rejects.toThrow(CancelledError);
    const store = new LocalStore(root);
    expect(store.readMeta(childId).status).toBe('KILLED');
    expect(store.readMeta(store.readMeta(childId).parentRunId!).status).toBe('KILLED');
  });

  it('the exit hook closes a run the process leaves open', async () => {
    let id = '';
    const pending = withRun(tracker, { name: 'exiting', system: false }, async (run) => {
      id = run.runId;
      run.logMetric('loss', 3, 0);
      // Call our hook (the last 'exit' listener) rather than emitting 'exit' to Jest's own listeners.
      const hooks = process.listeners('exit');
      (hooks[hooks.length - 1] as (code: number) => void)(1);
      return 'late';
    });
    await expect(pending).resolves.toBe('late');
    // The hook ran first (FAILED: no signal was received); the later close is then a no-op.
    expect(status(id)).toBe('FAILED');
    expect(new LocalStore(root).readMetricHistory(id, 'loss')).toHaveLength(1);
  });
});
