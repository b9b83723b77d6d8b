// The `meta` key/value table: id counters, the current registry summary, the last prune time, the
// journal's id.
import { COUNTERS, counterNumber, DamagedCounterError, type IdCounter } from './damaged-counter-error.js';
import { prepareLater, type SqliteDatabase } from './database.js';

/**
 * The journal's id in `meta` (CORE-003, the journal's id). A key like the last prune time, not a
 * schema change: an older nixfleet ignores it, and opens the journal as before.
 */
export const JOURNAL_ID_KEY = 'journal_id';
/**
 * Which database file the journal's id belongs to: its inode number. A file that is not that one
 * (a `cp -r` of the data directory, a cache restored into it) is another journal, and gets an id
 * of its own (CORE-003, the journal's id).
 */
export const JOURNAL_INODE_KEY = 'journal_inode';

export interface MetaStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  /**
   * Reserves `count` consecutive numbers of a counter; ids are never reused (see CORE-003). A
   * counter that is not a whole number, or whose ids are taken, throws DamagedCounterError.
   */
  reserve(counter: IdCounter, count: number): number;
  /**
   * The journal's id. With `inode` (the database file's, an open that may write): made when there
   * is none, and made again when it was made for another file, this one being a copy; either way
   * 16 random bytes from SQLite's `randomblob`, as hex, and `inode` recorded with it. Processes
   * opening the journal at the same moment all end with one id: they look and write under the
   * write lock. Without `inode` (a read-only open), the id as stored, undefined when there is
   * none; nothing is written.
   */
  journalId(inode?: number): string | undefined;
}

export function createMetaStore(db: SqliteDatabase): MetaStore {
  const select = prepareLater(db, 'SELECT value FROM meta WHERE key = ?').pluck();
  const upsert = prepareLater(
    db,
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const newId = prepareLater(
    db,
    'INSERT INTO meta (key, value) VALUES (?, lower(hex(randomblob(16)))) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  /** Gives the journal an id for the database file of `inode` (`journalId`), under the write lock. */
  const renew = (inode: string) => {
    // Looked at again under the lock: another process opening the journal may have just done it.
    const id = select.get(JOURNAL_ID_KEY);
    const madeFor = select.get(JOURNAL_INODE_KEY);
    if (id !== undefined && madeFor === inode) return;
    // An id without an inode is from before inodes were recorded, and is kept: whether this file
    // is a copy cannot be told.
    if (id === undefined || madeFor !== undefined) newId.run(JOURNAL_ID_KEY);
    upsert.run(JOURNAL_INODE_KEY, inode);
  };
  let renewing: { immediate: (inode: string) => void } | undefined;
  const checksOf = (counter: IdCounter) => {
    const { table, prefix } = COUNTERS[counter];
    return {
      exists: prepareLater(db, `SELECT 1 FROM ${table} WHERE id = ?`).pluck(),
      // Only asked when the counter is damaged, so a scan is fine.
      highest: prepareLater(
        db,
        `SELECT coalesce(max(CAST(substr(id, 2) AS INTEGER)), 0) FROM ${table} WHERE id GLOB '${prefix}[0-9]*'`,
      ).pluck(),
      prefix,
    };
  };
  const checks = { next_run: checksOf('next_run'), next_command: checksOf('next_command') };
  return {
    get: (key) => select.get(key) as string | undefined,
    journalId(inode) {
      const file = inode === undefined ? undefined : String(inode);
      if (file !== undefined && (select.get(JOURNAL_ID_KEY) === undefined || select.get(JOURNAL_INODE_KEY) !== file)) {
        renewing ??= db.transaction(renew);
        renewing.immediate(file);
      }
      return select.get(JOURNAL_ID_KEY) as string | undefined;
    },
    set: (key, value) => {
      upsert.run(key, value);
    },
    reserve(counter, count) {
      const stored = select.get(counter);
      const first = counterNumber(stored);
      const check = checks[counter];
      const damaged = (taken?: string) =>
        new DamagedCounterError(counter, stored, taken, (check.highest.get() as number | undefined) ?? 0);
      if (first === undefined) throw damaged();
      for (let n = first; n < first + count; n++) {
        if (check.exists.get(`${check.prefix}${n}`) !== undefined) throw damaged(`${check.prefix}${n}`);
      }
      upsert.run(counter, String(first + count));
      return first;
    },
  };
}
