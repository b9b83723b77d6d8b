// Opens DATA_DIR/nixfleet.db the way every nixfleet process must (see CORE-003): WAL so readers
// never block the writer, a busy timeout so concurrent processes wait instead of failing, and
// synchronous=NORMAL (in WAL a crash of the process loses nothing committed; only a power loss
// can drop the last transactions). Then brings the schema up to date.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { BUSY_TIMEOUT_MS, JournalError } from './journal-error.js';
import { pauseSync } from './pause.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export type SqliteDatabase = BetterSqlite3.Database;

type Statement = BetterSqlite3.Statement<unknown[], unknown>;
/**
 * What the journal uses of a statement; `pluck()` returns the first column only, as SQLite's;
 * `raw()` each row as an array of its columns, which is cheaper to make than an object whose
 * property names the driver sets one by one (`commandRowOf` in rows.ts).
 */
export type LazyStatement = Pick<Statement, 'run' | 'get' | 'all'> & {
  pluck(): LazyStatement;
  raw(): LazyStatement;
};

/**
 * `db.prepare(sql)` at the statement's first use, not when the journal opens: a journal opened
 * for `runs` or `show` uses a handful of its fifty statements, and preparing them all was a
 * tenth of those commands' start (CORE-005, start-up). The schema is migrated and checked before
 * any is prepared, as before.
 */
export function prepareLater(db: SqliteDatabase, sql: string, mode?: 'pluck' | 'raw'): LazyStatement {
  let statement: Statement | undefined;
  const ready = () => {
    if (statement !== undefined) return statement;
    statement = db.prepare(sql);
    if (mode === 'pluck') statement.pluck();
    else if (mode === 'raw') statement.raw();
    return statement;
  };
  return {
    run: (...params) => ready().run(...params),
    get: (...params) => ready().get(...params),
    all: (...params) => ready().all(...params),
    pluck: () => prepareLater(db, sql, 'pluck'),
    raw: () => prepareLater(db, sql, 'raw'),
  };
}

// better-sqlite3 is CommonJS: required, not imported, because an ES module import of CommonJS
// first loads Node's CommonJS export scanner, several milliseconds of every `runs` or `show`
// (see CORE-005, start-up).
const requireHere = createRequire(import.meta.url);
/**
 * Which better-sqlite3 (CORE-003, "The SQLite driver"): 13 (installed as `better-sqlite3-napi`)
 * where Node has Node-API 10 (Node 22.14 and newer), else 12. 12's addon wraps its objects with
 * Node's ObjectWrap, which on Node 24 aborts the process when the garbage collector frees a
 * statement; 13's is built on Node-API and does not. 13 cannot load without Node-API 10, so Node
 * 20 keeps 12, which is sound there.
 */
const NODE_API_DRIVER = Number(process.versions.napi) >= 10;
/**
 * The driver's compiled addon, by its path: found here, the driver's JavaScript is the copy in
 * the CLI's bundle, and neither package looks for its addon itself (12 through the `bindings`
 * package, which walks the call stack and tries a dozen paths; 13 from its own directory, which a
 * bundled copy does not have). Undefined where the addon is not where an install puts it: the
 * package is then loaded from node_modules and finds its addon its own way.
 */
const nativeBinding = NODE_API_DRIVER ? prebuiltAddon() : builtAddon();
const Database = loadDriver();
/**
 * The driver's constructor, for tests that open a second connection in the journal's process: two
 * copies of SQLite in one process do not see each other's file locks, and the one closing last
 * deletes the other's write-ahead log.
 */
export const SqliteDriver = Database;

/**
 * In the CLI's bundle (scripts/bundle-cli.mjs) `require` is defined and the literal `require()`s
 * below are the driver's JavaScript bundled in: loading its thirteen files from node_modules took
 * 6-16 ms of every start that opens the journal on Node 22 and 30-40 ms on Node 20 (CORE-005,
 * start-up). Elsewhere (tsc's output, the tests) `require` is undefined in an ES module and the
 * package is loaded from node_modules.
 */
function loadDriver(): typeof BetterSqlite3 {
  if (typeof require === 'function' && nativeBinding !== undefined) {
    return NODE_API_DRIVER ? require('better-sqlite3-napi') : require('better-sqlite3');
  }
  return requireHere(NODE_API_DRIVER ? 'better-sqlite3-napi' : 'better-sqlite3') as typeof BetterSqlite3;
}

/** 12's addon, which its install compiles (or downloads) into build/Release. */
function builtAddon(): string | undefined {
  try {
    return requireHere.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined;
  }
}

/**
 * 13's addon, which ships prebuilt as prebuilds/<platform>-<arch>.node (or was compiled into
 * build/Release on purpose). A C library other than glibc on Linux (musl's prebuilds carry
 * another name) is left to the package's own lookup.
 */
function prebuiltAddon(): string | undefined {
  try {
    const dir = packageDirectory('better-sqlite3-napi');
    const candidates = [join(dir, 'build/Release/better_sqlite3.node')];
    if (process.platform !== 'linux' || glibcLoaded()) {
      candidates.push(join(dir, 'prebuilds', `${process.platform}-${process.arch}.node`));
    }
    return candidates.find((file) => existsSync(file));
  } catch {
    return undefined;
  }
}

