// The PostgreSQL journal (see CORE-012): the same synchronous Journal as the SQLite one, so no
// caller changes. Its `pg` connections live on a worker thread; each call blocks on Atomics.wait
// (synckit) until the worker answers, which keeps the SQLite path untouched. The worker also runs
// the owner's lease heartbeat, independent of what the main thread is doing.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type * as Synckit from 'synckit';
import { withholdFromCommands } from '../../domain/withheld-variables.js';
import { UserError } from '../../errors/user-error.js';
import { DAMAGED_COUNTER } from '../damaged-counter-error.js';
import {
  BUSY_TIMEOUT_MS,
  JournalError,
  journalErrorOf,
  NO_JOURNAL,
  NoJournalError,
  SCHEMA_BUSY,
  UNUSABLE_DATABASE,
} from '../journal-error.js';
import { makeDirectory } from '../make-directory.js';
import { currentOwner } from '../owner.js';
import { DAY_MS, retentionFromEnv } from '../retention.js';
import { CORRUPT_ROW } from '../rows.js';
import { StoreUnavailableError } from '../store-unavailable-error.js';
import { hasOwnPassword, redact } from '../store-url.js';
import type { Journal, Owner, PruneResult } from '../types.js';
import { DEFAULT_LEASE_MS } from './pg-lease.js';
import { createPgOutputSink } from './pg-output-sink.js';
import { READ_OPERATIONS } from './pg-reads.js';
import type { PgReply, PgRequest } from './pg-worker-entry.js';
import { decodeError, isConnectionLoss } from './remote-error.js';

export interface PostgresJournalOptions {
  readonly now?: () => number;
  readonly owner?: Owner;
  readonly env?: NodeJS.ProcessEnv;
  /** How long an owner's lease lasts without a heartbeat; else $NIXFLEET_LEASE_SECONDS, else 30 s. */
  readonly leaseMs?: number;
  /**
   * For commands that only read (`runs`, `show`, `logs`): the local data directory is not made,
   * and nothing is written to the database on opening, so a role that may only SELECT can read
   * (CORE-012). The schema must already be current: a journal not created yet is a NoJournalError,
   * one not upgraded yet is refused. No lease is taken, and orphans are recovered only when the
   * role may write what recovery writes.
   */
  readonly readOnly?: boolean;
}

// Under vitest this file runs as TypeScript, which a Node 20 worker thread cannot load: the
// worker then comes from the build (dist/), which the store tests rebuild when it is stale.
const ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('../../../dist/store/postgres/pg-worker-entry.js', import.meta.url)
  : new URL('./pg-worker-entry.js', import.meta.url);

let worker: ((request: PgRequest) => PgReply) | undefined;

// synckit (about 20 files) loads only when a PostgreSQL journal is used, not at every start of the
// CLI (see CORE-005, start-up). openJournal is synchronous, so this is a require, not an import().
function startWorker(): (request: PgRequest) => PgReply {
  const synckit = createRequire(import.meta.url)('synckit') as typeof Synckit;
  return synckit.createSyncFn<(request: PgRequest) => Promise<PgReply>>(ENTRY);
}

/**
 * Why the journal could not be opened, in the user's terms where the driver's are its own: asked
 * for a password it was not given, pg says the password "must be a string" (CORE-012).
 */
function openingReason(message: string): string {
  return /client password must be a string/.test(message)
    ? 'the server asks for a password, and none was given: put it in the URL (percent-encoded), in $PGPASSWORD, or in ~/.pgpass ($PGPASSFILE)'
    : message;
}

/** SQLSTATEs of a lock waited for past lock_timeout, and of a statement cancelled (statement_timeout). */
const LOCK_NOT_AVAILABLE = '55P03';
const QUERY_CANCELED = '57014';
/** SQLSTATE of a statement the role has no right to (a GRANT missing). */
const INSUFFICIENT_PRIVILEGE = '42501';

