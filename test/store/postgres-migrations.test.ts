// CORE-012: the PostgreSQL schema keeps step with the SQLite one (every table has the same
// columns, so a migration appended to schema.ts without its PostgreSQL port fails here), several
// controllers starting at once on a new database migrate it exactly once, and a database from a
// newer nixfleet is refused.

import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { requireCurrentSchema } from '../../src/store/postgres/pg-migrate.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/store/postgres/pg-schema.js';
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

  it('is read by a command that looks while another nixfleet creates it, not taken for another program', async () => {
    // The reader's first look finds no journal; the journal's creation commits right after it, so
    // the reader's next look finds its tables. They are a journal, not another program's tables.
    const store = freshDatabaseUrl();
    const creator = new pg.Client({ connectionString: store });
    const reader = new pg.Client({ connectionString: store });
    await creator.connect();
    await reader.connect();
    try {
      await creator.query('BEGIN');
      await creator.query('CREATE TABLE nixfleet_schema (version INTEGER NOT NULL)');
      for (const migration of PG_MIGRATIONS) await creator.query(migration);
      await creator.query('INSERT INTO nixfleet_schema (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
      let looks = 0;
      const racing = {
        query: async (...args: Parameters<pg.Client['query']>) => {
          const result = await (reader.query as (...a: unknown[]) => Promise<unknown>)(...args);
          if (looks++ === 0) await creator.query('COMMIT');
          return result;
        },
      } as unknown as pg.Client;
      await expect(requireCurrentSchema(racing, store)).resolves.toBeUndefined();
      expect(looks).toBeGreaterThan(1);
    } finally {
      await creator.end();
      await reader.end();
    }
  });

  it('still refuses tables of another program in a database without a journal', async () => {
    const store = freshDatabaseUrl();
    psql(store, 'CREATE TABLE hosts (id TEXT)');
    const reader = new pg.Client({ connectionString: store });
    await reader.connect();
    try {
      await expect(requireCurrentSchema(reader, store)).rejects.toThrow(
        /already holds tables of another program \(hosts\)/,
      );
    } finally {
      await reader.end();
    }
  });

  it('refuses a database from a newer nixfleet instead of guessing', () => {
    const store = POSTGRES.newStore();
    POSTGRES.open({}, store).close();
    psql(store.store!, `UPDATE nixfleet_schema SET version = ${PG_SCHEMA_VERSION + 1}`);
    expect(() => POSTGRES.open({}, store)).toThrow(/newer than this nixfleet understands/);
  });
});
