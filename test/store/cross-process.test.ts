// CORE-003 across real processes: exactly one of two racing processes claims a host, a process
// killed with SIGKILL leaves ORPHANED rows (and everything it wrote before, intact), and a live
// process's work is never touched. The children run the built dist/ (journal-child.mjs).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HostsBusyError } from '../../src/store/hosts-busy-error.js';
import { openJournal } from '../../src/store/journal.js';
import { ensureBuiltDist } from '../support/built-dist.js';
import { type JournalChild, startChild } from './child-process.js';
import { newRun, tempDataDir } from './new-run.js';

const children: JournalChild[] = [];

// dist/ is what the children import.
beforeAll(() => {
  expect(ensureBuiltDist()).toBe(true);
}, 300_000);

afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});

async function child(dataDir: string): Promise<JournalChild> {
  const started = await startChild(dataDir);
  children.push(started);
  return started;
}

describe('two processes claiming the same host', () => {
  it('exactly one wins, every time, over 100 tries', async () => {
    const dataDir = tempDataDir();
    openJournal(dataDir).close();
    const [a, b] = await Promise.all([child(dataDir), child(dataDir)]);
    for (let round = 0; round < 100; round++) {
      const [fromA, fromB] = await Promise.all([a!.ask('claim web1'), b!.ask('claim web1')]);
      const winners = [fromA, fromB].filter((answer) => answer.claim === 'won');
      expect(winners, `round ${round}: ${JSON.stringify([fromA, fromB])}`).toHaveLength(1);
      const winner = fromA.claim === 'won' ? a! : b!;
      const loser = fromA.claim === 'won' ? fromB : fromA;
      expect(loser.busy).toEqual([expect.objectContaining({ hostId: 'web1', runId: winners[0]!.runId })]);
      await winner.ask('release');
    }
    const journal = openJournal(dataDir);
    expect(journal.listRuns({ limit: 1000 })).toHaveLength(100);
    expect(journal.listRuns({ activeOnly: true })).toHaveLength(0);
    journal.close();
  }, 120_000);
});

describe('a process killed with SIGKILL mid-run', () => {
  it('leaves its unfinished rows ORPHANED at the next open, with a warn event, and its earlier rows intact', async () => {
    const dataDir = tempDataDir();
    const doomed = await child(dataDir);
    const before = await doomed.ask('mid-run');
    const [done, running, laterOne, laterTwo] = before.commands as string[];
    await doomed.kill();

    const journal = openJournal(dataDir);
    const run = journal.getRun(before.runId as string)!;
    expect(run.status).toBe('ORPHANED');
    expect(run.finishedAt).not.toBeNull();
    expect(journal.getCommand(done!)).toMatchObject({ status: 'SUCCESS', exitCode: 0, attempt: 1 });
    // CORE-003, recovery: the reason says which command was cut short and which never started.
    const who = `nixfleet process ${doomed.pid} on ${hostname()}`;
    expect(journal.getCommand(running!)).toMatchObject({
      status: 'ORPHANED',
      error: `orphaned: ${who} stopped before this finished`,
      // CORE-009: no one is left to disarm or follow its timer, as for a killed op.
      armed: { delayMs: 3000, state: 'unknown' },
    });
    for (const id of [laterOne, laterTwo]) {
      expect(journal.getCommand(id!)).toMatchObject({
        status: 'ORPHANED',
        error: `orphaned: never started: ${who} stopped before starting it`,
      });
    }
    expect(readFileSync(journal.getCommand(done!)!.outputFile!, 'utf8')).toBe('pulled\n');
    expect(readFileSync(journal.getCommand(running!)!.outputFile!, 'utf8')).toBe('half of the output\n');

    const versionAtKill = before.version as number;
    const changes = journal.changesSince(0);
    expect(changes.map((c) => c.version)).toEqual(changes.map((_, i) => i + 1));
    expect(changes[versionAtKill - 1]!.change).toMatchObject({
      type: 'event',
      event: { message: 'written before the kill' },
    });
    const recovery = changes.slice(versionAtKill).map((c) => c.change.type);
    expect(recovery).toEqual([
      'command_progress',
      'command_finished',
      'command_finished',
      'command_finished',
      'pipeline_finished',
      'event',
    ]);
    const [warn] = journal.listEvents({ limit: 1 });
    expect(warn).toMatchObject({
      category: 'recovery',
      level: 'warn',
      details: { owner: { pid: doomed.pid }, runs: [run.id], commands: [running, laterOne, laterTwo] },
    });
    // The host it held is free again.
    expect(journal.createRun(newRun(['web2'])).run.status).toBe('RUNNING');
    journal.close();
  }, 30_000);
});

describe('a live owner', () => {
  it('keeps its run and its hosts while another process opens the journal and recovers', async () => {
    const dataDir = tempDataDir();
    const alive = await child(dataDir);
    const { runId } = await alive.ask('claim web1');
    const journal = openJournal(dataDir);
    expect(journal.recoverOrphans()).toEqual({ runs: 0, commands: 0 });
    expect(journal.getRun(runId as string)?.status).toBe('RUNNING');
    expect(() => journal.createRun(newRun(['web1']))).toThrow(HostsBusyError);

    // Cancel works from any process: the owner sees the flag on its next poll.
    journal.requestCancel(runId as string);
    expect(await alive.ask(`cancel-requested ${runId}`)).toEqual({ cancelRequested: true });

    await alive.kill();
    expect(journal.recoverOrphans()).toEqual({ runs: 1, commands: 1 });
    expect(journal.createRun(newRun(['web1'])).run.id).toBe('r2');
    journal.close();
  }, 30_000);

  it('records this process as owner, with its real start time', async () => {
    const dataDir = tempDataDir();
    const other = await child(dataDir);
    const { owner } = (await other.ask('owner')) as { owner: { pid: number; startedAt: number } };
    expect(owner.pid).toBe(other.pid);
    expect(Math.abs(owner.startedAt - Date.now())).toBeLessThan(60_000);
  }, 30_000);
});
