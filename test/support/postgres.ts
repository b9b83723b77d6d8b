// Fresh PostgreSQL databases on the test run's server (test/support/postgres-global-setup.ts):
// one per journal a test opens, so tests never see each other's rows.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { execa } from 'execa';
import { inject } from 'vitest';
import { WRITE_LOCK_KEY } from '../../src/store/postgres/pg-core.js';

let counter = 0;

/** Creates an empty database and returns its postgres:// URL. */
export function freshDatabaseUrl(): string {
  const server = new URL(inject('postgresUrl'));
  const name = `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  execFileSync(
    join(inject('postgresBin'), 'psql'),
    [
      '-X',
      '-q',
      '-h',
      server.hostname,
      '-p',
      server.port,
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-c',
      `CREATE DATABASE ${name}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  server.pathname = `/${name}`;
  return server.toString();
}

function psqlArgs(url: string, query: string): string[] {
  const target = new URL(url);
  return [
    '-X',
    '-q',
    '-tA',
    '-h',
    target.hostname,
    '-p',
    target.port,
    '-U',
    decodeURIComponent(target.username) || 'postgres',
    '-d',
    target.pathname.slice(1),
    '-c',
    query,
  ];
}

/** Runs one query with psql against `url`, as its user, and returns its unaligned, tuples-only output. */
export function psql(url: string, query: string): string {
  return execFileSync(join(inject('postgresBin'), 'psql'), psqlArgs(url, query), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/**
 * Another session holding the journal's write lock in an open transaction (a psql someone left
 * open), until `release()`. Returns once the lock is held.
 */
export function holdWriteLock(url: string): Promise<{ release(): Promise<void> }> {
  // pg_locks is the whole server's: only this database's holder, not another test file's journal.
  const held = `FROM pg_locks WHERE locktype = 'advisory' AND objid = ${WRITE_LOCK_KEY} AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
  return holdInSession(url, `SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`, held, 'the write lock');
}

/**
 * Another session reading every table of the database in an open transaction, as a `pg_dump`
 * does, until `release()`: an `ALTER TABLE` waits for it. Returns once it holds them.
 */
export function holdTables(url: string): Promise<{ release(): Promise<void> }> {
  const tables = psql(url, "SELECT string_agg(tablename, ', ') FROM pg_tables WHERE schemaname = 'public'");
  const name = `nixfleet-test-reader-${counter++}`;
  const held = `FROM pg_locks WHERE granted AND pid IN (SELECT pid FROM pg_stat_activity
    WHERE application_name = '${name}' AND datname = current_database())`;
  return holdInSession(url, `LOCK TABLE ${tables} IN ACCESS SHARE MODE`, held, 'the tables', { PGAPPNAME: name });
}

/**
 * A psql session that runs `sql` in a transaction it leaves open, until `release()`. Returns once
 * `held` (a FROM clause of pg_locks rows) finds its locks; the same rows name the session to end.
 */
async function holdInSession(
  url: string,
  sql: string,
  held: string,
  what: string,
  env: Record<string, string> = {},
): Promise<{ release(): Promise<void> }> {
  const holder = execa(
    join(inject('postgresBin'), 'psql'),
    psqlArgs(url, `BEGIN; ${sql}; SELECT pg_sleep(600); COMMIT;`),
    {
      reject: false,
      env,
    },
  );
  const giveUpAt = Date.now() + 30_000;
  while (psql(url, `SELECT count(*) ${held}`) === '0') {
    if (Date.now() > giveUpAt || holder.exitCode !== null) throw new Error(`${what}: not held within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    release: async () => {
      // The server ends the session: a sleeping backend would not notice its client gone.
      psql(url, `SELECT pg_terminate_backend(pid) FROM (SELECT DISTINCT pid ${held}) AS holders`);
      await holder;
    },
  };
}

/**
 * A server restart as the journal's database sees it, without touching the server the other test
 * files share: every session of the database is dropped and, until `restart.end()`, no new one
 * is let in (as while the server is down).
 */
export function takeDatabaseDown(url: string): { end(): void; endAfter(ms: number): Promise<unknown> } {
  const name = new URL(url).pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  psql(admin.toString(), `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  psql(admin.toString(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${name}'`);
  const back = `ALTER DATABASE ${name} ALLOW_CONNECTIONS true`;
  return {
    end: () => void psql(admin.toString(), back),
    // From another process, for a test whose own thread is blocked meanwhile (a journal's close).
    endAfter: (ms) =>
      execa('sh', [
        '-c',
        `sleep ${ms / 1000}; exec "$0" "$@"`,
        join(inject('postgresBin'), 'psql'),
        ...psqlArgs(admin.toString(), back),
      ]),
  };
}