function ask(request: PgRequest, where = 'the PostgreSQL store'): unknown {
  worker ??= startWorker();
  const reply = worker(request);
  if (reply.ok) return reply.value;
  if (isConnectionLoss({ ...reply.error, code: reply.error.props.code })) {
    throw new StoreUnavailableError(where, reply.error.message, request.kind === 'open' ? 'opening' : 'in use');
  }
  const code = reply.error.props.code;
  // The write lock not had within the busy timeout, or a statement cut short by a timeout the
  // database or role sets: one line and a hint, exit 1, as SQLite's busy journal (CORE-012).
  if (code === LOCK_NOT_AVAILABLE) {
    throw new JournalError(
      'busy',
      where,
      `${where} is locked by another session (nixfleet waited ${BUSY_TIMEOUT_MS / 1000} s for it)`,
      'run again once that session is done (another nixfleet, or a psql with a transaction open)',
    );
  }
  if (code === SCHEMA_BUSY) {
    // An upgrade that would wait for ever behind a long transaction (CORE-012, schema).
    throw new JournalError(
      'busy',
      where,
      reply.error.message,
      'run again once that session is done: a long transaction on its tables (a pg_dump, a psql left open) or another nixfleet upgrading it; pg_stat_activity names it',
    );
  }
  if (code === QUERY_CANCELED) {
    throw new JournalError(
      'busy',
      where,
      `${where} cut a statement short: ${reply.error.message}`,
      'run again; a statement_timeout set on the database or role for nixfleet must allow its writes',
    );
  }
  if (code === INSUFFICIENT_PRIVILEGE) {
    // A role without the rights nixfleet needs is the user's to fix (exit 2 on opening or
    // reading); a write refused mid-run stops the run like any failed write (CORE-012).
    const role = roleOf(where);
    const read = request.kind === 'open' || (request.kind === 'call' && READ_OPERATIONS.has(request.method));
    throw new JournalError(
      read ? 'unusable' : 'write',
      where,
      `cannot use the PostgreSQL journal at ${where}: ${reply.error.message}`,
      `\`runs\`, \`show\` and \`logs\` need SELECT on its tables (\`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}\`); the other commands need a role that owns them`,
    );
  }
  if (code === CORRUPT_ROW) {
    // A row that cannot be decoded is a damaged journal, not a bug: one line and a hint, exit 2
    // in the CLI, as on SQLite (CORE-003, errors).
    throw new JournalError(
      'unusable',
      where,
      `${where} is damaged: ${reply.error.message}`,
      'restore the database from a backup, or give another --store to start a new journal there',
    );
  }
  if (code === DAMAGED_COUNTER) {
    // A counter that cannot number a new run or command: a damaged journal, as on SQLite (CORE-003).
    throw new JournalError(
      'unusable',
      where,
      `${where} is damaged: ${reply.error.message}`,
      `set it after the highest id in use (in psql: ${String(reply.error.props.fix)}), or restore the database from a backup`,
    );
  }
  throw decodeError(reply.error);
}

/** The role a (redacted) PostgreSQL URL logs in as, for a GRANT in a hint. */
function roleOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || 'ROLE';
  } catch {
    return 'ROLE';
  }
}

/**
 * The shortest lease: a second. Its heartbeats come a third of it apart, and a lease that lapses
 * between two of them while the controller lives lets another controller orphan its runs.
 */
const MIN_LEASE_SECONDS = 1;
/** The longest lease: a day. Longer would also overflow Node's timers (about 24.8 days). */
const MAX_LEASE_SECONDS = 86_400;

/** $NIXFLEET_LEASE_SECONDS in ms, else 30 s; a value that is set but no such number is refused. */
export function leaseMsFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.NIXFLEET_LEASE_SECONDS;
  if (raw === undefined || raw.trim() === '') return DEFAULT_LEASE_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < MIN_LEASE_SECONDS || seconds > MAX_LEASE_SECONDS) {
    throw new UserError(
      `NIXFLEET_LEASE_SECONDS=${raw} is not a number of seconds from ${MIN_LEASE_SECONDS} to ${MAX_LEASE_SECONDS}`,
      {
        hint: `set it to the seconds a controller's runs may outlive its last heartbeat (default ${DEFAULT_LEASE_MS / 1000}), or unset it`,
      },
    );
  }
  return Math.round(seconds * 1000);
}