/**
 * Where `require` finds the package: the first `node_modules/<name>` up from this file, as Node
 * looks, before Node's own resolution (NODE_PATH, a package's `exports`), which cost 1.5-2 ms of
 * every start that opens the journal on Node 24.
 */
function packageDirectory(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return dirname(requireHere.resolve(`${name}/package.json`));
  }
}

function glibcLoaded(): boolean {
  try {
    return /\/(?:ld-linux[^/\s]*|libc)\.so\.\d/.test(readFileSync('/proc/self/maps', 'latin1'));
  } catch {
    return false;
  }
}

/** The options every open passes, with the addon's path when known. */
function withAddon(options: BetterSqlite3.Options = {}): BetterSqlite3.Options {
  return nativeBinding === undefined ? options : { ...options, nativeBinding };
}

/**
 * `readonly`: open read-only. `mustWrite`: for commands that write (CORE-003). SQLite opens a
 * file this user may not write read-only without a word, so the first write of a run failed
 * mid-way; the permission is checked here instead, before anything runs.
 */
export function openDatabase(
  dbPath: string,
  options: { readonly?: boolean; mustWrite?: boolean } = {},
): SqliteDatabase {
  if (options.mustWrite === true) {
    for (const file of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) mayWrite(file);
  }
  const db = new Database(
    dbPath,
    withAddon({ readonly: options.readonly === true, fileMustExist: options.readonly === true }),
  );
  try {
    if (db.readonly) {
      // Reading only: no pragma that writes, and a schema this build cannot read is refused.
      if (userVersion(db) !== SCHEMA_VERSION) migrate(db, dbPath);
      return db;
    }
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    refuseForeign(db, dbPath);
    useWal(db);
    db.pragma('synchronous = NORMAL');
    migrate(db, dbPath);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Throws access(2)'s EACCES or EPERM (with the path) when the file exists and this user may not
 * write it. A missing file is SQLite's to create; a read-only file system is reported by SQLite.
 */
function mayWrite(file: string): void {
  try {
    accessSync(file, constants.W_OK);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EACCES' || code === 'EPERM') throw error;
  }
}

/**
 * Switches the database to WAL (a no-op once it is). Processes that open a database still in
 * rollback mode at the same moment (a new data directory) can each hold the read lock the other
 * must wait out; SQLite then answers one of them BUSY at once, without waiting, so the switch is
 * tried again, for as long as the busy timeout (CORE-003).
 */
function useWal(db: SqliteDatabase): void {
  const giveUpAt = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if (!String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY') || Date.now() >= giveUpAt) throw error;
      pauseSync(10 + Math.random() * 40);
    }
  }
}

function migrate(db: SqliteDatabase, dbPath: string): void {
  if (userVersion(db) === SCHEMA_VERSION) return;
  // IMMEDIATE: two processes opening a new data directory at once must not both migrate it.
  db.transaction(() => {
    const from = userVersion(db);
    if (from > SCHEMA_VERSION) {
      throw new JournalError(
        'unusable',
        dbPath,
        `${dbPath} has schema version ${from}, newer than this nixfleet understands (${SCHEMA_VERSION})`,
        'upgrade nixfleet, or choose another data directory with --data-dir',
      );
    }
    for (let version = from; version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]!);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** Another program's database is never touched (not even switched to WAL) and never migrated. */
function refuseForeign(db: SqliteDatabase, dbPath: string): void {
  // One statement, so one snapshot: read apart, another process's first migration could commit
  // between the two reads (version 0, then its tables), and a new journal looked foreign.
  const { version, tables } = db
    .prepare(
      "SELECT (SELECT user_version FROM pragma_user_version) AS version, (SELECT count(*) FROM sqlite_master WHERE type = 'table') AS tables",
    )
    .get() as { version: number; tables: number };
  if (version === 0 && tables > 0) {
    throw new JournalError(
      'unusable',
      dbPath,
      `${dbPath} is not a nixfleet journal (it has tables but no nixfleet schema version)`,
      'move the data directory away to start a new journal, or choose another data directory with --data-dir',
    );
  }
}

function userVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * A private in-memory copy of the database, for commands that only read, when the file cannot be
 * written in place (a full or read-only disk: WAL mode needs a writable `-shm`). Copied from a
 * read-only connection (`from`), it holds all that connection sees, the `-wal` included; read
 * from the file, only what was checkpointed into it (see CORE-003).
 */
export function openSnapshot(dbPath: string, from?: SqliteDatabase): SqliteDatabase {
  const bytes = from === undefined ? readFileSync(dbPath) : from.serialize();
  // Header bytes 18-19 are 2 in WAL mode; a copy in memory cannot use a WAL, so it reads it as a
  // rollback-journal database, which is the same file format otherwise.
  if (bytes.length >= 20) {
    bytes[18] = 1;
    bytes[19] = 1;
  }
  const db = new Database(bytes, withAddon());
  try {
    migrate(db, dbPath);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
