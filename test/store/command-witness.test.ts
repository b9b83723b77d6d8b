// CORE-011: recovery and host locks look at a dead owner's recorded process groups. A group that
// still runs is killed before its host is freed; a recorded leader pid now held by a process that
// started later is someone else's and is never signalled.
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { openJournal } from '../../src/store/journal.js';
import { processStartTime } from '../../src/store/owner.js';
import { waitFor } from '../engine/support/wait-for.js';
import { isRunning } from '../support/processes.js';
import { newRun, tempDataDir } from './new-run.js';

/** Above Linux's largest pid_max (2^22), so no process can have it. */
const DEAD_PID = 2 ** 30;
const deadOwner = { pid: DEAD_PID, hostname: hostname(), startedAt: 1 };

function detachedSleep(): number {
  const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

describe('a dead owner’s recorded processes', () => {
  it('are killed by the next claim of the host, which then takes it; the old run is ORPHANED', async () => {
    const dataDir = tempDataDir();
    const dead = openJournal(dataDir, { owner: deadOwner });
    const { commands } = dead.createRun(newRun(['web1']));
    const group = detachedSleep();
    await waitFor(() => processStartTime(group) !== undefined, 'the sleep to start', 10_000);
    dead.recordProcess(commands[0]!.id, { group, startedAt: processStartTime(group) ?? null });
    dead.close();

    // Opening runs recovery: the group is killed before the run is marked.
    const next = openJournal(dataDir);
    try {
      expect(isRunning(group)).toBe(false);
      expect(next.getRun('r1')?.status).toBe('ORPHANED');
      expect(next.createRun(newRun(['web1'])).run.id).toBe('r2');
      const event = next.listEvents().find((e) => e.action === 'orphaned');
      expect(event?.level).toBe('warn');
    } finally {
      next.close();
    }
  });

  it('a process that left the group is found by its NIXFLEET_PROCESS_TAG and killed too', async () => {
    const dataDir = tempDataDir();
    const dead = openJournal(dataDir, { owner: deadOwner });
    const { commands } = dead.createRun(newRun(['web1']));
    const tag = 'a1b2c3d4e5f60718';
    const escaped = spawn('sleep', ['600'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, NIXFLEET_PROCESS_TAG: tag },
    });
    escaped.unref();
    await waitFor(() => processStartTime(escaped.pid!) !== undefined, 'the sleep to start', 10_000);
    // The recorded group itself is long gone (no process has this pid).
    dead.recordProcess(commands[0]!.id, { group: DEAD_PID, startedAt: 1, tag });
    dead.close();

    const next = openJournal(dataDir);
    try {
      expect(isRunning(escaped.pid!)).toBe(false);
      expect(next.getRun('r1')?.status).toBe('ORPHANED');
    } finally {
      next.close();
    }
  });

  it('a leader pid reused by a later process is not the command: nothing is signalled, the host is freed', async () => {
    const dataDir = tempDataDir();
    const dead = openJournal(dataDir, { owner: deadOwner });
    const { commands } = dead.createRun(newRun(['web1']));
    const stranger = detachedSleep();
    await waitFor(() => processStartTime(stranger) !== undefined, 'the sleep to start', 10_000);
    // Recorded as if the group's leader had started an hour before this process did.
    const startedAt = (processStartTime(stranger) as number) - 3_600_000;
    dead.recordProcess(commands[0]!.id, { group: stranger, startedAt });
    dead.close();

    const next = openJournal(dataDir);
    try {
      expect(next.getRun('r1')?.status).toBe('ORPHANED');
      expect(isRunning(stranger)).toBe(true);
      expect(next.createRun(newRun(['web1'])).run.id).toBe('r2');
    } finally {
      next.close();
      process.kill(-stranger, 'SIGKILL');
    }
  });

  it('a recorded group of 0 (a damaged journal) is never signalled nor waited for: the host is freed', () => {
    const dataDir = tempDataDir();
    const dead = openJournal(dataDir, { owner: deadOwner });
    const { commands } = dead.createRun(newRun(['web1']));
    dead.recordProcess(commands[0]!.id, { group: 0, startedAt: null });
    dead.close();

    // `kill(-0)` is this process's own group: under CI, the whole test run and the script above
    // it. test/support/kill-guard.ts refuses the call and fails this test if it is made.
    const next = openJournal(dataDir);
    try {
      expect(next.getRun('r1')?.status).toBe('ORPHANED');
      expect(next.createRun(newRun(['web1'])).run.id).toBe('r2');
    } finally {
      next.close();
    }
  });
});
