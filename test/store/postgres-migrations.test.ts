// CORE-012: the PostgreSQL schema keeps step with the SQLite one (every table has the same
// columns, so a migration appended to schema.ts without its PostgreSQL port fails here), several
// controllers starting at once on a new database migrate it exactly once, and a database from a
// newer nixfleet is refused.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { PG_SCHEMA_VERSION } from '../../src/store/postgres/pg-schema.js';
import { ensureBuiltDist } from '../support/built-dist.js';
import { freshDatabaseUrl, psql } from '../support/postgres.js';
import { type JournalChild, startChild } from './child-process.js';
import { POSTGRES, SQLITE } from './engines.js';
import { tempDataDir } from './new-run.js';

const children: JournalChild[] = [];
beforeAll(() => {
  expect(ensureBuiltDist()).toBe(true);
}, 300_000);
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.end()));
});

/** Tables both engines have; `owners`, `output_chunks` and `nixfleet_schema` are PostgreSQL's own. */
const SHARED_TABLES = ['meta', 'hosts', 'pipelines', 'commands', 'event_log', 'changes'];
/** PostgreSQL's stand-in for SQLite's rowid. */
const PG_ONLY_COLUMNS = new Set(['seq']);

describe('the PostgreSQL schema', () => {
  it('has every column of the SQLite schema, table by table', () => {
    const sqlite = SQLITE.open();
    const pg = POSTGRES.newStore();
    POSTGRES.open({}, pg).close();
    const db = new Database(sqlite.dbPath, { readonly: true });
    for (const table of SHARED_TABLES) {
      const fromSqlite = (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name).sort();
      const fromPg = psql(
        pg.store!,
        `SELECT column_name FROM information_schema.columns WHERE table_name = '${table}' ORDER BY column_name`,
      )
        .split('\n')
        .filter((name) => !PG_ONLY_COLUMNS.has(name));
      expect(fromPg, table).toEqual(fromSqlite);
    }
    db.close();
    sqlite.close();
  });

  it('is migrated exactly once when four controllers open a new database at the same moment', async () => {
    const store = freshDatabaseUrl();
    const started = await Promise.all(Array.from({ length: 4 }, () => startChild(tempDataDir(), { store })));
    children.push(...started);
    expect(psql(store, 'SELECT version FROM nixfleet_schema')).toBe(String(PG_SCHEMA_VERSION));
    expect(psql(store, "SELECT count(*) FROM meta WHERE key = 'change_head'")).toBe('1');
    const claims = await Promise.all(started.map((child, i) => child.ask(`claim web${i}`)));
    expect(claims.map((claim) => claim.claim)).toEqual(['won', 'won', 'won', 'won']);
  }, 120_000);

  it('refuses a database from a newer nixfleet instead of guessing', () => {
    const store = POSTGRES.newStore();
    POSTGRES.open({}, store).close();
    psql(store.store!, `UPDATE nixfleet_schema SET version = ${PG_SCHEMA_VERSION + 1}`);
    expect(() => POSTGRES.open({}, store)).toThrow(/newer than this nixfleet understands/);
  });
});
