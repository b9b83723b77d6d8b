// The `changes` table: every mutation appends one row in its own transaction, and the row's
// integer key is the State Sync version (specs/README.md, decision 2; see CORE-003, CORE-004).
import { prepareLater, type SqliteDatabase } from './database.js';
import type { Change, VersionedChange } from './types.js';

export interface ChangeLog {
  /** Appends inside the caller's transaction; returns the new version. */
  append(change: Change): number;
  since(version: number, limit?: number): VersionedChange[];
  version(): number;
  oldest(): number;
}

interface ChangeRow {
  version: number;
  payload: string;
}

/** A reader asking for "everything" still gets bounded batches. */
const DEFAULT_LIMIT = 10_000;

export function createChangeLog(db: SqliteDatabase, now: () => number): ChangeLog {
  const insert = prepareLater(db, 'INSERT INTO changes (type, created_at, payload) VALUES (?, ?, ?)');
  const select = prepareLater(db, 'SELECT version, payload FROM changes WHERE version > ? ORDER BY version LIMIT ?');
  // The newest version is the newest row: retention always keeps the newest changes (CORE-003).
  const head = prepareLater(db, 'SELECT coalesce(max(version), 0) FROM changes').pluck();
  const first = prepareLater(db, 'SELECT min(version) FROM changes').pluck();

  return {
    append(change) {
      return Number(insert.run(change.type, now(), JSON.stringify(change)).lastInsertRowid);
    },
    since(version, limit = DEFAULT_LIMIT) {
      return (select.all(version, limit) as ChangeRow[]).map((row) => ({
        version: row.version,
        change: JSON.parse(row.payload) as Change,
      }));
    },
    version() {
      return head.get() as number;
    },
    oldest() {
      const min = first.get() as number | null;
      // Nothing kept: the next change is the oldest a reader could still get.
      return min ?? (head.get() as number) + 1;
    },
  };
}
