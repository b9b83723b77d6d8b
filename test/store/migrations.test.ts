// CORE-003: the journal creates its schema in an empty file, re-opens an existing one without
// losing anything, and refuses a database written by a newer nixfleet.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { openJournal } from '../../src/store/journal.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';
import { newRun, tempDataDir } from './new-run.js';

function columns(dbPath: string, table: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
  } finally {
    db.close();
  }
}

describe('schema and migrations', () => {
  it('an empty database file gets the whole schema, in WAL mode, at the current user_version', () => {
    const emptyDir = tempDataDir();
    mkdirSync(emptyDir, { recursive: true });
    writeFileSync(join(emptyDir, 'nixfleet.db'), '');
    const fromEmptyFile = openJournal(emptyDir);
    expect(fromEmptyFile.version()).toBe(0);
    fromEmptyFile.close();

    const db = new Database(join(emptyDir, 'nixfleet.db'), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('has the tables and columns of CORE-003', () => {
    const journal = openJournal(tempDataDir());
    const { dbPath } = journal;
    journal.close();
    expect(columns(dbPath, 'hosts')).toEqual(expect.arrayContaining(['id', 'hostname', 'created_at', 'updated_at']));
    expect(columns(dbPath, 'commands')).toEqual(
      expect.arrayContaining([
        'id',
        'host_id',
        'op',
        'pipeline_id',
        'status',
        'created_at',
        'started_at',
        'finished_at',
        'exit_code',
        'error',
        'output_file',
        'stage',
        'attempt',
        'owner_pid',
        'owner_hostname',
        'owner_started_at',
      ]),
    );
    expect(columns(dbPath, 'pipelines')).toEqual(
      expect.arrayContaining([
        'id',
        'name',
        'hosts',
        'current_stage',
        'status',
        'created_at',
        'finished_at',
        'registry_hash',
        'target_kind',
        'stages',
        'retry_of',
        'cancel_requested',
      ]),
    );
    expect(columns(dbPath, 'event_log')).toEqual([
      'id',
      'timestamp',
      'category',
      'level',
      'actor',
      'host_id',
      'action',
      'message',
      'details',
    ]);
    expect(columns(dbPath, 'changes')).toEqual(expect.arrayContaining(['version']));
  });

  it('re-opening keeps every row, the version and the id sequences', () => {
    const dataDir = tempDataDir();
    const first = openJournal(dataDir);
    const { run, commands } = first.createRun(newRun(['web1', 'web2'], ['pull', 'switch']));
    first.transitionCommand(commands[0]!.id, 'VALIDATING');
    first.logEvent({ category: 'run', level: 'info', action: 'note', message: 'kept', details: { n: 1 } });
    const version = first.version();
    const changes = first.changesSince(0);
    first.close();

    const second = openJournal(dataDir);
    expect(second.version()).toBe(version);
    expect(second.changesSince(0)).toEqual(changes);
    expect(second.getRun(run.id)).toMatchObject({ status: 'RUNNING', hosts: ['web1', 'web2'] });
    expect(second.getCommand(commands[0]!.id)?.status).toBe('VALIDATING');
    expect(second.listEvents()[0]).toMatchObject({ message: 'kept', details: { n: 1 } });
    second.finishRun(run.id, 'FAILED');
    const next = second.createRun(newRun(['web1']));
    expect(next.run.id).toBe('r2');
    expect(next.commands[0]!.id).toBe('c5');
    second.close();
  });

  it('a journal whose change log counted versions with AUTOINCREMENT keeps them and counts on from the newest', () => {
    const dataDir = tempDataDir();
    mkdirSync(dataDir, { recursive: true });
    const dbPath = join(dataDir, 'nixfleet.db');
    const before = MIGRATIONS.findIndex((m) => m.includes('changes_by_rowid'));
    const old = new Database(dbPath);
    old.pragma('journal_mode = WAL');
    for (const migration of MIGRATIONS.slice(0, before)) old.exec(migration);
    old.pragma(`user_version = ${before}`);
    const insert = old.prepare("INSERT INTO changes (type, created_at, payload) VALUES ('event', 1, ?)");
    for (let n = 1; n <= 5; n++) insert.run(JSON.stringify({ type: 'event', n }));
    // Retention had removed the oldest two.
    old.exec('DELETE FROM changes WHERE version <= 2');
    old.close();

    const journal = openJournal(dataDir);
    expect(journal.version()).toBe(5);
    expect(journal.changesSince(0).map(({ version, change }) => [version, (change as { n?: number }).n])).toEqual([
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    journal.logEvent({ category: 'run', level: 'info', action: 'note', message: 'after' });
    expect(journal.version()).toBe(6);
    journal.close();
    const db = new Database(dbPath, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'changes'").pluck().get()).not.toMatch(
      /AUTOINCREMENT/,
    );
    db.close();
  });

  it('refuses a database from a newer nixfleet instead of guessing', () => {
    const dataDir = tempDataDir();
    const journal = openJournal(dataDir);
    journal.close();
    const db = new Database(journal.dbPath);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openJournal(dataDir)).toThrow(/newer than this nixfleet understands/);
  });
});
