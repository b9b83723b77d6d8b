// The `commands` table: one op on one host within a run, moved only along the status machine of
// CORE-001 (see also CORE-003). transition() is the engine's hot path: one indexed
// read, one update and one change row, all through statements prepared once.
import type { ArmedState } from '../domain/armed-state.js';
import { type CommandStatus, isTerminalCommand } from '../domain/status.js';
import type { ChangeLog } from './change-log.js';
import { prepareLater, type SqliteDatabase } from './database.js';
import { RecordNotFoundError } from './record-not-found-error.js';
import { type NewCommandRow, pendingCommandRecord, transitionedRow } from './record-rules.js';
import { COMMAND_COLUMNS, type CommandRow, commandRowOf, toCommandRecord } from './rows.js';
import type { CommandPatch, CommandProcessRecord, CommandRecord, Owner } from './types.js';

export interface CommandListOptions {
  readonly runId?: string;
  readonly hostId?: string;
  readonly activeOnly?: boolean;
  readonly limit?: number;
}

export interface CommandTable {
  insert(command: NewCommandRow, owner: Owner, at: number): CommandRecord;
  transition(id: string, to: CommandStatus, patch?: CommandPatch): CommandRecord;
  /** `transition` to each of `steps` in turn, and the processes: one read and one update. */
  steps(id: string, steps: readonly CommandStatus[], process?: CommandProcessRecord): CommandRecord[];
  progress(id: string, tail: string): void;
  setOutputFile(id: string, relativePath: string): void;
  setArmed(id: string, delayMs: number, state: ArmedState): CommandRecord;
  setProcess(id: string, process: CommandProcessRecord): void;
  get(id: string): CommandRecord | undefined;
  row(id: string): CommandRow | undefined;
  list(options?: CommandListOptions): CommandRecord[];
}

const DEFAULT_LIST_LIMIT = 1000;

