import { describe, expect, it } from 'vitest';
import { failureReason } from '../../src/engine/failure-reason.js';
import { createOutputTail, TAIL_LIMIT } from '../../src/engine/output-tail.js';

describe('the live output tail', () => {
  it('reports at most 4 times a second with a bounded tail, the latest text winning', async () => {
    const reports: string[] = [];
    const tail = createOutputTail((t) => reports.push(t));
    const started = Date.now();
    while (Date.now() - started < 600) {
      tail.append('x'.repeat(1000));
      await new Promise((r) => setTimeout(r, 5));
    }
    tail.append('END');
    await new Promise((r) => setTimeout(r, 300));
    tail.stop();
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(reports.length).toBeLessThanOrEqual(4);
    expect(reports.every((r) => r.length <= TAIL_LIMIT)).toBe(true);
    expect(reports.at(-1)!.endsWith('END')).toBe(true);
  });
});

describe('one-line failure reasons', () => {
  const result = { exitCode: null, signal: null, timedOut: false, aborted: false };
  it('names the phase, the exit code, the timeout or the transport', () => {
    expect(failureReason('run', { ...result, exitCode: 0 }, 1000)).toBeNull();
    expect(failureReason('run', { ...result, exitCode: 3 }, 1000)).toBe('exit code 3');
    expect(failureReason('postcheck', { ...result, exitCode: 1 }, 1000)).toBe('postcheck failed (exit 1)');
    expect(failureReason('run', { ...result, timedOut: true }, 120_000)).toBe('timed out after 2m');
    expect(failureReason('run', { ...result, aborted: true }, 1000)).toBe('killed by cancel');
    expect(failureReason('run', { ...result, transportError: 'ssh: connection refused' }, 1000)).toBe(
      'ssh: connection refused',
    );
  });
});
