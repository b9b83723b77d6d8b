// CORE-011: under the journal's write lock recovery only looks at a dead owner's processes; it
// never signals them nor waits for them (that is `settle`'s, before the lock). A dead owner whose
// command still runs keeps its work and its host, and its processes are left running, until a
// later recovery finds them gone. Called here inside a transaction with no `settle` before, as
// when a process of the dead owner's command appears between the two.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createChangeLog } from '../../src/store/change-log.js';
import { createCommandTable } from '../../src/store/command-table.js';
import { openDatabase } from '../../src/store/database.js';
import { createEventLog } from '../../src/store/event-log.js';
import { createHostLocks } from '../../src/store/host-locks.js';
import { createOrphanRecovery } from '../../src/store/orphan-recovery.js';
import { isOwnerAlive } from '../../src/store/owner.js';
import { checkLocks, deadOwners, markOrphans } from '../../src/store/postgres/pg-recovery.js';
import { createRunTable } from '../../src/store/run-table.js';
import type { BusyHost } from '../../src/store/types.js';
import { waitFor } from '../engine/support/wait-for.js';
import { isRunning } from '../support/processes.js';
import { ENGINES, type Engine, type StoreLocation } from './engines.js';
import { newRun } from './new-run.js';

/** Above Linux's largest pid_max (2^22), so no process can have it. */
const DEAD_PID = 2 ** 30;
const deadOwner = { pid: DEAD_PID, hostname: hostname(), startedAt: 1 };

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** Recovery's and the host locks' work inside one write transaction each, with nothing before. */
interface InTransaction {
  recover(): Promise<{ runs: number; commands: number }>;
  busy(hostIds: readonly string[]): Promise<BusyHost[]>;
  close(): Promise<void>;
}

async function inTransaction(engine: Engine, at: StoreLocation): Promise<InTransaction> {
  if (engine.name === 'SQLite') {
    const db = openDatabase(join(at.dataDir, 'nixfleet.db'));
    const changes = createChangeLog(db, Date.now);
    const tables = {
      runs: createRunTable(db, changes, Date.now),
      commands: createCommandTable(db, changes, Date.now, at.dataDir),
      events: createEventLog(db, changes, Date.now),
    };
    const isAlive = (owner: typeof deadOwner) => isOwnerAlive(owner, hostname());
    const recovery = createOrphanRecovery(db, tables, isAlive);
    const locks = createHostLocks(db, isAlive);
    return {
      recover: async () => db.transaction(() => recovery.recover()).immediate(),
      busy: async (hostIds) => db.transaction(() => locks.check(hostIds).busy).immediate(),
      close: async () => {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: at.store });
  await client.connect();
  const transaction = async <T>(fn: () => Promise<T>): Promise<T> => {
    await client.query('BEGIN');
    try {
      return await fn();
    } finally {
      await client.query('COMMIT');
    }
  };
  return {
    recover: () => transaction(async () => markOrphans(client, await deadOwners(client), Date.now())),
    busy: (hostIds) => transaction(async () => (await checkLocks(client, hostIds)).busy),
    close: () => client.end(),
  };
}

describe.each(ENGINES)('recovery inside the write transaction on $name', (engine) => {
  it('leaves a dead owner’s work and host as they are while a process of its command runs, and does not kill it', async () => {
    const store = engine.newStore();
    const dead = engine.open({ owner: deadOwner }, store);
    const { commands } = dead.createRun(newRun(['web1']));
    const tag = randomBytes(8).toString('hex');
    // Left the command's group (which is gone: no process has its pid); found by its tag.
    const escaped = spawn('sleep', ['600'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, NIXFLEET_PROCESS_TAG: tag },
    });
    children.push(escaped);
    const pid = escaped.pid!;
    await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0'), 'the sleep to run', 10_000);
    dead.recordProcess(commands[0]!.id, { group: DEAD_PID, startedAt: 1, tag });
    dead.close();

    const tx = await inTransaction(engine, store);
    try {
      const holder = { hostId: 'web1', runId: 'r1', commandId: commands[0]!.id };
      expect(await tx.busy(['web1'])).toEqual([holder]);
      expect(await tx.recover()).toEqual({ runs: 0, commands: 0 });
      expect(isRunning(pid)).toBe(true);
      expect(await tx.busy(['web1'])).toEqual([holder]);

      // Once it is gone, the next recovery marks the work and frees the host.
      escaped.kill('SIGKILL');
      await waitFor(() => !isRunning(pid), 'the sleep to die', 10_000);
      expect(await tx.recover()).toEqual({ runs: 1, commands: 1 });
      expect(await tx.busy(['web1'])).toEqual([]);
    } finally {
      await tx.close();
    }
    const journal = engine.open({}, store);
    try {
      expect(journal.getRun('r1')?.status).toBe('ORPHANED');
      expect(journal.getCommand(commands[0]!.id)?.status).toBe('ORPHANED');
    } finally {
      journal.close();
    }
  });
});