export function createCommandTable(
  db: SqliteDatabase,
  changes: ChangeLog,
  now: () => number,
  dataDir: string,
): CommandTable {
  const insert = prepareLater(
    db,
    `INSERT INTO commands (id, pipeline_id, host_id, op, stage, status, attempt, created_at,
       owner_pid, owner_hostname, owner_started_at, batch, rollback_of)
     VALUES (?, ?, ?, ?, ?, 'PENDING', 1, ?, ?, ?, ?, ?, ?)`,
  );
  const select = prepareLater(db, `SELECT ${COMMAND_COLUMNS} FROM commands WHERE id = ?`).raw();
  // Two statements: only the final step sets finished_at, so the others never touch the
  // unfinished-commands index (see schema.ts). This is most of the hot path's disk writes.
  const update = prepareLater(
    db,
    'UPDATE commands SET status = ?, attempt = ?, started_at = ?, exit_code = ?, error = ? WHERE id = ?',
  );
  const finish = prepareLater(
    db,
    'UPDATE commands SET status = ?, attempt = ?, started_at = ?, exit_code = ?, error = ?, finished_at = ? WHERE id = ?',
  );
  // A command's start: its last step and its processes in one update (`writeStatus`).
  const startProcess = prepareLater(
    db,
    `UPDATE commands SET status = ?, attempt = ?, started_at = ?, exit_code = ?, error = ?,
       process_group = ?, process_started_at = ?, remote_group = ?, process_tag = ? WHERE id = ?`,
  );
  const setOutput = prepareLater(db, 'UPDATE commands SET output_file = ? WHERE id = ?');
  const setArmedState = prepareLater(db, 'UPDATE commands SET armed_ms = ?, armed_state = ? WHERE id = ?');
  const setProcessRow = prepareLater(
    db,
    'UPDATE commands SET process_group = ?, process_started_at = ?, remote_group = ?, process_tag = ? WHERE id = ?',
  );
  const listQueries = {
    run: prepareLater(
      db,
      `SELECT ${COMMAND_COLUMNS} FROM commands WHERE pipeline_id = ? AND (? = 0 OR finished_at IS NULL) ORDER BY stage, rowid LIMIT ?`,
    ).raw(),
    runHost: prepareLater(
      db,
      `SELECT ${COMMAND_COLUMNS} FROM commands WHERE pipeline_id = ? AND host_id = ? AND (? = 0 OR finished_at IS NULL) ORDER BY stage, rowid LIMIT ?`,
    ).raw(),
    host: prepareLater(
      db,
      `SELECT ${COMMAND_COLUMNS} FROM commands WHERE host_id = ? AND (? = 0 OR finished_at IS NULL) ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    ).raw(),
    active: prepareLater(
      db,
      `SELECT ${COMMAND_COLUMNS} FROM commands WHERE finished_at IS NULL ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    ).raw(),
    all: prepareLater(db, `SELECT ${COMMAND_COLUMNS} FROM commands ORDER BY created_at DESC, rowid DESC LIMIT ?`).raw(),
  };

  /** The change a status step makes, and the record it carries. */
  const appendTransition = (row: CommandRow, to: CommandStatus): CommandRecord => {
    const command = toCommandRecord(row, dataDir);
    if (to === 'VALIDATING') changes.append({ type: 'command_started', command });
    else if (isTerminalCommand(to)) changes.append({ type: 'command_finished', command });
    else changes.append({ type: 'command_progress', command });
    return command;
  };

  /**
   * A status step's columns, and the command's processes when given: only a final status sets
   * finished_at (see `finish` above), and the usual start (EXECUTING with its processes) is one
   * update.
   */
  const writeStatus = (next: CommandRow, process?: CommandProcessRecord) => {
    if (isTerminalCommand(next.status as CommandStatus)) {
      finish.run(next.status, next.attempt, next.started_at, next.exit_code, next.error, next.finished_at, next.id);
      if (process !== undefined) setProcess(next.id, process);
    } else if (process !== undefined) {
      startProcess.run(
        next.status,
        next.attempt,
        next.started_at,
        next.exit_code,
        next.error,
        process.group,
        process.startedAt,
        process.remoteGroup ?? null,
        process.tag ?? null,
        next.id,
      );
    } else {
      update.run(next.status, next.attempt, next.started_at, next.exit_code, next.error, next.id);
    }
  };

  const setProcess = (id: string, process: CommandProcessRecord) => {
    const changed = setProcessRow.run(
      process.group,
      process.startedAt,
      process.remoteGroup ?? null,
      process.tag ?? null,
      id,
    ).changes;
    if (changed === 0) throw new RecordNotFoundError('command', id);
  };

  const readRow = (id: string): CommandRow | undefined => {
    const values = select.get(id);
    return values === undefined ? undefined : commandRowOf(values);
  };

  const rowOf = (id: string): CommandRow => {
    const row = readRow(id);
    if (!row) throw new RecordNotFoundError('command', id);
    return row;
  };

  return {
    insert(command, owner, at) {
      insert.run(
        command.id,
        command.runId,
        command.hostId,
        command.op,
        command.stage,
        at,
        owner.pid,
        owner.hostname,
        owner.startedAt,
        command.batch ?? null,
        command.rollbackOf ?? null,
      );
      return pendingCommandRecord(command, at);
    },

    transition(id, to, patch = {}) {
      const next = transitionedRow(id, rowOf(id), to, patch, now());
      writeStatus(next);
      return appendTransition(next, to);
    },

    steps(id, steps, process) {
      const at = now();
      const first = rowOf(id);
      let row = first;
      const records = steps.map((to) => {
        row = transitionedRow(id, row, to, {}, at);
        return appendTransition(row, to);
      });
      if (row !== first) writeStatus(row, process);
      else if (process !== undefined) setProcess(id, process);
      return records;
    },

    progress(id, tail) {
      changes.append({ type: 'command_progress', command: toCommandRecord(rowOf(id), dataDir), tail });
    },

    setOutputFile(id, relativePath) {
      if (setOutput.run(relativePath, id).changes === 0) throw new RecordNotFoundError('command', id);
    },

    setArmed(id, delayMs, state) {
      const row = { ...rowOf(id), armed_ms: delayMs, armed_state: state };
      setArmedState.run(delayMs, state, id);
      const command = toCommandRecord(row, dataDir);
      changes.append({ type: 'command_progress', command });
      return command;
    },

    setProcess,

    get(id) {
      const row = readRow(id);
      return row ? toCommandRecord(row, dataDir) : undefined;
    },

    row(id) {
      return readRow(id);
    },

    list(options = {}) {
      const limit = options.limit ?? DEFAULT_LIST_LIMIT;
      const active = options.activeOnly ? 1 : 0;
      let rows: unknown[];
      if (options.runId !== undefined && options.hostId !== undefined) {
        rows = listQueries.runHost.all(options.runId, options.hostId, active, limit);
      } else if (options.runId !== undefined) rows = listQueries.run.all(options.runId, active, limit);
      else if (options.hostId !== undefined) rows = listQueries.host.all(options.hostId, active, limit);
      else if (options.activeOnly) rows = listQueries.active.all(limit);
      else rows = listQueries.all.all(limit);
      return rows.map((values) => toCommandRecord(commandRowOf(values), dataDir));
    },
  };
}
