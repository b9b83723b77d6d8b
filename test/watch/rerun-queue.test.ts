import { describe, expect, it } from 'vitest';
import { createRerunQueue } from '../../src/watch/rerun-queue.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('watch --run scheduling (CORE-006, re-runs)', () => {
  it('runs at once when idle, and any number of requests during a run queue exactly one more', async () => {
    const gates = [deferred(), deferred(), deferred()];
    let started = 0;
    let concurrent = 0;
    let mostConcurrent = 0;
    const queue = createRerunQueue(async () => {
      const gate = gates[started++]!;
      concurrent++;
      mostConcurrent = Math.max(mostConcurrent, concurrent);
      await gate.promise;
      concurrent--;
    });

    queue.request();
    expect(started).toBe(1);
    for (let i = 0; i < 5; i++) queue.request();
    expect(queue.isQueued).toBe(true);
    expect(started).toBe(1);

    gates[0]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(2);
    expect(queue.isQueued).toBe(false);

    gates[1]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(2);
    expect(queue.isRunning).toBe(false);
    expect(mostConcurrent).toBe(1);
  });

  it('stop drops the queued run and waits for the one in progress', async () => {
    const gate = deferred();
    let started = 0;
    let finished = 0;
    const queue = createRerunQueue(async () => {
      started++;
      await gate.promise;
      finished++;
    });
    queue.request();
    queue.request();
    const stopped = queue.stop();
    queue.request();
    gate.resolve();
    await stopped;
    expect({ started, finished, isRunning: queue.isRunning }).toEqual({ started: 1, finished: 1, isRunning: false });
  });
});
