// Brings a PostgreSQL journal's schema up to date (see CORE-012). Several controllers may start
// at once against a new database: a session-level advisory lock makes exactly one of them migrate
// while the others wait, then find nothing left to do. Commands that only read never migrate:
// they check that the schema is current, writing and locking nothing.
import type pg from 'pg';
import { NO_JOURNAL, SCHEMA_BUSY, UNUSABLE_DATABASE } from '../journal-error.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from './pg-schema.js';

/** Advisory lock keys are global to the database server's cluster of one database; any constant works. */
export const MIGRATION_LOCK_KEY = 7_140_001;

/** The tables the first migration creates: one already there in a database without a journal is another program's. */
const OWN_TABLES = ['changes', 'commands', 'event_log', 'hosts', 'meta', 'output_chunks', 'owners', 'pipelines'];

const unusable = (message: string, hint: string) =>
  Object.assign(new Error(message), { code: UNUSABLE_DATABASE, hint });

/**
 * How long opening waits for the locks an upgrade takes: the migration lock another nixfleet holds
 * while it upgrades, and each table an `ALTER TABLE` changes, which waits for every transaction
 * that read it (a `pg_dump`, a psql left open). Longer than the write lock's 5 s, as a controller
 * that starts with others on a new database waits for one of them to create every table.
 */
export const MIGRATION_WAIT_MS = 15_000;

/** SQLSTATE of a lock waited for past lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';

export async function migrate(client: pg.Client, where: string): Promise<void> {
  // The session's own setting, put back before the session does anything else (RESET, below).
  await client.query(`SET lock_timeout = ${MIGRATION_WAIT_MS}`);
  try {
    await upgrade(client, where);
  } catch (error) {
    if ((error as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw error;
    throw Object.assign(
      new Error(
        `upgrading the journal in ${where} waited ${MIGRATION_WAIT_MS / 1000} s for a lock another session holds`,
      ),
      { code: SCHEMA_BUSY },
    );
  } finally {
    // On a lost session this fails too; the error above says more.
    await client.query('RESET lock_timeout').catch(() => undefined);
  }
}

async function upgrade(client: pg.Client, where: string): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    const from = await schemaVersion(client, where);
    if (from === PG_SCHEMA_VERSION) return;
    // Every pending migration in one transaction: a reader (requireCurrentSchema) sees the journal
    // as it was or at this version, never half upgraded, and a failure leaves it as it was.
    await client.query('BEGIN');
    try {
      if (from === undefined) await client.query('CREATE TABLE nixfleet_schema (version INTEGER NOT NULL)');
      for (let version = from ?? 0; version < PG_SCHEMA_VERSION; version++) {
        await client.query(PG_MIGRATIONS[version]!);
      }
      await client.query('DELETE FROM nixfleet_schema');
      await client.query('INSERT INTO nixfleet_schema (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}

/**
 * For commands that only read (CORE-012): the journal must already be at this nixfleet's schema.
 * Only reads, takes no lock, and so works for a role that may only SELECT; a journal not created
 * or not upgraded yet is refused with what creates it, instead of being migrated.
 */
export async function requireCurrentSchema(client: pg.Client, where: string): Promise<void> {
  const version = (await schemaVersion(client, where)) ?? 0;
  const apply = 'run `nixfleet apply` once as a user that may create tables in that database';
  if (version === 0) {
    throw Object.assign(new Error(`the journal in ${where} has not been created yet`), {
      code: NO_JOURNAL,
      hint: `${apply}: it creates the journal`,
    });
  }
  if (version < PG_SCHEMA_VERSION) {
    throw unusable(
      `the journal in ${where} has schema version ${version}, older than this nixfleet's (${PG_SCHEMA_VERSION}): it has not been upgraded yet`,
      `${apply} (the owner of its tables): it upgrades the journal`,
    );
  }
}

/**
 * The journal's schema version, or undefined when the database has none (no nixfleet_schema).
 * Refuses another program's tables and a schema newer than this nixfleet's.
 */
async function schemaVersion(client: pg.Client, where: string): Promise<number | undefined> {
  const journalThere = async () =>
    (await client.query<{ present: boolean }>("SELECT to_regclass('nixfleet_schema') IS NOT NULL AS present")).rows[0]
      ?.present === true;
  if (!(await journalThere())) {
    // Checked before anything is created: a refused database is left as it was found.
    const { rows: taken } = await client.query<{ name: string }>(
      'SELECT relname AS name FROM pg_class WHERE relname = ANY($1) AND pg_table_is_visible(oid) ORDER BY relname',
      [OWN_TABLES],
    );
    if (taken.length === 0) return undefined;
    // Another nixfleet may have created the journal between the two looks (each statement sees
    // what is committed when it starts): its migration creates nixfleet_schema in the same
    // transaction as these tables, so a journal is there now, and tables without it are not one.
    if (!(await journalThere())) {
      throw unusable(
        `${where} already holds tables of another program (${taken.map((t) => t.name).join(', ')})`,
        "give nixfleet's journal a database of its own (CREATE DATABASE nixfleet), or another --store",
      );
    }
  }
  const { rows } = await client.query<{ version: number }>('SELECT version FROM nixfleet_schema');
  const version = rows[0]?.version ?? 0;
  if (version > PG_SCHEMA_VERSION) {
    throw unusable(
      `${where} has schema version ${version}, newer than this nixfleet understands (${PG_SCHEMA_VERSION})`,
      'upgrade nixfleet, or give another --store',
    );
  }
  return version;
}
