// Opens DATA_DIR/nixfleet.db the way every nixfleet process must (see CORE-003): WAL so readers
// never block the writer, a busy timeout so concurrent processes wait instead of failing, and
// synchronous=NORMAL (in WAL a crash of the process loses nothing committed; only a power loss
// can drop the last transactions). Then brings the schema up to date.
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export type SqliteDatabase = Database.Database;

export const BUSY_TIMEOUT_MS = 5000;

export function openDatabase(dbPath: string): SqliteDatabase {
  const db = new Database(dbPath);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db, dbPath);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: SqliteDatabase, dbPath: string): void {
  if (userVersion(db) === SCHEMA_VERSION) return;
  // IMMEDIATE: two processes opening a new data directory at once must not both migrate it.
  db.transaction(() => {
    const from = userVersion(db);
    if (from > SCHEMA_VERSION) {
      throw new Error(
        `${dbPath} has schema version ${from}, newer than this nixfleet understands (${SCHEMA_VERSION}); upgrade nixfleet or use another --data-dir`,
      );
    }
    for (let version = from; version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]!);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function userVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}