export function openPostgresJournal(dataDir: string, url: string, options: PostgresJournalOptions = {}): Journal {
  const root = resolve(dataDir);
  // The data directory stays local (CORE-012): made for commands that write, never for readers.
  if (options.readOnly !== true) {
    try {
      makeDirectory(root, { private: true });
    } catch (error) {
      const paths = { dataDir: root, dbPath: redact(url), logsDir: join(root, 'logs') };
      throw journalErrorOf(error, paths, 'open') ?? error;
    }
  }
  const now = options.now ?? Date.now;
  const owner = options.owner ?? currentOwner();
  const env = options.env ?? process.env;
  const leaseMs = options.leaseMs ?? leaseMsFrom(env);
  const readOnly = options.readOnly === true;
  let opened: { handle: number; recovers: boolean; id: string | undefined; passwordAsked: boolean };
  try {
    opened = ask({ kind: 'open', url, owner, leaseMs, readOnly }, redact(url)) as typeof opened;
  } catch (error) {
    if (error instanceof StoreUnavailableError || error instanceof JournalError) throw error;
    const { code, hint } = error as { code?: unknown; hint?: unknown };
    // Reached and answered, but not a database nixfleet will use as found (CORE-012): not a hint
    // about the server being down.
    if (code === UNUSABLE_DATABASE)
      throw new JournalError('unusable', redact(url), (error as Error).message, String(hint));
    if (code === NO_JOURNAL) throw new NoJournalError(redact(url), (error as Error).message, String(hint));
    throw new StoreUnavailableError(redact(url), openingReason((error as Error).message));
  }
  // The server asked for a password, and with none in the URL pg sent $PGPASSWORD (its thread
  // copied ours): the commands must not inherit it, as they do not inherit
  // $NIXFLEET_DATABASE_URL (CORE-012).
  if (opened.passwordAsked && !hasOwnPassword(url) && process.env.PGPASSWORD) withholdFromCommands('PGPASSWORD');
  const { handle } = opened;
  // The worker answers with the operation's result (PgOperations); the Journal signature each call fills types it.
  const call = (method: Extract<PgRequest, { kind: 'call' }>['method'], ...args: unknown[]): never =>
    ask({ kind: 'call', handle, method, args }, redact(url)) as never;

  const journal: Journal = {
    dataDir: root,
    dbPath: redact(url),
    logsDir: join(root, 'logs'),
    owner,
    // A writer's open made or read it; a reader reads it when first asked, so that opening to read
    // needs SELECT on no more tables than before (CORE-012, read-only users).
    get id(): string {
      opened.id ??= call('journalId') as string;
      return opened.id;
    },

    syncHosts: (hosts) => call('syncHosts', now(), hosts),
    listHosts: () => call('listHosts'),

    createRun: (run) => call('createRun', now(), run),
    advanceRun: (runId, stage, batch) => call('advanceRun', now(), runId, stage, batch),
    pauseRun: (runId, until, nextBatch) => call('pauseRun', now(), runId, until, nextBatch),
    finishRun: (runId, status) => call('finishRun', now(), runId, status),
    requestCancel: (runId, cancelOptions) => call('requestCancel', now(), runId, cancelOptions ?? {}),
    getRun: (runId) => call('getRun', runId),
    listRuns: (listOptions) => call('listRuns', listOptions),
    countRuns: () => call('countRuns'),

    transitionCommand: (commandId, to, patch) => call('transitionCommand', now(), commandId, to, patch ?? {}),
    transitionCommandSteps: (commandId, steps, process) =>
      call('transitionCommandSteps', now(), commandId, steps, process),
    reportProgress: (commandId, tail) => call('reportProgress', now(), commandId, tail),
    getCommand: (commandId) => call('getCommand', commandId),
    addRollback: (commandId) => call('addRollback', now(), commandId),
    setArmed: (commandId, delayMs, state) => call('setArmed', now(), commandId, delayMs, state),
    listCommands: (listOptions) => call('listCommands', listOptions),
    openOutput(commandId) {
      call('openOutput', commandId);
      return createPgOutputSink((data) => call('appendOutput', commandId, data));
    },
    outputSize: (commandId) => call('outputSize', commandId),
    recordProcess: (commandId, process) => call('recordProcess', commandId, process),
    readOutput(commandId, range = {}) {
      const start = range.start ?? 0;
      const end = range.end ?? Number.MAX_SAFE_INTEGER;
      return Buffer.from(call('readOutput', commandId, start, end) as Uint8Array);
    },

    logEvent: (event) => call('logEvent', now(), event),
    listEvents: (listOptions) => call('listEvents', listOptions?.limit),

    recordRegistry: (summary, diff) => call('recordRegistry', now(), summary, diff),
    currentRegistry: () => call('currentRegistry'),

    version: () => call('version'),
    changesSince: (version, limit) => call('changesSince', version, limit),
    oldestVersion: () => call('oldestVersion'),

    recoverOrphans: () => call('recoverOrphans', now()),
    prune(pruneOptions = {}): PruneResult {
      const { policy, problems } = retentionFromEnv(env);
      const resolved = {
        commandRetentionMs: pruneOptions.commandRetentionMs ?? policy.commandRetentionMs,
        eventRetentionMs: pruneOptions.eventRetentionMs ?? policy.eventRetentionMs,
      };
      return call('prune', pruneOptions.now ?? now(), resolved, problems);
    },
    pruneIfDue(everyMs = DAY_MS) {
      const at = now();
      const last = Number(call('lastPrune') ?? Number.NEGATIVE_INFINITY);
      // CORE-003: at most once a day (serve: once per its interval); a clock set back also counts as due.
      if (at - last < everyMs && at >= last) return null;
      return journal.prune({ now: at });
    },
    close: () => {
      ask({ kind: 'close', handle });
    },
  };

  if (opened.recovers) {
    try {
      journal.recoverOrphans();
    } catch (error) {
      // As on SQLite (CORE-003, errors): a command that only reads shows the journal when another
      // session holds the write lock, with a warning, and what recovery would record, written nowhere.
      if (!readOnly || !(error instanceof JournalError) || error.kind !== 'busy') throw error;
      call('showOrphansFromNow');
      journal.snapshotReason = `${error.message}; showing the journal read-only`;
    }
  }
  return journal;
}
