// Notices that the journal's files were replaced under this process (see CORE-003, the journal
// replaced). SQLite keeps writing to the files it opened even after they were deleted or renamed:
// a deleted `-wal` makes the next process start from the last checkpoint, hand out the same run
// ids again and take hosts this process holds, so the two histories fork and one of them is lost.
// While a connection is open SQLite itself never deletes or replaces either file, so a different
// device/inode (or a missing file) can only mean someone else did. The files are looked at no
// more often than every CHECK_INTERVAL_MS: two `stat`s on each of the nine journal calls a
// command makes were a tenth of nixfleet's own CPU per command in a 900-command apply. The `-shm`
// (the WAL's index, shared by every process) is watched too: deleted under a running process,
// the next process made a new one, and the two wrote the WAL from two indexes; when the first
// closed, the runs the others had committed meanwhile were gone, and their ids handed out again.
import { statSync } from 'node:fs';
import { JournalError } from './journal-error.js';

interface FileId {
  readonly dev: number;
  readonly ino: number;
}

export interface JournalIdentity {
  /**
   * The database file's inode number when opened (the journal's id belongs to it, CORE-003). Not
   * its device: btrfs and LVM can give a filesystem another device number at a reboot or remount.
   */
  readonly inode?: number;
  /** Throws a `replaced` JournalError when the database, its WAL or the WAL's index is no longer the one opened. */
  check(): void;
}

/**
 * A replacement is noticed by the first journal call this long after it; what was written in
 * between went to the replaced files, which the error says may have lost this process's runs.
 */
export const CHECK_INTERVAL_MS = 10;

export function watchJournalIdentity(
  dbPath: string,
  // A monotonic clock in milliseconds. Not `performance.now`: the global `performance` loads a
  // dozen of Node's modules on first use, in every start of `runs` and `show` (CORE-005, start-up).
  clock: () => number = () => Number(process.hrtime.bigint() / 1000n) / 1000,
): JournalIdentity {
  const db = fileId(dbPath);
  // The WAL and its index (`-shm`) exist once the connection has read in WAL mode (openDatabase
  // does); one that does not yet is remembered the first time it is seen.
  const companions = [`${dbPath}-wal`, `${dbPath}-shm`].map((path) => ({ path, id: fileId(path) }));
  let broken: JournalError | undefined;
  let checkedAt = clock();
  const fail = (path: string, what: string) => {
    broken = new JournalError(
      'replaced',
      path,
      `${path} was ${what} while nixfleet had the journal open; stopped so that two histories do not fork`,
      'do not delete or replace the journal files of a data directory in use; the runs of this process may be missing from the journal',
    );
    throw broken;
  };
  return {
    inode: db?.ino,
    check() {
      if (broken) throw broken;
      const at = clock();
      if (at - checkedAt < CHECK_INTERVAL_MS) return;
      checkedAt = at;
      const nowDb = fileId(dbPath);
      if (nowDb === undefined) fail(dbPath, 'deleted');
      else if (db !== undefined && !same(db, nowDb)) fail(dbPath, 'replaced');
      for (const companion of companions) {
        const now = fileId(companion.path);
        if (companion.id === undefined) companion.id = now;
        else if (now === undefined) fail(companion.path, 'deleted');
        else if (!same(companion.id, now)) fail(companion.path, 'replaced');
      }
    },
  };
}

function fileId(path: string): FileId | undefined {
  try {
    // No exception for a missing file: the -wal of a journal nobody has open is missing at every start.
    const stat = statSync(path, { bigint: false, throwIfNoEntry: false });
    return stat === undefined ? undefined : { dev: stat.dev, ino: stat.ino };
  } catch {
    return undefined;
  }
}

function same(a: FileId, b: FileId): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}
