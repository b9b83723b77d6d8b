// openJournal: the single writer of nixfleet's state (specs/README.md, decisions 2–4 and 6; see
// CORE-003). Every mutation below runs in one BEGIN IMMEDIATE transaction that also appends its
// change, so the state version moves exactly when the state does, across processes.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createChangeLog } from './change-log.js';
import { createCommandTable } from './command-table.js';
import { openDatabase } from './database.js';
import { createEventLog } from './event-log.js';
import { createHostLocks } from './host-locks.js';
import { createHostTable } from './host-table.js';
import { HostsBusyError } from './hosts-busy-error.js';
import { createMetaStore } from './meta.js';
import { createOrphanRecovery } from './orphan-recovery.js';
import { createOutputSink } from './output-sink.js';
import { currentOwner, isOwnerAlive } from './owner.js';
import { createRetention, DAY_MS, LAST_PRUNE_KEY, retentionFromEnv } from './retention.js';
import { createRunTable } from './run-table.js';
import type { CommandRecord, Journal, NewRun, Owner } from './types.js';

export interface JournalOptions {
  /** The clock for every timestamp (tests drive it). */
  readonly now?: () => number;
  /** Who owns the runs this journal creates; defaults to this process. */
  readonly owner?: Owner;
  /** Where NIXFLEET_CMD_RETENTION_DAYS / NIXFLEET_LOG_RETENTION_DAYS are read; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export const DB_FILE = 'nixfleet.db';
export const LOGS_DIR = 'logs';
const REGISTRY_KEY = 'registry';

export function openJournal(dataDir: string, options: JournalOptions = {}): Journal {
  const root = resolve(dataDir);
  const logsDir = join(root, LOGS_DIR);
  mkdirSync(logsDir, { recursive: true });
  const dbPath = join(root, DB_FILE);
  const db = openDatabase(dbPath);

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
  const retention = createRetention(db, root, { events, meta });

  /** Wraps a mutation in BEGIN IMMEDIATE: the write lock is taken before the first read. */
  const write = <A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) => {
    const transaction = db.transaction(fn);
    return (...args: A) => transaction.immediate(...args);
  };

  const createRun = write((run: NewRun) => {
    for (const command of run.commands) {
      if (!Number.isInteger(command.stage) || command.stage < 0 || command.stage >= run.stages.length) {
        throw new RangeError(`new run ${run.name}: command stage ${command.stage} is not one of its stages`);
      }
    }
    const check = locks.check(run.commands.map((command) => command.hostId));
    // A dead holder found here is recovered now, so a crashed run never blocks its hosts.
    if (check.deadOwners.length > 0) recovery.markOrphans(check.deadOwners);
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

  const setOutputFile = write(commands.setOutputFile);

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

    syncHosts: write(hosts.sync),
    listHosts: () => hosts.list(),

    // A HostsBusyError rolls the whole transaction back: nothing of the run is written.
    createRun,
    advanceRun: write(runs.advance),
    finishRun: write(runs.finish),
    requestCancel: write(runs.requestCancel),
    getRun: (runId) => runs.get(runId),
    listRuns: (listOptions) => runs.list(listOptions),

    transitionCommand: write(commands.transition),
    reportProgress: write(commands.progress),
    getCommand: (commandId) => commands.get(commandId),
    addRollback,
    setArmed: write(commands.setArmed),
    listCommands: (listOptions) => commands.list(listOptions),
    openOutput(commandId) {
      const relative = `${LOGS_DIR}/${commandId}.log`;
      if (commands.row(commandId)?.output_file !== relative) setOutputFile(commandId, relative);
      return createOutputSink(join(root, relative));
    },

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

    recoverOrphans: write(() => recovery.recover()),
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
    pruneIfDue() {
      const at = now();
      const last = Number(meta.get(LAST_PRUNE_KEY) ?? Number.NEGATIVE_INFINITY);
      // CORE-003: apply and serve prune at most once a day; a clock set back also counts as due.
      if (at - last < DAY_MS && at >= last) return null;
      return journal.prune({ now: at });
    },
    close: () => db.close(),
  };

  journal.recoverOrphans();
  return journal;
}
