// Kill from anywhere and a closed terminal (see CORE-011): SIGHUP kills the running commands and
// ends the run CANCELLED with exit 130; `nixfleet cancel RUN --kill` from another process makes
// the owning process kill its running commands.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { liveGroupMembers } from '../../src/domain/process-group.js';
import { openJournal } from '../../src/store/journal.js';
import { waitFor, waitForFile } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { type ForkingDaemon, forkingDaemon, killForkingDaemon, survivors } from '../support/forking-daemon.js';
import { describeProcesses, killWithLifeline, processesMatching } from '../support/processes.js';

vi.setConfig({ testTimeout: 240_000 });

const FLEET = `version: 1
settings: { concurrency: 1 }
hosts: { h1: {}, h2: {} }
ops:
  hang:
    run: echo $$ > pgid-$NIXFLEET_HOST; touch started-$NIXFLEET_HOST; sleep 600
`;

function commandStatuses(dir: string, runId: string) {
  const journal = openJournal(join(dir, '.nixfleet'));
  try {
    return {
      run: journal.getRun(runId)?.status,
      commands: Object.fromEntries(journal.listCommands({ runId }).map((c) => [c.hostId, [c.status, c.error]])),
    };
  } finally {
    journal.close();
  }
}

describe('SIGHUP (the terminal closed)', () => {
  it('kills the running command, journals the run CANCELLED and exits 130', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'hang', '--json'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'started-h1'));
    apply.kill('SIGHUP');
    const result = await apply;
    expect(result.signal, String(result.stderr)).toBeUndefined();
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(String(result.stderr)).toContain('the terminal closed: killing the running commands of run r1');
    expect(commandStatuses(dir, 'r1')).toEqual({
      run: 'CANCELLED',
      commands: { h1: ['CANCELLED', 'killed by cancel'], h2: ['CANCELLED', null] },
    });
    expect(liveGroupMembers(Number(readFileSync(join(dir, 'pgid-h1'), 'utf8')))).toEqual([]);
  });
});

describe('nixfleet cancel RUN --kill from another process', () => {
  it('the owning process kills its running command within its poll; the run ends CANCELLED, exit 130', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'hang', '--json'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'started-h1'));
    const cancel = await runCli(dir, ['cancel', 'r1', '--kill']);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain('kill requested for run r1');
    // No signal from the test: only the journaled request can end the 600 s command.
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(JSON.parse(String(result.stdout)).hosts.h1[0]).toMatchObject({
      status: 'CANCELLED',
      error: 'killed by cancel',
    });
    expect(liveGroupMembers(Number(readFileSync(join(dir, 'pgid-h1'), 'utf8')))).toEqual([]);
    const journal = openJournal(join(dir, '.nixfleet'));
    try {
      expect(journal.getRun('r1')).toMatchObject({ status: 'CANCELLED', cancelRequested: true, killRequested: true });
      expect(journal.listEvents().some((e) => e.action === 'kill_requested' && e.actor === 'cli')).toBe(true);
    } finally {
      journal.close();
    }
  });
});

describe('SIGHUP to `nixfleet watch --run`', () => {
  it('kills the running command at once (no second signal can come), the run is CANCELLED, exit 130', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const watch = spawnCli(dir, ['watch', '--run', 'hang'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'started-h1'));
    watch.kill('SIGHUP');
    const result = await watch;
    expect(result.signal, String(result.stderr)).toBeUndefined();
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(commandStatuses(dir, 'r1')).toEqual({
      run: 'CANCELLED',
      commands: { h1: ['CANCELLED', 'killed by cancel'], h2: ['CANCELLED', null] },
    });
    expect(liveGroupMembers(Number(readFileSync(join(dir, 'pgid-h1'), 'utf8')))).toEqual([]);
    // It says what it does, not to press Ctrl-C again (nobody can).
    expect(String(result.stdout)).toContain('cancelling run r1 (the terminal closed: running commands are killed)');
    expect(String(result.stdout)).not.toContain('Ctrl-C again');
  });
});

// CORE-011, "Processes that leave the group": the lifeline's and recovery's SIGKILL by tag go on,
// pass after pass, until two passes in a row find nothing; a child that forks without pause
// while one pass runs is found by the next.
describe('kill -9 of nixfleet while a setsid child of its command forks without pause', () => {
  /** The loop runs and has children of its own outside the command's group. */
  async function forking(dir: string, daemon: ForkingDaemon): Promise<void> {
    await waitForFile(join(dir, 'started'));
    await waitFor(() => processesMatching(daemon.marker).length > 20, 'the loop to fork');
  }

  describe('the lifeline', () => {
    const daemon = forkingDaemon('7204', '5m');
    afterEach(() => killForkingDaemon(daemon));

    it('kills every process carrying the command’s tag', async () => {
      const dir = makeTempDir({ 'fleet.yaml': daemon.fleet });
      const apply = spawnCli(dir, ['apply', 'spawny'], { timeoutMs: 240_000 });
      await forking(dir, daemon);
      apply.kill('SIGKILL');
      await apply;
      await waitFor(() => survivors(dir, daemon).length === 0, 'no tagged process alive', 30_000).catch((error) => {
        throw new Error(`${error}: ${describeProcesses(survivors(dir, daemon))}`);
      });
    });
  });

  describe('recovery, when the lifeline died too', () => {
    const daemon = forkingDaemon('7205', '5m');
    afterEach(() => killForkingDaemon(daemon));

    it('kills every process carrying the command’s tag at the next open, before it frees the host', async () => {
      const dir = makeTempDir({ 'fleet.yaml': daemon.fleet });
      const apply = spawnCli(dir, ['apply', 'spawny'], { timeoutMs: 240_000 });
      await forking(dir, daemon);
      await killWithLifeline(apply);
      expect(processesMatching(daemon.marker).length).toBeGreaterThan(0);
      // One open of the journal, one recovery: r1 is ORPHANED, and its host free, only once
      // nothing of its command is left. (An apply would recover again in its claim.)
      const runs = await runCli(dir, ['runs', '--json']);
      expect(runs.exitCode, runs.stderr).toBe(0);
      const left = survivors(dir, daemon);
      expect(left, describeProcesses(left)).toEqual([]);
      expect(JSON.parse(runs.stdout)).toMatchObject([{ id: 'r1', status: 'ORPHANED' }]);
      const next = await runCli(dir, ['apply', 'check']);
      expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    });
  });
});
