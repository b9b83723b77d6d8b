// CORE-012, readers: `runs`, `show` and `logs` open a PostgreSQL journal whose schema is current
// without writing anything, so a role that may only CONNECT, USE the schema and SELECT reads it.
// A journal not created yet, or not upgraded yet, is never created or migrated by them: they say
// so in one line naming the database (password hidden) and that `nixfleet apply` creates it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/store/postgres/pg-schema.js';
import { makeTempDir, runCli } from '../support/cli.js';
import { freshDatabaseUrl, psql } from '../support/postgres.js';

beforeAll(() => {
  // Nothing to build here: bin/nixfleet.js imports dist/, which `npm test` builds first.
  expect(existsSync(join(import.meta.dirname, '../../dist/store/postgres/pg-worker-entry.js'))).toBe(true);
});

const FLEET = 'version: 1\nhosts:\n  web1: {}\nops:\n  hello:\n    run: echo hi\n';
const PASSWORD = 'hunter2';

/**
 * A role of its own that may connect to the database behind `url` and read every table in it,
 * nothing more; its URL carries a password (the test server trusts every login, so it only has to
 * stay hidden). `grantReads` grants it the tables there are now.
 */
function reader(url: string): { url: string; grantReads(): void } {
  const database = new URL(url).pathname.slice(1);
  const role = `reader_${database}`;
  psql(
    url,
    `CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORD}'; GRANT CONNECT ON DATABASE ${database} TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}`,
  );
  const grantReads = () => void psql(url, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
  grantReads();
  const readerUrl = new URL(url);
  readerUrl.username = role;
  readerUrl.password = PASSWORD;
  return { url: readerUrl.toString(), grantReads };
}

/** The URL as nixfleet shows it: the password as ***. */
const shown = (url: string) => url.replace(`:${PASSWORD}@`, ':***@');

type Run = { id: string; status: string };

describe('a PostgreSQL role that may only read', () => {
  it('reads a current journal with runs, show and logs, and recovers nothing it could not write', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const url = freshDatabaseUrl();
    const writer = { NIXFLEET_DATABASE_URL: url };
    expect((await runCli(dir, ['apply', 'hello'], { env: writer })).exitCode).toBe(0);
    const env = { NIXFLEET_DATABASE_URL: reader(url).url };
    // The role may not write: opening would fail at the first CREATE, INSERT or write lock.
    expect(() => psql(env.NIXFLEET_DATABASE_URL, 'CREATE TABLE probe (x int)')).toThrow(/permission denied/);

    const runs = await runCli(dir, ['runs', '--json'], { env });
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(runs.stderr).toBe('');
    expect(JSON.parse(runs.stdout)).toMatchObject([{ id: 'r1', status: 'COMPLETE' }]);
    const table = await runCli(dir, ['runs'], { env });
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toContain('COMPLETE');
    const show = await runCli(dir, ['show', 'r1'], { env });
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout).toContain('hello');
    const logs = await runCli(dir, ['--json', 'logs', 'r1'], { env });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(JSON.parse(logs.stdout)).toMatchObject([{ output: 'hi\n' }]);
    for (const result of [runs, table, show, logs]) expect(result.stderr).toBe('');
    // No lease was taken either: the reader owns nothing.
    expect(psql(url, 'SELECT count(*) FROM owners')).toBe('0');

    // A run whose controller is gone (no lease), its command cut short: the reader may not
    // write what recovery writes, so it shows what recovery would record, and writes nothing; the
    // next nixfleet that may write records it.
    psql(url, "UPDATE pipelines SET status = 'RUNNING', finished_at = NULL WHERE id = 'r1'");
    psql(url, "UPDATE commands SET status = 'EXECUTING', finished_at = NULL, exit_code = NULL WHERE id = 'c1'");
    const seen = await runCli(dir, ['runs', '--json'], { env });
    expect(seen.exitCode, seen.stderr).toBe(0);
    expect((JSON.parse(seen.stdout) as Run[])[0]).toMatchObject({ id: 'r1', status: 'ORPHANED' });
    const shownRun = await runCli(dir, ['show', 'r1', '--json'], { env });
    expect(shownRun.exitCode, shownRun.stderr).toBe(0);
    const [command] = (JSON.parse(shownRun.stdout) as { commands: { id: string; status: string; error: string }[] })
      .commands;
    expect(command).toMatchObject({ id: 'c1', status: 'ORPHANED' });
    expect(command?.error).toMatch(
      /^orphaned: nixfleet process \d+ on .+ stopped before this finished \(its lease expired\)$/,
    );
    expect(psql(url, "SELECT status FROM pipelines WHERE id = 'r1'")).toBe('RUNNING');
    expect(psql(url, "SELECT status FROM commands WHERE id = 'c1'")).toBe('EXECUTING');
    const recovered = await runCli(dir, ['runs', '--json'], { env: writer });
    expect(recovered.exitCode, recovered.stderr).toBe(0);
    expect((JSON.parse(recovered.stdout) as Run[])[0]).toMatchObject({ id: 'r1', status: 'ORPHANED' });
    expect(psql(url, "SELECT status FROM commands WHERE id = 'c1'")).toBe('ORPHANED');
  });

  it('is told in one line that the journal has not been created, and that apply creates it; nothing is made', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const url = freshDatabaseUrl();
    const role = reader(url);
    const readerUrl = role.url;
    const env = { NIXFLEET_DATABASE_URL: readerUrl };
    const message = `the journal in ${shown(readerUrl)} has not been created yet`;
    const hint =
      '  hint: run `nixfleet apply` once as a user that may create tables in that database: it creates the journal';

    // `runs` lists nothing, as in a data directory without a journal (exit 0), and says why.
    const runs = await runCli(dir, ['runs'], { env });
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(runs.stdout.trimEnd().split('\n')).toEqual([message, hint]);
    const json = await runCli(dir, ['runs', '--json'], { env });
    expect(json.exitCode, json.stderr).toBe(0);
    expect(json.stdout).toBe('[]');
    // `show` and `logs` have nothing to show: exit 2, as without a SQLite journal.
    for (const args of [
      ['show', 'r1'],
      ['logs', 'r1'],
    ]) {
      const result = await runCli(dir, args, { env });
      expect(result.exitCode, args[0]).toBe(2);
      expect(result.stderr.trimEnd().split('\n'), args[0]).toEqual([`nixfleet: ${message}`, hint]);
    }
    for (const result of [runs, json]) expect(result.stderr).toBe('');
    // Readers never create the journal, not even with a role that could.
    expect((await runCli(dir, ['runs'], { env: { NIXFLEET_DATABASE_URL: url } })).exitCode).toBe(0);
    expect(psql(url, "SELECT to_regclass('nixfleet_schema') IS NULL")).toBe('t');
    expect(psql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).toBe('0');
    // apply, by a user that may, creates it; from then on the reader reads it.
    expect((await runCli(dir, ['apply', 'hello'], { env: { NIXFLEET_DATABASE_URL: url } })).exitCode).toBe(0);
    role.grantReads();
    const after = await runCli(dir, ['runs', '--json'], { env });
    expect(after.exitCode, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject([{ id: 'r1', status: 'COMPLETE' }]);
  });

  it('is told in one line that the journal has not been upgraded, exit 2; apply upgrades it', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const url = freshDatabaseUrl();
    // The journal as the nixfleet before this one's last migration left it.
    const older = PG_SCHEMA_VERSION - 1;
    for (const migration of PG_MIGRATIONS.slice(0, older)) psql(url, migration);
    psql(url, `CREATE TABLE nixfleet_schema (version INTEGER NOT NULL); INSERT INTO nixfleet_schema VALUES (${older})`);
    const role = reader(url);
    const env = { NIXFLEET_DATABASE_URL: role.url };
    for (const args of [['runs'], ['runs', '--json'], ['show', 'r1'], ['logs', 'r1']]) {
      const result = await runCli(dir, args, { env });
      expect(result.exitCode, args.join(' ')).toBe(2);
      const message = `the journal in ${shown(role.url)} has schema version ${older}, older than this nixfleet's (${PG_SCHEMA_VERSION}): it has not been upgraded yet`;
      const hint =
        'run `nixfleet apply` once as a user that may create tables in that database (the owner of its tables): it upgrades the journal';
      expect(result.stderr.trimEnd().split('\n'), args.join(' ')).toEqual([`nixfleet: ${message}`, `  hint: ${hint}`]);
      // With --json the same words as the error object on stdout (CORE-002), else nothing there.
      const expected = args.includes('--json') ? JSON.stringify({ error: { message, hint, exitCode: 2 } }) : '';
      expect(result.stdout, args.join(' ')).toBe(expected);
    }
    expect(psql(url, 'SELECT version FROM nixfleet_schema')).toBe(String(older));
    expect((await runCli(dir, ['apply', 'hello'], { env: { NIXFLEET_DATABASE_URL: url } })).exitCode).toBe(0);
    expect(psql(url, 'SELECT version FROM nixfleet_schema')).toBe(String(PG_SCHEMA_VERSION));
    role.grantReads();
    const after = await runCli(dir, ['runs', '--json'], { env });
    expect(after.exitCode, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject([{ id: 'r1', status: 'COMPLETE' }]);
  });

  it('is told in one line which GRANT it lacks, exit 2, never a stack trace', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const url = freshDatabaseUrl();
    expect((await runCli(dir, ['apply', 'hello'], { env: { NIXFLEET_DATABASE_URL: url } })).exitCode).toBe(0);
    const role = reader(url);
    const name = new URL(role.url).username;
    psql(url, `REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM ${name}`);
    const env = { NIXFLEET_DATABASE_URL: role.url };
    const refused = (table: string) => [
      `nixfleet: cannot use the PostgreSQL journal at ${shown(role.url)}: permission denied for table ${table}`,
      `  hint: \`runs\`, \`show\` and \`logs\` need SELECT on its tables (\`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${name}\`); the other commands need a role that owns them`,
    ];
    // No SELECT at all: refused on opening, by the readers and the rest alike.
    for (const args of [['runs'], ['show', 'r1'], ['logs', 'r1'], ['apply', 'hello']]) {
      const result = await runCli(dir, args, { env });
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr.trimEnd().split('\n'), args.join(' ')).toEqual(refused('nixfleet_schema'));
    }
    // The schema's version only: refused at the first table a command reads.
    psql(url, `GRANT SELECT ON nixfleet_schema TO ${name}`);
    for (const args of [['runs'], ['show', 'r1']]) {
      const result = await runCli(dir, args, { env });
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr.trimEnd().split('\n'), args.join(' ')).toEqual(refused('pipelines'));
    }
    // May read, not write: `apply` is refused where it first writes, before it runs anything.
    role.grantReads();
    const apply = await runCli(dir, ['apply', 'hello'], { env });
    expect(apply.exitCode, apply.stderr).toBe(2);
    expect(apply.stderr).toMatch(
      /^nixfleet: cannot use the PostgreSQL journal at .*: permission denied for table \w+\n {2}hint: /,
    );
    expect(psql(url, 'SELECT count(*) FROM pipelines')).toBe('1');
  });
});
