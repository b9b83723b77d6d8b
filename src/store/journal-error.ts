// The journal could not be used: a bad data directory, a damaged or foreign database, a full or
// read-only disk, or a journal replaced under a running process (see CORE-003, errors). One line
// that names the path, and a hint with the fix; the CLI prints both without a stack trace.
import { accessSync, closeSync, constants, openSync, type Stats, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { isDirectory } from '../domain/is-directory.js';
import { DAMAGED_COUNTER } from './damaged-counter-error.js';
import { CORRUPT_ROW } from './rows.js';

/** The hint for a process out of file descriptors, here and while the CLI loads its modules. */
export const RAISE_OPEN_FILES = 'raise the limit on open files (`ulimit -n`, 1024 or more) and run again';

/**
 * `unusable`: the data directory or database cannot be used as found (exit 2 in the CLI).
 * `write`: the disk refused a write while working (full, read-only, I/O error); work in progress
 * was stopped. `replaced`: the database or its WAL file changed under this process; it stops
 * rather than fork history. `taken`: another nixfleet ended a run this process was still running,
 * having judged this one gone (CORE-012: a lease that lapsed); the run stops at once. `busy`:
 * another process held the database locked for longer than the busy timeout.
 */
/**
 * The code of an error from the PostgreSQL worker for a database nixfleet will not use as found
 * (a newer schema, another program's tables); its `hint` says what to do (CORE-012).
 */
export const UNUSABLE_DATABASE = 'NIXFLEET_UNUSABLE_DATABASE';

/**
 * The code of an error from the PostgreSQL worker for a database whose journal has not been
 * created yet, met by a command that only reads and so creates nothing (CORE-012).
 */
export const NO_JOURNAL = 'NIXFLEET_NO_JOURNAL';

/**
 * The code of an error from the PostgreSQL worker for a schema upgrade that waited too long for a
 * lock another session holds (CORE-012).
 */
export const SCHEMA_BUSY = 'NIXFLEET_SCHEMA_BUSY';

export type JournalErrorKind = 'unusable' | 'write' | 'replaced' | 'taken' | 'busy';

/** When the failure happened: while opening, everything makes the journal unusable. */
export type JournalPhase = 'open' | 'use';

/** How long a process waits for another's lock on the SQLite journal before giving up (CORE-003). */
export const BUSY_TIMEOUT_MS = 5000;

export class JournalError extends Error {
  readonly kind: JournalErrorKind;
  readonly path: string;
  readonly hint: string;
  constructor(kind: JournalErrorKind, path: string, message: string, hint: string) {
    super(message);
    this.name = 'JournalError';
    this.kind = kind;
    this.path = path;
    this.hint = hint;
  }
}

/**
 * A journal that has not been created yet, met by a command that only reads and creates nothing
 * (CORE-012: a PostgreSQL database without nixfleet's tables). `unusable` like any journal that
 * cannot be read; `runs` lists nothing instead, as for a data directory without nixfleet.db.
 */
export class NoJournalError extends JournalError {
  constructor(path: string, message: string, hint: string) {
    super('unusable', path, message, hint);
    this.name = 'NoJournalError';
  }
}

export interface JournalPaths {
  readonly dataDir: string;
  readonly dbPath: string;
  readonly logsDir: string;
}

const ELSEWHERE = 'or choose another data directory with --data-dir';
const FRESH = `move the data directory away to start a new journal (keep it if you need its history), ${ELSEWHERE}`;

/** The JournalError for a failure of the file system or SQLite, or undefined when it is neither. */
export function journalErrorOf(error: unknown, paths: JournalPaths, phase: JournalPhase): JournalError | undefined {
  if (error instanceof JournalError) {
    return phase === 'open' && error.kind === 'write'
      ? new JournalError('unusable', error.path, error.message, error.hint)
      : error;
  }
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  const { dbPath } = paths;
  // While working, a disk that refuses writes stops the work; anything else means bad data.
  const refused = phase === 'open' ? 'unusable' : 'write';
  if (code === CORRUPT_ROW) {
    return new JournalError(
      'unusable',
      dbPath,
      `${dbPath} is damaged: ${error.message}`,
      `restore it from a backup, or ${FRESH}`,
    );
  }
  if (code === DAMAGED_COUNTER) {
    const { fix } = error as { fix?: unknown };
    return new JournalError(
      'unusable',
      dbPath,
      `${dbPath} is damaged: ${error.message}`,
      `set it after the highest id in use (sqlite3 ${dbPath} "${String(fix)}"), or restore it from a backup`,
    );
  }
  if (code.startsWith('SQLITE_')) return sqliteError(code, error.message, paths, refused);
  const path = (error as { path?: unknown }).path;
  const where = typeof path === 'string' ? path : paths.dataDir;
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST': {
      const file = firstNonDirectory([paths.logsDir, dbPath], where);
      return new JournalError('unusable', file, `${file} is a file, not a directory`, `move it away, ${ELSEWHERE}`);
    }
    case 'EACCES':
    case 'EPERM': {
      const closed = closedDirectory(where);
      if (closed !== undefined) return closed;
      // A file (the database, its -wal or -shm) says its mode: that is what to change.
      const mode = fileMode(where);
      return new JournalError(
        refused,
        where,
        `cannot write ${where}: permission denied${mode === undefined ? '' : ` (${mode})`}`,
        mode === undefined
          ? `make it writable, ${ELSEWHERE}`
          : `make it writable by the user running nixfleet (chmod u+w as its owner), or run nixfleet as its owner, ${ELSEWHERE}`,
      );
    }
    case 'ENOENT': {
      // mkdir -p on a read-only file system can report the missing directory instead of EROFS.
      const ancestor = existingAncestor(where);
      const readOnly = unwritable(ancestor);
      if (readOnly === undefined) {
        // While opening, only the data directory is being made: its file system refuses it (/proc).
        return phase === 'open'
          ? new JournalError(
              'unusable',
              where,
              `cannot create ${where}: its file system does not allow it`,
              `choose another data directory with --data-dir`,
            )
          : undefined;
      }
      return new JournalError(
        refused,
        ancestor,
        `cannot create ${where}: ${ancestor} ${readOnly}`,
        `make it writable, ${ELSEWHERE}`,
      );
    }
    case 'ELOOP': {
      const link = loopingLink(where);
      return new JournalError(
        'unusable',
        link,
        `${link} is a symbolic link that leads back to itself (too many levels of links)`,
        `point it at a directory or remove it, ${ELSEWHERE}`,
      );
    }
    case 'ENAMETOOLONG':
      return new JournalError(
        'unusable',
        where,
        `cannot create ${where}: the path, or a name in it, is longer than its file system allows`,
        'choose a shorter data directory with --data-dir',
      );
    case 'EROFS':
      return new JournalError(
        refused,
        where,
        `${where} is on a read-only file system`,
        `remount it read-write, ${ELSEWHERE}`,
      );
    case 'ENOSPC':
    case 'EDQUOT':
      return new JournalError(
        refused,
        where,
        `no space left for ${where}`,
        'free some space on its file system, then run again',
      );
    default:
      return undefined;
  }
}

