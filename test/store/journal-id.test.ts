// CORE-003, the journal's id: made once, at random, by the first open that may write, and the same
// for every handle on the journal (two processes on one SQLite data directory, controllers on one
// PostgreSQL database); another journal has another, and so has a copy of a SQLite data directory.
// Armed rollback timers name it (CORE-009).
import { cpSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import type { JournalOptions } from '../../src/store/journal.js';
import type { Journal } from '../../src/store/types.js';
import { makeTempDir, runCli } from '../support/cli.js';
import { psql } from '../support/postgres.js';
import { ENGINES, type Engine, SQLITE, type StoreLocation } from './engines.js';
import { tempDataDir } from './new-run.js';

/** Runs SQL on the store the way a person with sqlite3 or psql would. */
function query(at: StoreLocation, sql: string): string {
  if (at.store !== undefined) return psql(at.store, sql);
  const db = new Database(join(at.dataDir, 'nixfleet.db'));
  try {
    const statement = db.prepare(sql);
    if (!statement.reader) {
      statement.run();
      return '';
    }
    return statement
      .raw()
      .all()
      .map((row) => (row as unknown[]).join('|'))
      .join('\n');
  } finally {
    db.close();
  }
}

const ID = /^[0-9a-f]{32}$/;

/** Opens journals on `engine`; `closeAll` closes them, and so does the end of each test. */
function journalsOn(engine: Engine) {
  const journals: Journal[] = [];
  const closeAll = () => {
    for (const journal of journals.splice(0)) journal.close();
  };
  afterEach(closeAll);
  const open = (at: StoreLocation, options: JournalOptions = {}) => {
    const journal = engine.open(options, at);
    journals.push(journal);
    return journal;
  };
  return { open, closeAll };
}

describe.each(ENGINES)("the journal's id on $name", (engine) => {
  const { open, closeAll } = journalsOn(engine);
  /** Another handle on the same journal: on PostgreSQL a controller with a data directory of its own. */
  const sameJournal = (at: StoreLocation): StoreLocation =>
    at.store === undefined ? at : { dataDir: tempDataDir(), store: at.store };

  it('is made with a new journal, kept across reopening, and stored where the journal is', () => {
    const at = engine.newStore();
    const first = open(at);
    expect(first.id).toMatch(ID);
    closeAll();
    expect(open(at).id).toBe(first.id);
    expect(query(at, "SELECT value FROM meta WHERE key = 'journal_id'")).toBe(first.id);
  });

  it('is the same for every handle open on one journal at once, and differs between journals', () => {
    const at = engine.newStore();
    const one = open(at);
    const two = open(sameJournal(at));
    const three = open(sameJournal(at), { readOnly: true });
    expect(two.id).toBe(one.id);
    expect(three.id).toBe(one.id);
    const other = open(engine.newStore());
    expect(other.id).toMatch(ID);
    expect(other.id).not.toBe(one.id);
  });

  it('a journal from before ids gets one at its first open that may write; a read-only open writes none', () => {
    const at = engine.newStore();
    open(at);
    closeAll();
    query(at, "DELETE FROM meta WHERE key = 'journal_id'");
    expect(open(sameJournal(at), { readOnly: true }).id).toBe('');
    expect(query(at, "SELECT count(*) FROM meta WHERE key = 'journal_id'")).toBe('0');
    const made = open(sameJournal(at)).id;
    expect(made).toMatch(ID);
    expect(open(sameJournal(at), { readOnly: true }).id).toBe(made);
    expect(query(at, "SELECT value FROM meta WHERE key = 'journal_id'")).toBe(made);
  });
});

describe('a copy of a SQLite data directory (cp -r, a CI cache)', () => {
  const { open, closeAll } = journalsOn(SQLITE);
  const copyOf = (at: StoreLocation): StoreLocation => {
    const dataDir = tempDataDir();
    cpSync(at.dataDir, dataDir, { recursive: true });
    return { dataDir };
  };
  const inodeOf = (at: StoreLocation) => String(statSync(join(at.dataDir, 'nixfleet.db')).ino);
  const stored = (at: StoreLocation, key: string) => query(at, `SELECT value FROM meta WHERE key = '${key}'`);

  it('gets an id of its own at its first open that may write, and keeps it; the original keeps its own', () => {
    const original = SQLITE.newStore();
    const id = open(original).id;
    expect(stored(original, 'journal_inode')).toBe(inodeOf(original));
    closeAll();
    const copy = copyOf(original);
    expect(stored(copy, 'journal_id')).toBe(id);

    // Read-only, it is taken as it is: nothing is written, and nothing is armed through it.
    expect(open(copy, { readOnly: true }).id).toBe(id);
    expect(stored(copy, 'journal_inode')).toBe(inodeOf(original));
    closeAll();

    const own = open(copy).id;
    expect(own).toMatch(ID);
    expect(own).not.toBe(id);
    expect(stored(copy, 'journal_inode')).toBe(inodeOf(copy));
    // A second handle at once, and later ones, have the copy's id.
    expect(open(copy).id).toBe(own);
    closeAll();
    expect(open(copy).id).toBe(own);
    expect(open(original).id).toBe(id);
  });

  it('a journal from before inodes were recorded keeps its id, and a copy of it then gets its own', () => {
    const original = SQLITE.newStore();
    const id = open(original).id;
    closeAll();
    query(original, "DELETE FROM meta WHERE key = 'journal_inode'");
    expect(open(original).id).toBe(id);
    expect(stored(original, 'journal_inode')).toBe(inodeOf(original));
    closeAll();
    const copy = copyOf(original);
    expect(open(copy).id).not.toBe(id);
  });

  it('through the real CLI: `apply` in a copy of a data directory runs under a journal id of its own', async () => {
    const fleet = 'version: 1\nhosts: { web1: {} }\nops: { hello: { run: echo hello } }\n';
    const first = makeTempDir({ 'fleet.yaml': fleet });
    expect((await runCli(first, ['apply', 'hello'])).exitCode).toBe(0);
    const second = makeTempDir({ 'fleet.yaml': fleet });
    cpSync(join(first, '.nixfleet'), join(second, '.nixfleet'), { recursive: true });
    expect((await runCli(second, ['apply', 'hello'])).exitCode).toBe(0);
    const [one, two] = [first, second].map((dir) => stored({ dataDir: join(dir, '.nixfleet') }, 'journal_id'));
    expect(one).toMatch(ID);
    expect(two).toMatch(ID);
    expect(two).not.toBe(one);
    // The copy's history came with it: its run is the second.
    expect((await runCli(second, ['runs', '--json'])).stdout).toContain('"r2"');
  });
});
