// The journal contract runs on both engines (see CORE-012): each contract test is written once
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteDriver } from '../../src/store/database.js';
// and run by `describe.each(ENGINES)` against SQLite and against a real PostgreSQL.
import { type JournalOptions, openJournal } from '../../src/store/journal.js';
import type { Journal } from '../../src/store/types.js';
import { ensureBuiltDist } from '../support/built-dist.js';
import { freshDatabaseUrl, psql } from '../support/postgres.js';
import { tempDataDir } from './new-run.js';

/** Where a journal lives: a data directory, and for PostgreSQL its database. */
export interface StoreLocation {
  readonly dataDir: string;
  readonly store?: string;
}

export interface Engine {
  readonly name: 'SQLite' | 'PostgreSQL';
  /** A new, empty store. */
  newStore(): StoreLocation;
  /** Opens a journal on `at`, or on a new store. */
  open(options?: JournalOptions, at?: StoreLocation): Journal;
}

function engine(name: Engine['name'], newStore: () => StoreLocation): Engine {
  return {
    name,
    newStore,
    open(options = {}, at = newStore()) {
      return openJournal(at.dataDir, { ...options, ...(at.store === undefined ? {} : { store: at.store }) });
    },
  };
}

export const SQLITE = engine('SQLite', () => ({ dataDir: tempDataDir() }));

// The PostgreSQL journal's worker thread runs the build: make sure it is current.
if (!ensureBuiltDist()) throw new Error('dist/ is stale and `tsc -p tsconfig.build.json` did not refresh it');
export const POSTGRES = engine('PostgreSQL', () => ({ dataDir: tempDataDir(), store: freshDatabaseUrl() }));

export const ENGINES: readonly Engine[] = [SQLITE, POSTGRES];

/**
 * Whether the command's output is still stored: its file on SQLite, its chunks on PostgreSQL.
 * `outputFile` is the command's outputFile from before it was pruned.
 */
export function outputStored(at: StoreLocation, commandId: string, outputFile: string): boolean {
  if (at.store === undefined) return existsSync(outputFile);
  return Number(psql(at.store, `SELECT count(*) FROM output_chunks WHERE command_id = '${commandId}'`)) > 0;
}

/** The process columns of a command's row as stored (`recordProcess`), those set, joined by `|`. */
export function storedProcess(at: StoreLocation, commandId: string): string {
  const query = `SELECT process_group, process_started_at, remote_group, process_tag FROM commands WHERE id = '${commandId}'`;
  if (at.store !== undefined)
    return psql(at.store, query.replace('SELECT ', "SELECT concat_ws('|', ").replace(' FROM', ') FROM'));
  const db = new SqliteDriver(join(at.dataDir, 'nixfleet.db'), { readonly: true, fileMustExist: true });
  try {
    return Object.values(db.prepare(query).get() as object)
      .filter((value) => value !== null)
      .join('|');
  } finally {
    db.close();
  }
}
