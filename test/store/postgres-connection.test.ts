// CORE-012: a PostgreSQL journal whose server is down fails its calls with StoreUnavailableError,
// not an internal error, and never hangs the caller; once the server lets it in again, the next
// call connects again, and a session dropped between calls is replaced unnoticed. A dropped lease
// connection is replaced, so the lease never lapses while the controller lives.
import { describe, expect, it } from 'vitest';
import { LEASE_APPLICATION_NAME } from '../../src/store/postgres/replaceable-connection.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';
import { waitFor } from '../engine/support/wait-for.js';
import { holdWriteLock, psql, takeDatabaseDown } from '../support/postgres.js';
import { POSTGRES } from './engines.js';

describe('a PostgreSQL journal losing its connection', () => {
  it('throws StoreUnavailableError while the server lets no one in, and connects again once it does', async () => {
    const store = POSTGRES.newStore();
    const journal = POSTGRES.open({}, store);
    expect(journal.version()).toBe(0);
    const down = takeDatabaseDown(store.store!);
    let error: unknown;
    try {
      for (let i = 0; i < 100 && error === undefined; i++) {
        try {
          journal.version();
          // The worker learns of the drop asynchronously: give it a moment.
          await new Promise((resolve) => setTimeout(resolve, 50));
        } catch (caught) {
          error = caught;
        }
      }
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/^lost the connection to the PostgreSQL journal at postgres:\/\//);
      // Still down: every call says so (a connection error, not an internal one).
      expect(() => journal.version()).toThrow(StoreUnavailableError);
    } finally {
      down.end();
    }
    // Back: the next call connects again and the journal is the same.
    expect(journal.version()).toBe(0);
    expect(() => journal.close()).not.toThrow();
  });

  it('a session dropped between calls (a restart already over) is replaced without an error', async () => {
    const store = POSTGRES.newStore();
    const journal = POSTGRES.open({}, store);
    expect(journal.version()).toBe(0);
    psql(
      store.store!,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()',
    );
    // The worker learns of the drop asynchronously; whichever call comes first, none fails for good.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(journal.version()).toBe(0);
    journal.close();
  });
});

describe('a PostgreSQL journal whose write lock another session holds past the busy timeout', () => {
  it('fails that write, and the next write on the same journal goes through once the lock is free', async () => {
    const store = POSTGRES.newStore();
    const journal = POSTGRES.open({}, store);
    const tick = (message: string) =>
      journal.logEvent({ category: 'test', level: 'info', actor: 'test', action: 'tick', message });
    tick('before');
    const lock = await holdWriteLock(store.store!);
    try {
      expect(() => tick('while held')).toThrow(/is locked by another session \(nixfleet waited 5 s for it\)/);
    } finally {
      await lock.release();
    }
    // The session is not left in the aborted transaction of the lock it waited for: every later
    // call on it failed with `current transaction is aborted` (serve died of it).
    tick('after');
    expect(journal.listEvents({ limit: 10 }).map((e) => e.message)).toEqual(
      expect.arrayContaining(['before', 'after']),
    );
    journal.close();
  }, 60_000);
});

describe('a PostgreSQL journal whose lease connection the server drops (a restart, a failover)', () => {
  it('reconnects the heartbeat: the lease never lapses, so no other controller orphans its runs', async () => {
    const store = POSTGRES.newStore();
    // Heartbeats every 500 ms.
    const journal = POSTGRES.open({ leaseMs: 1_500 }, store);
    const url = store.store!;
    const leaseExpiry = () => psql(url, 'SELECT max(lease_expires_at) > now() FROM owners');
    try {
      expect(leaseExpiry()).toBe('t');
      const dropped = psql(
        url,
        `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE application_name = '${LEASE_APPLICATION_NAME}' AND datname = current_database()`,
      );
      expect(dropped).toBe('1');
      // Past two whole leases by the database's clock: a lease left unrenewed would have lapsed.
      const until = psql(url, "SELECT extract(epoch FROM now() + interval '3 seconds')");
      await waitFor(
        () => Number(psql(url, 'SELECT extract(epoch FROM now())')) > Number(until),
        'two leases to pass',
        30_000,
      );
      expect(leaseExpiry()).toBe('t');
      // And the main connection never noticed.
      expect(journal.version()).toBe(0);
    } finally {
      journal.close();
    }
  });

  it('closing gives the lease up over a new connection: what it left is orphaned at once, not a lease later', async () => {
    const store = POSTGRES.newStore();
    // A lease of a minute, beating every 20 s: no beat comes between the drop and the close.
    const journal = POSTGRES.open({ leaseMs: 60_000 }, store);
    const url = store.store!;
    expect(psql(url, 'SELECT count(*) FROM owners')).toBe('1');
    psql(
      url,
      `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
       WHERE application_name = '${LEASE_APPLICATION_NAME}' AND datname = current_database()`,
    );
    journal.close();
    // Before, the release went over the dropped connection and failed quietly: the row stayed.
    expect(psql(url, 'SELECT count(*) FROM owners')).toBe('0');
  });

  it('closing while the server is away for a moment gives the lease up once it is back', async () => {
    const store = POSTGRES.newStore();
    const journal = POSTGRES.open({ leaseMs: 60_000 }, store);
    const url = store.store!;
    expect(psql(url, 'SELECT count(*) FROM owners')).toBe('1');
    const down = takeDatabaseDown(url);
    const back = down.endAfter(1_500);
    // A restart that stopped a run: `apply` closes its journal at once, before the server is back.
    journal.close();
    await back;
    // Before, the one retry came while the server was still away: the lease stayed for its minute,
    // the run RUNNING and its hosts busy, and `retry` refused.
    expect(psql(url, 'SELECT count(*) FROM owners')).toBe('0');
  });
});
