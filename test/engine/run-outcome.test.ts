import { describe, expect, it } from 'vitest';
import { exitCodeOf, runStatusOf } from '../../src/engine/run-outcome.js';
import { CONTROLLER_HOST_ID } from '../../src/registry/types.js';

const hosts = ['a', 'b'];

describe('the final status of a run', () => {
  it('COMPLETE, PARTIAL, FAILED and CANCELLED from the commands', () => {
    const ok = [
      { hostId: 'a', status: 'SUCCESS' as const },
      { hostId: 'b', status: 'SUCCESS' as const },
    ];
    expect(runStatusOf(hosts, ok, false)).toBe('COMPLETE');
    expect(runStatusOf(hosts, [ok[0]!, { hostId: 'b', status: 'ERROR' }], false)).toBe('PARTIAL');
    expect(
      runStatusOf(
        hosts,
        [
          { hostId: 'a', status: 'TIMEOUT' },
          { hostId: 'b', status: 'ERROR' },
        ],
        false,
      ),
    ).toBe('FAILED');
    expect(runStatusOf(hosts, ok, true)).toBe('CANCELLED');
  });

  it('a failed controller op fails every host', () => {
    const commands = [
      { hostId: CONTROLLER_HOST_ID, status: 'ERROR' as const },
      { hostId: 'a', status: 'SKIPPED' as const },
      { hostId: 'b', status: 'SKIPPED' as const },
    ];
    expect(runStatusOf(hosts, commands, false)).toBe('FAILED');
  });

  it('exit 3 only when prechecks blocked everything and nothing ran', () => {
    expect(
      exitCodeOf('FAILED', [
        { hostId: 'a', status: 'BLOCKED' },
        { hostId: 'a', status: 'SKIPPED' },
      ]),
    ).toBe(3);
    expect(
      exitCodeOf('FAILED', [
        { hostId: 'a', status: 'BLOCKED' },
        { hostId: 'b', status: 'ERROR' },
      ]),
    ).toBe(1);
    expect(
      exitCodeOf('PARTIAL', [
        { hostId: 'a', status: 'SUCCESS' },
        { hostId: 'b', status: 'BLOCKED' },
      ]),
    ).toBe(1);
    expect(exitCodeOf('COMPLETE', [])).toBe(0);
    expect(exitCodeOf('CANCELLED', [])).toBe(130);
  });
});
