// The PostgreSQL journal's operations, as they run on its worker thread (see CORE-012). Each
// mutation is one transaction that first takes the journal's write lock (a transaction-level
// advisory lock), the PostgreSQL counterpart of SQLite's BEGIN IMMEDIATE: host claims from any
// number of controllers serialize, and change versions commit contiguously and in order.
import pg from 'pg';
import type { RegistryDiff, RegistrySummary } from '../../registry/types.js';
import { AlreadyRetriedError } from '../already-retried-error.js';
import { HostsBusyError } from '../hosts-busy-error.js';
import { BUSY_TIMEOUT_MS } from '../journal-error.js';
import { RecordNotFoundError } from '../record-not-found-error.js';
import { LAST_PRUNE_KEY, type RetentionPolicy } from '../retention.js';
import type { CommandRow } from '../rows.js';
import { pgConnectionString, redact } from '../store-url.js';
import type { CommandRecord, NewRun, Owner } from '../types.js';
import { appendChange, changesSince, headVersion, oldestVersion } from './pg-changes.js';
import * as commands from './pg-commands.js';
import { appendEvent, listEvents } from './pg-events.js';
import { listHosts, syncHosts } from './pg-hosts.js';
import { HEARTBEATS_PER_LEASE, releaseLeaseOver, renewLease, renewLeaseOver, startHeartbeat } from './pg-lease.js';
import { getMeta, journalId, reserve, setMeta } from './pg-meta.js';
import { migrate, requireCurrentSchema } from './pg-migrate.js';
import { appendOutput, outputSize, readOutput } from './pg-output.js';
import { checkLocks, deadOwners, markOrphans, orphansShown, settleDeadOwners } from './pg-recovery.js';
import { pruneRows } from './pg-retention.js';
import * as runs from './pg-runs.js';
import { isConnectionLoss } from './remote-error.js';
import { type LeaseConnection, openLeaseConnection, openReplaceableConnection } from './replaceable-connection.js';

export const WRITE_LOCK_KEY = 7_140_002;
const REGISTRY_KEY = 'registry';
/** Marks a command whose output is in output_chunks (CommandRecord.outputFile). */
export const OUTPUT_MARKER_PREFIX = 'postgres:';

/** BIGINT columns (timestamps in ms, versions) come back as numbers; they stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? Number
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export type PgOperations = ReturnType<typeof operations>;

export interface PgCore {
  readonly operations: PgOperations;
  /**
   * Before each call: a main connection the server dropped (a restart, a failover) is replaced,
   * so a long-lived process (`serve`) carries on once the server is back. Rejects with a
   * connection error (SQLSTATE 08001) while it cannot connect.
   */
  reconnectIfDropped(): Promise<void>;
  /** Whether the main connection was dropped, or `error` says the server just ended its session. */
  lostSession(error: unknown): boolean;
  /** Replaces the main connection now (after `lostSession`); rejects as reconnectIfDropped does. */
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

/** How long connecting may take before the call gives up: the caller's thread waits for it. */
const CONNECT_TIMEOUT_MS = 5_000;

/** What orphan recovery writes (pg-recovery.ts): a reader recovers only with the rights to all of it. */
const RECOVERY_WRITES = [
  ['pipelines', 'UPDATE'],
  ['commands', 'UPDATE'],
  ['event_log', 'INSERT'],
  ['changes', 'INSERT'],
  ['meta', 'UPDATE'],
] as const;

/**
 * Opens the journal's connections. `readOnly` (commands that only read, CORE-012): the schema must
 * already be current and nothing is written on opening, so a role that may only SELECT can read;
 * no lease is taken (a reader owns no runs), and `recovers` says whether the role may write what
 * orphan recovery writes. A writer's `id` is the journal's id, made here by the first open that
 * may write; a reader's is undefined: it reads the id only when asked (`journalId` below), so its
 * opening reads no more tables than before.
 */
