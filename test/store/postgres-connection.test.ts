// CORE-012: a PostgreSQL journal whose connection the server drops fails its next call with
// StoreUnavailableError (the CLI's exit 2 with a hint), not an internal error, and never hangs
// the caller; closing it afterwards still works.
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';
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
