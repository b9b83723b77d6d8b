// TIMEOUT end to end: the whole process tree dies within a second of the op's limit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { liveGroupMembers } from '../../src/domain/process-group.js';
import { openJournal } from '../../src/store/journal.js';
import { makeTempDir, runCli } from '../support/cli.js';

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
});