export async function openPgCore(
  url: string,
  owner: Owner,
  leaseMs: number,
  readOnly = false,
): Promise<{ core: PgCore; recovers: boolean; id: string | undefined; passwordAsked: boolean }> {
  const connectionString = pgConnectionString(url);
  const main = await openReplaceableConnection({
    connectionString,
    types,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // Every operation queries through this, so a replaced connection is used from the next call on.
  const db = {
    query: (...args: Parameters<pg.Client['query']>) => main.current().query(...args),
    escapeLiteral: (text: string) => main.current().escapeLiteral(text),
  } as unknown as pg.Client;
  // The heartbeat has its own connection: a long transaction on the main one never delays it.
  let lease: LeaseConnection | undefined;
  let recovers = true;
  let id: string | undefined;
  try {
    if (readOnly) {
      await requireCurrentSchema(db, redact(url));
      const checks = RECOVERY_WRITES.map(([table, right]) => `has_table_privilege('${table}', '${right}')`);
      // An event's id comes from its sequence.
      checks.push("has_sequence_privilege(pg_get_serial_sequence('event_log', 'id'), 'USAGE')");
      const { rows } = await db.query<{ may: boolean }>(`SELECT ${checks.join(' AND ')} AS may`);
      recovers = rows[0]?.may === true;
    } else {
      lease = await openLeaseConnection({
        connectionString,
        types,
        // A beat that cannot connect gives up before the next one is due.
        connectionTimeoutMillis: Math.max(1_000, Math.floor(leaseMs / HEARTBEATS_PER_LEASE)),
      });
      await migrate(db, redact(url));
      id = (await journalId(db, true)) ?? '';
      await renewLease(lease.current(), owner, leaseMs);
    }
  } catch (error) {
    await Promise.allSettled([main.end(), lease?.end()]);
    throw error;
  }
  const heartbeat = lease;
  const stopHeartbeat = heartbeat ? startHeartbeat(heartbeat, owner, leaseMs) : async () => undefined;
  const reconnect = async () => {
    try {
      await main.reconnect();
    } catch (error) {
      // Whatever refused it (the server down, the database not accepting connections yet), for
      // the caller it is the connection that is missing, not a bug.
      throw Object.assign(new Error(`cannot connect again: ${(error as Error).message}`), { code: '08001' });
    }
  };
  const core: PgCore = {
    // A reader that may not recover shows what recovery would record (CORE-012, read-only users).
    operations: operations(db, owner, leaseMs, heartbeat, !recovers),
    async reconnectIfDropped() {
      if (main.dropped()) await reconnect();
    },
    lostSession: (error) => main.dropped() || (error instanceof Error && isConnectionLoss(error)),
    reconnect,
    async close() {
      await stopHeartbeat();
      if (heartbeat) await releaseLeaseOver(heartbeat, owner).catch(() => undefined);
      await Promise.allSettled([main.end(), heartbeat?.end()]);
    },
  };
  return { core, recovers, id, passwordAsked: main.passwordAsked };
}

function operations(
  db: pg.Client,
  owner: Owner,
  leaseMs: number,
  lease: LeaseConnection | undefined,
  mayNotRecover: boolean,
) {
  // A reader that may not recover, or whose recovery another session's lock kept out, shows what
  // recovery would record (CORE-012, read-only users).
  let showOrphans = mayNotRecover;
  /**
   * Runs `fn` in a transaction holding the write lock. `read`, a query without parameters, goes in
   * the same round trip as BEGIN and the lock, and `fn` gets its result.
   */
  const write = async <R>(fn: (read?: pg.QueryResult) => Promise<R>, read?: string): Promise<R> => {
    // The lock is waited for as long as SQLite's busy timeout, no longer (CORE-012): a session that
    // holds it for ever must not hold every controller for ever.
    // Everything after BEGIN is inside the transaction, the lock's wait too: a wait past the
    // timeout leaves the session in an aborted transaction, which only a ROLLBACK ends (else every
    // later call on the session fails with `current transaction is aborted`).
    try {
      const begun = await db.query(
        `BEGIN; SET LOCAL lock_timeout = ${BUSY_TIMEOUT_MS}; SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})${read ? `; ${read}` : ''}`,
      );
      const result = await fn(read ? (begun as unknown as pg.QueryResult[])[3] : undefined);
      await db.query('COMMIT');
      return result;
    } catch (error) {
      // The error that ended the transaction is the one to report; a ROLLBACK on a lost session
      // fails too, and says less.
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  };

  return {
    syncHosts: (at: number, hosts: Parameters<typeof syncHosts>[1]) => write(() => syncHosts(db, hosts, at)),
    listHosts: () => listHosts(db),

    createRun: async (at: number, run: NewRun) => {
      // A journal opened to read holds no lease, and nothing may run under none.
      if (!lease) throw new Error('a PostgreSQL journal opened to read creates no runs');
      const held = lease;
      const hostIds = run.commands.map((command) => command.hostId);
      // CORE-011: what dead holders still run here is killed and waited for before the claim.
      await settleDeadOwners(db, (await checkLocks(db, hostIds)).deadOwners);
      return write(async () => {
        for (const command of run.commands) {
          if (!Number.isInteger(command.stage) || command.stage < 0 || command.stage >= run.stages.length) {
            throw new RangeError(`new run ${run.name}: command stage ${command.stage} is not one of its stages`);
          }
        }
        if (run.firstRetry === true && run.retryOf) {
          const [later] = await runs.listRuns(db, { retryOf: run.retryOf, limit: 1 });
          if (later !== undefined) throw new AlreadyRetriedError(run.retryOf, later.id, later.status);
        }
        const check = await checkLocks(db, hostIds);
        // A holder whose lease expired is recovered now, so a crashed run never blocks its hosts.
        if (check.deadOwners.length > 0) await markOrphans(db, check.deadOwners, at);
        if (check.busy.length > 0) throw new HostsBusyError(check.busy);
        // A run is only ever created under a fresh lease.
        await renewLeaseOver(held, owner, leaseMs);
        const runId = `r${await reserve(db, 'next_run', 1)}`;
        const first = await reserve(db, 'next_command', run.commands.length);
        const record = await runs.insertRun(db, runId, run, owner, at);
        const rows = run.commands.map((command, index) => ({ id: `c${first + index}`, runId, ...command }));
        const commandRecords: CommandRecord[] = await commands.insertCommands(db, rows, owner, at);
        await appendChange(db, { type: 'pipeline_started', pipeline: record, commands: commandRecords }, at);
        return { run: record, commands: commandRecords };
      });
    },
    advanceRun: (at: number, id: string, stage: number, batch?: number) =>
      write(() => runs.advanceRun(db, id, stage, batch, at)),
    pauseRun: (at: number, id: string, until: number, nextBatch: number) =>
      write(() => runs.pauseRun(db, id, until, nextBatch, at)),
    finishRun: (at: number, id: string, status: Parameters<typeof runs.finishRun>[2]) =>
      write(() => runs.finishRun(db, id, status, at)),
    requestCancel: (at: number, id: string, options: { kill?: boolean; hostId?: string } = {}) =>
      write(() => runs.requestCancel(db, id, options, at)),
    getRun: async (id: string) => {
      const run = await runs.getRun(db, id);
      return run && showOrphans ? (await orphansShown(db)).run(run) : run;
    },
    listRuns: async (options?: Parameters<typeof runs.listRuns>[1]) => {
      const found = await runs.listRuns(db, options);
      if (!showOrphans) return found;
      const shown = found.map((await orphansShown(db)).run);
      return options?.activeOnly ? shown.filter((run) => run.status === 'RUNNING') : shown;
    },
    countRuns: () => runs.countRuns(db),

    // Three round trips: begin + lock + read (the id quoted as a literal, as a multi-statement
    // query takes no parameters), update + change, commit.
    transitionCommand: (at: number, id: string, to: Parameters<typeof commands.transitionCommand>[2], patch = {}) =>
      write(
        (read) => {
          const row = read?.rows[0] as CommandRow | undefined;
          if (!row) throw new RecordNotFoundError('command', id);
          return commands.transitionCommand(db, id, to, patch, at, row);
        },
        `SELECT * FROM commands WHERE id = ${db.escapeLiteral(id)}`,
      ),
    transitionCommandSteps: (
      at: number,
      id: string,
      steps: Parameters<typeof commands.transitionCommandSteps>[2],
      process?: Parameters<typeof commands.setProcess>[2],
    ) =>
      write(
        async (read) => {
          const row = read?.rows[0] as CommandRow | undefined;
          if (!row) throw new RecordNotFoundError('command', id);
          return commands.transitionCommandSteps(db, id, steps, at, row, process);
        },
        `SELECT * FROM commands WHERE id = ${db.escapeLiteral(id)}`,
      ),
    reportProgress: (at: number, id: string, tail: string) => write(() => commands.reportProgress(db, id, tail, at)),
    addRollback: (at: number, failedId: string) =>
      write(async () => {
        const failed = await commands.commandRow(db, failedId);
        if (!failed) throw new RangeError(`no command ${failedId} to roll back`);
        const id = `c${await reserve(db, 'next_command', 1)}`;
        const row = { id, runId: failed.pipeline_id, hostId: failed.host_id, op: failed.op, stage: failed.stage };
        const [record] = await commands.insertCommands(db, [{ ...row, rollbackOf: failedId }], owner, at);
        // Dashboards upsert commands from any change that carries one (CORE-004).
        await appendChange(db, { type: 'command_progress', command: record! }, at);
        return record!;
      }),
    setArmed: (at: number, id: string, delayMs: number, state: Parameters<typeof commands.setArmed>[3]) =>
      write(() => commands.setArmed(db, id, delayMs, state, at)),
    getCommand: async (id: string) => {
      const row = await commands.commandRow(db, id);
      const command = row ? commands.toPgCommandRecord(row) : undefined;
      return command && showOrphans ? (await orphansShown(db)).command(command) : command;
    },
    listCommands: async (options?: Parameters<typeof commands.listCommands>[1]) => {
      const found = await commands.listCommands(db, options);
      if (!showOrphans) return found;
      const shown = found.map((await orphansShown(db)).command);
      return options?.activeOnly ? shown.filter((command) => command.finishedAt === null) : shown;
    },
    openOutput: async (id: string) => {
      const marker = `${OUTPUT_MARKER_PREFIX}${id}`;
      if ((await commands.commandRow(db, id))?.output_file !== marker) await commands.setOutputFile(db, id, marker);
    },
    recordProcess: (id: string, process: Parameters<typeof commands.setProcess>[2]) =>
      write(() => commands.setProcess(db, id, process)),
    appendOutput: (id: string, data: Uint8Array) => appendOutput(db, id, data),
    outputSize: (id: string) => outputSize(db, id),
    readOutput: (id: string, start: number, end: number) => readOutput(db, id, start, end),

    logEvent: (at: number, event: Parameters<typeof appendEvent>[1]) => write(() => appendEvent(db, event, at)),
    listEvents: (limit?: number) => listEvents(db, limit),

    recordRegistry: (at: number, summary: RegistrySummary, diff: RegistryDiff) =>
      write(async () => {
        await setMeta(db, REGISTRY_KEY, JSON.stringify(summary));
        await appendChange(db, { type: 'registry_reloaded', registry: summary, diff }, at);
      }),
    currentRegistry: async () => {
      const stored = await getMeta(db, REGISTRY_KEY);
      return stored === undefined ? null : JSON.parse(stored);
    },
    lastPrune: () => getMeta(db, LAST_PRUNE_KEY),
    /** The journal's id as stored, '' when it has none yet; a reader asks for it here (openPgCore). */
    journalId: async () => (await journalId(db, false)) ?? '',

    version: () => headVersion(db),
    changesSince: (version: number, limit?: number) => changesSince(db, version, limit),
    oldestVersion: () => oldestVersion(db),

    /** For a reader whose recovery met the write lock held (CORE-012): it shows the orphans instead. */
    showOrphansFromNow: async () => {
      showOrphans = true;
    },
    recoverOrphans: async (at: number) => {
      await settleDeadOwners(db, await deadOwners(db));
      return write(async () => markOrphans(db, await deadOwners(db), at));
    },
    prune: (at: number, policy: RetentionPolicy, problems: readonly string[]) =>
      write(() => pruneRows(db, policy, at, problems)),
  };
}
