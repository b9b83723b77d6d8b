// openJournal: the single writer of nixfleet's state (specs/README.md, decisions 2–4 and 6; see
// CORE-003). Every mutation below runs in one BEGIN IMMEDIATE transaction that also appends its
// change, so the state version moves exactly when the state does, across processes.
import { existsSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { AlreadyRetriedError } from './already-retried-error.js';
import { createChangeLog } from './change-log.js';
import { createCommandTable } from './command-table.js';
import { openDatabase, openSnapshot, type SqliteDatabase } from './database.js';
import { createEventLog } from './event-log.js';
import { createHostLocks } from './host-locks.js';
import { createHostTable } from './host-table.js';
import { HostsBusyError } from './hosts-busy-error.js';
import { type JournalPaths, journalErrorOf } from './journal-error.js';
import { type JournalIdentity, watchJournalIdentity } from './journal-identity.js';
import { makeDirectory } from './make-directory.js';
import { createMetaStore } from './meta.js';
import { createOrphanRecovery, hasDeadOwners } from './orphan-recovery.js';
import { fileSize as outputFileSize, readFileRange } from './output-reader.js';
import { createOutputSink } from './output-sink.js';
import { currentOwner, isOwnerAlive } from './owner.js';
import { openPostgresJournal } from './postgres/postgres-journal.js';
import { createRetention, DAY_MS, LAST_PRUNE_KEY, retentionFromEnv } from './retention.js';
import { LOGS_DIR } from './rows.js';
import { createRunTable } from './run-table.js';
import { isPostgresUrl } from './store-url.js';
import type { CommandRecord, Journal, NewRun, Owner } from './types.js';

export interface JournalOptions {
  /** The clock for every timestamp (tests drive it). */
  readonly now?: () => number;
  /** Who owns the runs this journal creates; defaults to this process. */
  readonly owner?: Owner;
  /** Where NIXFLEET_CMD_RETENTION_DAYS / NIXFLEET_LOG_RETENTION_DAYS are read; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * A postgres:// (or postgresql://) URL selects the PostgreSQL journal (see CORE-012); unset, the
   * embedded SQLite journal in DATA_DIR/nixfleet.db. The data directory stays local either way.
   */
  readonly store?: string;
  /** PostgreSQL only: the owner's lease; else $NIXFLEET_LEASE_SECONDS, else 30 s. */
  readonly leaseMs?: number;
  /**
   * For commands that only read (`runs`, `show`, `logs`): when the database cannot be opened in
   * place because its disk is full or read-only, or another process keeps it locked, read it
   * read-only or an in-memory copy instead (see CORE-003). On PostgreSQL: write nothing on
   * opening, so a role that may only SELECT can read, and create or upgrade no schema (CORE-012).
   */
  readonly readOnly?: boolean;
  /**
   * For commands that neither read nor write output files (`cancel`, `show`, `runs`): the data
   * directory's `logs/` is not made, so a broken one (a file in its place) does not stop them
   * from using the journal; the commands that use it still refuse it (see CORE-003, errors).
   */
  readonly noOutputs?: boolean;
}

export const DB_FILE = 'nixfleet.db';
export { LOGS_DIR };

const REGISTRY_KEY = 'registry';

/** The one place the engine is chosen: a PostgreSQL URL in `store`, else SQLite in the data directory. */
export function openJournal(dataDir: string, options: JournalOptions = {}): Journal {
  if (options.store !== undefined && options.store !== '') {
    if (!isPostgresUrl(options.store)) {
      throw new RangeError(`store ${options.store} is not a postgres:// URL`);
    }
    return openPostgresJournal(dataDir, options.store, options);
  }
  return openSqliteJournal(dataDir, options);
}

function openSqliteJournal(dataDir: string, options: JournalOptions): Journal {
  const root = resolve(dataDir);
  const paths = { dataDir: root, dbPath: join(root, DB_FILE), logsDir: join(root, LOGS_DIR) };
  try {
    return openWith(paths, options, () => {
      // Made owner only, which keeps what it holds from other users whatever their modes; one the
      // user made keeps the mode they chose, and what is made in it follows the umask (CORE-003,
      // who may read it).
      makeDirectory(root, { private: true });
      if (options.noOutputs !== true) makeDirectory(paths.logsDir);
      // A command that writes finds out now that it may not (CORE-003): exit 2, nothing run.
      return { db: openDatabase(paths.dbPath, { mustWrite: options.readOnly !== true }) };
    });
  } catch (error) {
    // Only a disk that refuses writes, or a lock another process holds too long, is worked around,
    // and only for reading: a damaged or foreign database is reported as it is.
    const refused = journalErrorOf(error, paths, 'use');
    const readable = refused?.kind === 'write' || refused?.kind === 'busy';
    if (options.readOnly === true && readable && existsSync(paths.dbPath)) {
      const readOnly = openReadOnly(paths, options, refused.message);
      if (readOnly !== undefined) return readOnly;
    }
    throw journalErrorOf(error, paths, 'open') ?? error;
  }
}

/**
 * For commands that only read, on a disk that refuses writes or a journal another process keeps
 * locked: first a read-only connection, which sees everything (including the -wal) when the -shm
 * already exists; else an in-memory copy of the database file. Neither runs orphan recovery on
 * the file; what it would mark is marked in an in-memory copy (`openWith`, see CORE-003).
 */
function openReadOnly(paths: JournalPaths, options: JournalOptions, problem: string): Journal | undefined {
  try {
    return openWith(paths, options, () => ({
      db: openDatabase(paths.dbPath, { readonly: true }),
      snapshotReason: `${problem}; showing the journal read-only`,
    }));
  } catch {
    // No usable -shm: fall back to a copy of the file.
  }
  const pending = fileSize(`${paths.dbPath}-wal`) > 0;
  const reason = `${problem}; showing a read-only copy${pending ? ' that may miss the newest changes (they are still in its -wal file)' : ''}`;
  try {
    return openWith(paths, options, () => ({ db: openSnapshot(paths.dbPath), snapshotReason: reason }));
  } catch {
    return undefined;
  }
}

interface Opened {
  readonly db: SqliteDatabase;
  readonly snapshotReason?: string;
}

function openWith(paths: JournalPaths, options: JournalOptions, open: () => Opened): Journal {
  let opened: Opened | undefined;
  try {
    opened = open();
    if (opened.db.readonly && hasDeadOwners(opened.db, (owner) => isOwnerAlive(owner, hostname()))) {
      // A reader may not mark a dead owner's work in the file, and showing it still RUNNING would
      // be wrong: it marks it in a private copy instead, as the next open that may write will
      // (CORE-003, reading a journal on a full or read-only disk).
      const copy = openSnapshot(paths.dbPath, opened.db);
      opened.db.close();
      opened = { ...opened, db: copy };
    }
    const journal = createJournal(opened, paths, options);
    if (!opened.db.readonly) journal.recoverOrphans();
    return journal;
  } catch (error) {
    opened?.db.close();
    throw error;
  }
}

/**
 * Removes the regular file at `path`, if there is one. Anything else in its place (a FIFO, a
 * device, a link, a directory) is left to fail the output when it is opened, as before (CORE-003).
 */
function removeLeftover(path: string): void {
  try {
    if (lstatSync(path, { throwIfNoEntry: false })?.isFile()) unlinkSync(path);
  } catch {
    // Not removable: opening it says why.
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function createJournal(opened: Opened, paths: JournalPaths, options: JournalOptions): Journal {
  const { db } = opened;
  const { dataDir: root, dbPath, logsDir } = paths;
  // A snapshot lives in memory: there is no file whose identity could change.
  const identity = opened.snapshotReason === undefined ? watchJournalIdentity(dbPath) : { check() {} };

  const now = options.now ?? Date.now;
  const owner = options.owner ?? currentOwner();
  const env = options.env ?? process.env;
  const here = hostname();
  const isAlive = (candidate: Owner) => isOwnerAlive(candidate, here);

  const changes = createChangeLog(db, now);
  const meta = createMetaStore(db);
  const events = createEventLog(db, changes, now);
  const hosts = createHostTable(db, changes, now);
  const runs = createRunTable(db, changes, now);
  const commands = createCommandTable(db, changes, now, root);
  const locks = createHostLocks(db, isAlive);
  const recovery = createOrphanRecovery(db, { runs, commands, events }, isAlive);
  const retention = createRetention(db, root, { events, meta, changes });
  // Made by the first open that may write of this database file; a read-only one writes nothing
  // (CORE-003, the journal's id).
  const id = meta.journalId(options.readOnly !== true && !db.readonly ? identity.inode : undefined) ?? '';

  /**
   * Wraps a mutation in BEGIN IMMEDIATE: the write lock is taken before the first read. Made at
   * its first call, as the statements are (`prepareLater`): a reader calls none of them.
   */
  const write = <A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) => {
    let transaction: (((...args: A) => R) & { immediate: (...args: A) => R }) | undefined;
    return (...args: A) => {
      transaction ??= db.transaction(fn);
      return transaction.immediate(...args);
    };
  };

  const claimRun = write((run: NewRun) => {
    for (const command of run.commands) {
      if (!Number.isInteger(command.stage) || command.stage < 0 || command.stage >= run.stages.length) {
        throw new RangeError(`new run ${run.name}: command stage ${command.stage} is not one of its stages`);
      }
    }
    if (run.firstRetry === true && run.retryOf) {
      const [later] = runs.list({ retryOf: run.retryOf, limit: 1 });
      if (later !== undefined) throw new AlreadyRetriedError(run.retryOf, later.id, later.status);
    }
    const hostIds = run.commands.map((command) => command.hostId);
    let check = locks.check(hostIds);
    // A dead holder found here is recovered now, so a crashed run never blocks its hosts; one
    // whose command still runs (`settle` below could not end it) keeps them, so look again.
    if (check.deadOwners.length > 0) {
      recovery.markOrphans(check.deadOwners);
      check = locks.check(hostIds);
    }
    if (check.busy.length > 0) throw new HostsBusyError(check.busy);
    const at = now();
    const runId = `r${meta.reserve('next_run', 1)}`;
    const firstCommand = meta.reserve('next_command', run.commands.length);
    const record = runs.insert(runId, run, owner, at);
    const commandRecords: CommandRecord[] = run.commands.map((command, index) =>
      commands.insert(
        {
          id: `c${firstCommand + index}`,
          runId,
          hostId: command.hostId,
          op: command.op,
          stage: command.stage,
          ...(command.batch !== undefined ? { batch: command.batch } : {}),
        },
        owner,
        at,
      ),
    );
    changes.append({ type: 'pipeline_started', pipeline: record, commands: commandRecords });
    return { run: record, commands: commandRecords };
  });
  /** What dead holders of the hosts still run is killed, and waited for, before the claim (CORE-011). */
  const createRun = (run: NewRun) => {
    const { deadOwners } = locks.check(run.commands.map((command) => command.hostId));
    if (deadOwners.length > 0) recovery.settle(deadOwners);
    return claimRun(run);
  };
  const recoverInTransaction = write(() => recovery.recover());

  const setOutputFile = write(commands.setOutputFile);
  const setProcess = write(commands.setProcess);

  const addRollback = write((commandId: string) => {
    const failed = commands.get(commandId);
    if (!failed) throw new RangeError(`no command ${commandId} to roll back`);
    const id = `c${meta.reserve('next_command', 1)}`;
    const { runId, hostId, op, stage } = failed;
    const record = commands.insert({ id, runId, hostId, op, stage, rollbackOf: commandId }, owner, now());
    // Dashboards upsert commands from any change that carries one (CORE-004).
    changes.append({ type: 'command_progress', command: record });
    return record;
  });

  const journal: Journal = {
    dataDir: root,
    dbPath,
    logsDir,
    owner,
    id,

    syncHosts: write(hosts.sync),
    listHosts: () => hosts.list(),

    // A HostsBusyError rolls the whole transaction back: nothing of the run is written.
    createRun,
    advanceRun: write(runs.advance),
    pauseRun: write(runs.pause),
    finishRun: write(runs.finish),
    requestCancel: write(runs.requestCancel),
    getRun: (runId) => runs.get(runId),
    listRuns: (listOptions) => runs.list(listOptions),
    countRuns: () => runs.count(),

    transitionCommand: write(commands.transition),
    transitionCommandSteps: write(commands.steps),
    reportProgress: write(commands.progress),
    getCommand: (commandId) => commands.get(commandId),
    addRollback,
    setArmed: write(commands.setArmed),
    listCommands: (listOptions) => commands.list(listOptions),
    openOutput(commandId) {
      const relative = `${LOGS_DIR}/${commandId}.log`;
      const path = join(root, relative);
      if (commands.row(commandId)?.output_file !== relative) {
        setOutputFile(commandId, relative);
        // The command's first output starts a file of its own: a file of that name is left from an
        // earlier journal of this data directory (deleted or replaced, its ids begin at c1 again).
        // Its later attempts append (CORE-003).
        removeLeftover(path);
      }
      return createOutputSink(path);
    },
    outputSize: (commandId) => outputFileSize(commands.get(commandId)?.outputFile ?? null),
    readOutput: (commandId, range = {}) => readFileRange(commands.get(commandId)?.outputFile ?? null, range),

    recordProcess: (commandId, process) => setProcess(commandId, process),

    logEvent: write(events.append),
    listEvents: (listOptions) => events.list(listOptions?.limit),

    recordRegistry: write((summary, diff) => {
      meta.set(REGISTRY_KEY, JSON.stringify(summary));
      changes.append({ type: 'registry_reloaded', registry: summary, diff });
    }),
    currentRegistry() {
      const stored = meta.get(REGISTRY_KEY);
      return stored === undefined ? null : JSON.parse(stored);
    },

    version: () => changes.version(),
    changesSince: (version, limit) => changes.since(version, limit),
    oldestVersion: () => changes.oldest(),

    recoverOrphans() {
      recovery.settle();
      return recoverInTransaction();
    },
    prune(pruneOptions = {}) {
      const { policy, problems } = retentionFromEnv(env);
      return retention.prune(
        {
          commandRetentionMs: pruneOptions.commandRetentionMs ?? policy.commandRetentionMs,
          eventRetentionMs: pruneOptions.eventRetentionMs ?? policy.eventRetentionMs,
        },
        pruneOptions.now ?? now(),
        problems,
      );
    },
    pruneIfDue(everyMs = DAY_MS) {
      const at = now();
      const last = Number(meta.get(LAST_PRUNE_KEY) ?? Number.NEGATIVE_INFINITY);
      // CORE-003: apply and serve prune at most once a day (serve: once per its interval); a
      // clock set back also counts as due.
      if (at - last < everyMs && at >= last) return null;
      return journal.prune({ now: at });
    },
    close: () => db.close(),
  };
  if (opened.snapshotReason !== undefined) journal.snapshotReason = opened.snapshotReason;
  guardJournal(journal, paths, identity);
  return journal;
}

/**
 * Every call first checks that the journal's files are still the ones opened, and turns a failure
 * of SQLite or the disk (full, I/O error, damaged rows) into a JournalError naming the path and
 * the fix, so no caller ever sees a raw SqliteError (see CORE-003, errors).
 */
function guardJournal(journal: Journal, paths: JournalPaths, identity: JournalIdentity): void {
  const methods = journal as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(methods)) {
    if (typeof value !== 'function' || name === 'close') continue;
    const method = value as (...args: unknown[]) => unknown;
    methods[name] = (...args: unknown[]) => {
      try {
        identity.check();
        return method(...args);
      } catch (error) {
        throw journalErrorOf(error, paths, 'use') ?? error;
      }
    };
  }
}
