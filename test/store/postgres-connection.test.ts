// CORE-012: a PostgreSQL journal whose connection the server drops fails its next call with
// StoreUnavailableError (the CLI's exit 2 with a hint), not an internal error, and never hangs
// the caller; closing it afterwards still works. A dropped lease connection is replaced, so the
// lease never lapses while the controller lives.
import { describe, expect, it } from 'vitest';
import { LEASE_APPLICATION_NAME } from '../../src/store/postgres/lease-connection.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';
import { waitFor } from '../engine/support/wait-for.js';
import { psql } from '../support/postgres.js';
import { POSTGRES } from './engines.js';

describe('a PostgreSQL journal losing its connection', () => {
  it('throws StoreUnavailableError on the next call and still closes', async () => {
    const store = POSTGRES.newStore();
    const journal = POSTGRES.open({}, store);
    expect(journal.version()).toBe(0);
    psql(
      store.store!,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()',
    );
    let error: unknown;
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
    expect(() => journal.close()).not.toThrow();
  });
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
});
