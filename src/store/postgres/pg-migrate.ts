// Brings a PostgreSQL journal's schema up to date (see CORE-012). Several controllers may start
// at once against a new database: a session-level advisory lock makes exactly one of them migrate
// while the others wait, then find nothing left to do.
import type pg from 'pg';
import { UNUSABLE_DATABASE } from '../journal-error.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from './pg-schema.js';

/** Advisory lock keys are global to the database server's cluster of one database; any constant works. */
export const MIGRATION_LOCK_KEY = 7_140_001;

/** The tables the first migration creates: one already there in a database without a journal is another program's. */
const OWN_TABLES = ['changes', 'commands', 'event_log', 'hosts', 'meta', 'output_chunks', 'owners', 'pipelines'];

const unusable = (message: string, hint: string) =>
  Object.assign(new Error(message), { code: UNUSABLE_DATABASE, hint });

export async function migrate(client: pg.Client, where: string): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    const { rows: journal } = await client.query<{ present: boolean }>(
      "SELECT to_regclass('nixfleet_schema') IS NOT NULL AS present",
    );
    if (!journal[0]?.present) {
      // Checked before anything is created: a refused database is left as it was found.
      const { rows: taken } = await client.query<{ name: string }>(
        'SELECT relname AS name FROM pg_class WHERE relname = ANY($1) AND pg_table_is_visible(oid) ORDER BY relname',
        [OWN_TABLES],
      );
      if (taken.length > 0) {
        throw unusable(
          `${where} already holds tables of another program (${taken.map((t) => t.name).join(', ')})`,
          "give nixfleet's journal a database of its own (CREATE DATABASE nixfleet), or another --store",
        );
      }
    }
    await client.query('CREATE TABLE IF NOT EXISTS nixfleet_schema (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM nixfleet_schema');
    const from = rows[0]?.version ?? 0;
    if (from > PG_SCHEMA_VERSION) {
      throw unusable(
        `${where} has schema version ${from}, newer than this nixfleet understands (${PG_SCHEMA_VERSION})`,
        'upgrade nixfleet, or give another --store',
      );
    }
    for (let version = from; version < PG_SCHEMA_VERSION; version++) {
      await client.query('BEGIN');
      try {
        await client.query(PG_MIGRATIONS[version]!);
        await client.query('DELETE FROM nixfleet_schema');
        await client.query('INSERT INTO nixfleet_schema (version) VALUES ($1)', [version + 1]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}
