// CORE-012 across real processes on one PostgreSQL, each with its own data directory (as
// controllers on different machines would be): 100 racing claims for one host from three
// processes give exactly one winner each time; a controller killed with SIGKILL is orphaned once
// its lease has expired (by the database's clock) and not while it holds one; a live owner whose
// heartbeat renews a short lease is never orphaned. The children run the built dist/.
import { hostname } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HostsBusyError } from '../../src/store/hosts-busy-error.js';
import type { Journal } from '../../src/store/types.js';
import { ensureBuiltDist } from '../support/built-dist.js';
import { freshDatabaseUrl } from '../support/postgres.js';
import { type JournalChild, startChild } from './child-process.js';
import { POSTGRES } from './engines.js';
import { newRun, tempDataDir } from './new-run.js';

const children: JournalChild[] = [];
const journals: Journal[] = [];

beforeAll(() => {
  expect(ensureBuiltDist()).toBe(true);
}, 300_000);

afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
  for (const journal of journals.splice(0)) journal.close();
});

/** A controller with its own data directory on the shared database. */
async function controller(store: string, leaseSeconds: number): Promise<JournalChild> {
  const started = await startChild(tempDataDir(), { store, env: { NIXFLEET_LEASE_SECONDS: String(leaseSeconds) } });
  children.push(started);
  return started;
}

function observer(store: string): Journal {
  const journal = POSTGRES.open({}, { dataDir: tempDataDir(), store });
  journals.push(journal);
  return journal;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('controllers sharing one PostgreSQL', () => {
  it('of three processes claiming one host at once, exactly one wins, every time, over 100 rounds', async () => {
    const store = freshDatabaseUrl();
    const racers = await Promise.all([controller(store, 30), controller(store, 30), controller(store, 30)]);
    for (let round = 0; round < 100; round++) {
      const answers = await Promise.all(racers.map((racer) => racer.ask('claim web1')));
      const winners = answers.filter((answer) => answer.claim === 'won');
      expect(winners, `round ${round}: ${JSON.stringify(answers)}`).toHaveLength(1);
      for (const loser of answers.filter((answer) => answer.claim !== 'won')) {
        expect(loser.busy).toEqual([expect.objectContaining({ hostId: 'web1', runId: winners[0]!.runId })]);
      }
      await racers[answers.indexOf(winners[0]!)]!.ask('release');
    }
    const journal = observer(store);
    expect(journal.listRuns({ limit: 1000 })).toHaveLength(100);
    expect(journal.listRuns({ activeOnly: true })).toHaveLength(0);
    // Versions stayed contiguous across the three writers.
    const versions = journal.changesSince(0).map((c) => c.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
  }, 180_000);

  it('a killed controller holding an unexpired lease is not orphaned: its run and hosts stay', async () => {
    const store = freshDatabaseUrl();
    const doomed = await controller(store, 600);
    const { runId } = await doomed.ask('claim web1');
    await doomed.kill();
    const journal = observer(store);
    expect(journal.recoverOrphans()).toEqual({ runs: 0, commands: 0 });
    expect(journal.getRun(runId as string)?.status).toBe('RUNNING');
    expect(() => journal.createRun(newRun(['web1']))).toThrow(HostsBusyError);
  }, 60_000);

  it('a controller killed mid-run is orphaned once its lease expires, by the database clock; its earlier rows and output stay', async () => {
    const store = freshDatabaseUrl();
    const doomed = await controller(store, 2);
    const before = await doomed.ask('mid-run');
    const [done, running, laterOne, laterTwo] = before.commands as string[];
    await doomed.kill();

    const journal = observer(store);
    let recovered = { runs: 0, commands: 0 };
    for (let i = 0; i < 600 && recovered.runs === 0; i++) {
      recovered = journal.recoverOrphans();
      if (recovered.runs === 0) await sleep(100);
    }
    expect(recovered).toEqual({ runs: 1, commands: 3 });
    expect(journal.getRun(before.runId as string)?.status).toBe('ORPHANED');
    expect(journal.getCommand(done!)).toMatchObject({ status: 'SUCCESS', exitCode: 0 });
    // CORE-003, recovery: the reason says which command was cut short and which never started.
    const who = `nixfleet process ${doomed.pid} on ${hostname()}`;
    expect(journal.getCommand(running!)).toMatchObject({
      status: 'ORPHANED',
      error: `orphaned: ${who} stopped before this finished (its lease expired)`,
      // CORE-009: no one is left to disarm or follow its timer, as for a killed op.
      armed: { delayMs: 3000, state: 'unknown' },
    });
    for (const id of [laterOne, laterTwo]) {
      expect(journal.getCommand(id!)).toMatchObject({
        status: 'ORPHANED',
        error: `orphaned: never started: ${who} stopped before starting it (its lease expired)`,
      });
    }
    expect(journal.readOutput(done!).toString()).toBe('pulled\n');
    expect(journal.readOutput(running!).toString()).toBe('half of the output\n');
    const [warn] = journal.listEvents({ limit: 1 });
    expect(warn).toMatchObject({
      category: 'recovery',
      level: 'warn',
      details: { owner: { pid: doomed.pid }, runs: [before.runId], commands: [running, laterOne, laterTwo] },
    });
    // Never before the lease ran out, both read from the database server's clock.
    const { leaseExpiredAt, noticedAt } = warn!.details as { leaseExpiredAt: number; noticedAt: number };
    expect(leaseExpiredAt).toBeLessThanOrEqual(noticedAt);
    const changes = journal.changesSince(0).map((c) => c.version);
    expect(changes).toEqual(changes.map((_, i) => i + 1));
    expect(journal.createRun(newRun(['web2'])).run.status).toBe('RUNNING');
  }, 120_000);

  it('a live controller renewing a 2 s lease is never orphaned while others keep recovering', async () => {
    const store = freshDatabaseUrl();
    const alive = await controller(store, 2);
    const { runId } = await alive.ask('claim web1');
    const journal = observer(store);
    // Several lease lengths of other processes looking for orphans.
    for (let i = 0; i < 30; i++) {
      expect(journal.recoverOrphans()).toEqual({ runs: 0, commands: 0 });
      await sleep(200);
    }
    expect(journal.getRun(runId as string)?.status).toBe('RUNNING');
    expect(() => journal.createRun(newRun(['web1']))).toThrow(HostsBusyError);
    // Cancel from another machine reaches it through the database.
    journal.requestCancel(runId as string);
    expect(await alive.ask(`cancel-requested ${runId}`)).toEqual({ cancelRequested: true });
    await alive.end();
    // It closed its journal, giving its lease up: what it left is orphaned at once.
    expect(journal.recoverOrphans()).toEqual({ runs: 1, commands: 1 });
  }, 60_000);
});