function sqliteError(
  code: string,
  message: string,
  paths: JournalPaths,
  refused: JournalErrorKind,
): JournalError | undefined {
  const { dbPath } = paths;
  const kind = 'unusable';
  // SQLite reports a directory in place of one of its files as whatever it tried to do with it.
  const directory = [dbPath, `${dbPath}-wal`, `${dbPath}-shm`].find(isDirectory);
  if (directory !== undefined) {
    return new JournalError(
      kind,
      directory,
      `${directory} is a directory, not a journal file`,
      `move it away, ${ELSEWHERE}`,
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new JournalError(
      'busy',
      dbPath,
      `${dbPath} is locked by another process (nixfleet waited ${BUSY_TIMEOUT_MS / 1000} s for it)`,
      'run again once that process is done with it (another nixfleet, or a program such as sqlite3 with a transaction open)',
    );
  }
  if (code === 'SQLITE_NOTADB') {
    return new JournalError(kind, dbPath, `${dbPath} is not a SQLite database (${message})`, FRESH);
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new JournalError(kind, dbPath, `${dbPath} is damaged (${message})`, `restore it from a backup, or ${FRESH}`);
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    const closed = closedDirectory(dbPath);
    if (closed !== undefined) return closed;
    // The file itself, not its directory, may be what this user may not open (chmod 000).
    const denied = fileDenied(dbPath, constants.R_OK | constants.W_OK);
    if (denied !== undefined) {
      return new JournalError(
        kind,
        dbPath,
        `cannot open ${dbPath}: permission denied (${denied})`,
        `make it readable and writable by the user running nixfleet (chmod u+rw as its owner), or run nixfleet as its owner, ${ELSEWHERE}`,
      );
    }
    const readOnly = unwritable(dirname(dbPath));
    if (readOnly !== undefined) {
      return new JournalError(
        refused,
        dbPath,
        `cannot open ${dbPath}: ${dirname(dbPath)} ${readOnly}`,
        `make it writable, ${ELSEWHERE}`,
      );
    }
    if (outOfDescriptors()) {
      return new JournalError('unusable', dbPath, `cannot open ${dbPath}: too many open files`, RAISE_OPEN_FILES);
    }
    return new JournalError(
      kind,
      dbPath,
      `cannot open ${dbPath} (${message})`,
      `check that ${dirname(dbPath)} is a writable directory, ${ELSEWHERE}`,
    );
  }
  if (code === 'SQLITE_FULL') {
    return new JournalError(
      refused,
      dbPath,
      `cannot write ${dbPath}: the disk is full`,
      'free some space on its file system, then run again',
    );
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new JournalError(
      refused,
      dbPath,
      `cannot write ${dbPath}: it is read-only (${message})`,
      `make the data directory writable, ${ELSEWHERE}`,
    );
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new JournalError(
      refused,
      dbPath,
      `cannot use ${dbPath}: ${message} (${code})`,
      'check that its disk has free space and that the data directory was not removed, then run again',
    );
  }
  if (code === 'SQLITE_ERROR' && /no such (table|column)|already exists|has no column/.test(message)) {
    return new JournalError(kind, dbPath, `${dbPath} is not a nixfleet journal (${message})`, FRESH);
  }
  return undefined;
}

/** The first of `candidates` or of `path`'s ancestors that exists but is not a directory. */
function firstNonDirectory(candidates: readonly string[], path: string): string {
  for (let at = path; ; at = dirname(at)) {
    if (exists(at) && !isDirectory(at)) return at;
    if (dirname(at) === at) break;
  }
  return candidates.find((candidate) => exists(candidate) && !isDirectory(candidate)) ?? path;
}

/** The outermost of `path` and its ancestors that cannot be followed for links that loop. */
function loopingLink(path: string): string {
  let found = path;
  for (let at = path; dirname(at) !== at; at = dirname(at)) {
    if (statCode(at) === 'ELOOP') found = at;
  }
  return found;
}

function statCode(path: string): string | undefined {
  try {
    statSync(path);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

function existingAncestor(path: string): string {
  let at = path;
  while (!exists(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/**
 * Whether this process is at its limit of open files. SQLite says only "unable to open database
 * file", and has let go of what it held by then; it holds the database, its -wal and -shm and its
 * directory at once, so a process that cannot open a few more files could not open the journal.
 */
function outOfDescriptors(): boolean {
  const opened: number[] = [];
  try {
    for (let i = 0; i < 6; i++) opened.push(openSync('/dev/null', 'r'));
    return false;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === 'EMFILE' || code === 'ENFILE';
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}

/** Why `path` cannot be written to ("is on a read-only file system"), or undefined when it can. */
function unwritable(path: string): string | undefined {
  try {
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EROFS') return 'is on a read-only file system';
    if (code === 'EACCES' || code === 'EPERM') return 'is not writable (permission denied)';
    return undefined;
  }
}

/**
 * When `path` exists but its permissions refuse this user `mode` (access(2)): its mode and owner
 * ("mode 444, owned by uid 65534"); else undefined (a missing file, a read-only file system).
 */
function fileDenied(path: string, mode: number): string | undefined {
  try {
    accessSync(path, mode);
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'EACCES' && code !== 'EPERM') return undefined;
    return fileMode(path);
  }
}

/** A file's mode and owner ("mode 444, owned by uid 65534"), or undefined when it is no file. */
function fileMode(path: string): string | undefined {
  try {
    const stat = statSync(path);
    return stat.isFile() ? modeText(stat) : undefined;
  } catch {
    return undefined;
  }
}

function modeText(stat: Stats): string {
  return `mode ${(stat.mode & 0o777).toString(8).padStart(3, '0')}, owned by uid ${stat.uid}`;
}

/**
 * The outermost directory on the way to `path` that this user may not enter (another user's
 * 0700 `.nixfleet`), as the error to give: that directory is what to change, not the file under it.
 */
function closedDirectory(path: string): JournalError | undefined {
  const chain: string[] = [];
  for (let at = path; ; at = dirname(at)) {
    chain.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const dir of chain) {
    let stat: Stats;
    try {
      stat = statSync(dir);
    } catch {
      return undefined;
    }
    if (!stat.isDirectory()) return undefined;
    try {
      accessSync(dir, constants.X_OK);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'EACCES' && code !== 'EPERM') return undefined;
      return new JournalError(
        'unusable',
        dir,
        `cannot enter ${dir}: permission denied (${modeText(stat)})`,
        `run nixfleet as its owner, or let this user in (chmod or chgrp it), ${ELSEWHERE}`,
      );
    }
  }
  return undefined;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
