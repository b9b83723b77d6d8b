// TIMEOUT end to end: the whole process tree dies within a second of the op's limit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { liveGroupMembers } from '../../src/domain/process-group.js';
import { openJournal } from '../../src/store/journal.js';
import { makeTempDir, runCli } from '../support/cli.js';
import { forkingDaemon, killForkingDaemon, survivors } from '../support/forking-daemon.js';
import { describeProcesses } from '../support/processes.js';

// Real CLI processes on a shared two-core machine: generous bounds, every wait still bounded.
vi.setConfig({ testTimeout: 120_000 });

const FLEET = `version: 1
hosts: { h1: {} }
ops:
  hang:
    # The shell's pid is its process group: record it, then leave children that would run for 30 s.
    run: echo $$ > pgid; sleep 30 & sleep 31 & sleep 32; wait
    timeout: 1s
`;

describe('timeouts', () => {
  it('a command over its timeout is TIMEOUT within a second of the limit, with no surviving processes', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const result = await runCli(dir, ['apply', 'hang', '--json']);
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.hosts.h1[0]).toMatchObject({ status: 'TIMEOUT', error: 'timed out after 1s', exitCode: null });
    const journal = openJournal(join(dir, '.nixfleet'));
    const [command] = journal.listCommands({ runId: report.runId });
    journal.close();
    const took = command!.finishedAt! - command!.startedAt!;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(2000);
    const pgid = Number(readFileSync(join(dir, 'pgid'), 'utf8'));
    expect(pgid).toBeGreaterThan(1);
    expect(liveGroupMembers(pgid)).toEqual([]);
  });

  // Node fires a timer over 2^31-1 ms at once: `timeout: 720h` validated and killed the op after
  // about 1 ms. Durations up to 576h are honoured; longer ones are refused at their position.
  it('the longest timeout (576h) lets the op finish; a longer one is refused by validate and apply', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {} }
ops:
  long:
    run: sleep 0.5; echo finished
    timeout: 576h
  too-long:
    run: sleep 0.5; echo finished
    timeout: 720h
`,
    });
    for (const command of [['validate'], ['apply', 'long']]) {
      const refused = await runCli(dir, command);
      expect(refused.exitCode, refused.stderr).toBe(2);
      expect(refused.stderr).toContain(
        'fleet.yaml:9:14: ops.too-long.timeout: `720h` is longer than 576h (24 days), the longest duration nixfleet can wait for (use at most 576h)',
      );
    }
    const fixed = makeTempDir({ 'fleet.yaml': readFileSync(join(dir, 'fleet.yaml'), 'utf8').replace('720h', '576h') });
    const result = await runCli(fixed, ['apply', 'too-long', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).hosts.h1[0]).toMatchObject({ status: 'SUCCESS', error: null });
  });
});

// CORE-011, "Processes that leave the group": SIGKILL by tag goes on, pass after pass, until two
// passes in a row find nothing, and the command is over only then.
describe('a timed-out command whose setsid child forks without pause and ignores SIGTERM', () => {
  const daemon = forkingDaemon('7203', '2s');
  afterEach(() => killForkingDaemon(daemon));

  it('is TIMEOUT only once no process carrying its tag is left', async () => {
    const dir = makeTempDir({ 'fleet.yaml': daemon.fleet });
    const result = await runCli(dir, ['apply', 'spawny', '--json'], { timeoutMs: 110_000 });
    expect(result.exitCode, result.stderr).toBe(1);
    expect(JSON.parse(result.stdout).hosts.h1[0]).toMatchObject({ status: 'TIMEOUT', error: 'timed out after 2s' });
    const left = survivors(dir, daemon);
    expect(left, describeProcesses(left)).toEqual([]);
  });
});
