// The `commands` table: one op on one host within a run, moved only along the status machine of
// CORE-001 (see also CORE-003). transition() is the engine's hot path: one indexed
// read, one update and one change row, all through statements prepared once.
import type { ArmedState } from '../domain/armed-state.js';
import { type CommandStatus, isTerminalCommand } from '../domain/status.js';
import type { ChangeLog } from './change-log.js';
import { prepareLater, type SqliteDatabase } from './database.js';
import { RecordNotFoundError } from './record-not-found-error.js';
import { type NewCommandRow, pendingCommandRecord, transitionedRow } from './record-rules.js';
import { type CommandRow, toCommandRecord } from './rows.js';
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
  const select = prepareLater(db, 'SELECT * FROM commands WHERE id = ?');
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
  const setOutput = prepareLater(db, 'UPDATE commands SET output_file = ? WHERE id = ?');
  const setArmedState = prepareLater(db, 'UPDATE commands SET armed_ms = ?, armed_state = ? WHERE id = ?');
  const setProcessRow = prepareLater(
    db,
    'UPDATE commands SET process_group = ?, process_started_at = ?, remote_group = ?, process_tag = ? WHERE id = ?',
  );
  const listQueries = {
    run: prepareLater(
      db,
      'SELECT * FROM commands WHERE pipeline_id = ? AND (? = 0 OR finished_at IS NULL) ORDER BY stage, rowid LIMIT ?',
    ),
    runHost: prepareLater(
      db,
      'SELECT * FROM commands WHERE pipeline_id = ? AND host_id = ? AND (? = 0 OR finished_at IS NULL) ORDER BY stage, rowid LIMIT ?',
    ),
    host: prepareLater(
      db,
      'SELECT * FROM commands WHERE host_id = ? AND (? = 0 OR finished_at IS NULL) ORDER BY created_at DESC, rowid DESC LIMIT ?',
    ),
    active: prepareLater(
      db,
      'SELECT * FROM commands WHERE finished_at IS NULL ORDER BY created_at DESC, rowid DESC LIMIT ?',
    ),
    all: prepareLater(db, 'SELECT * FROM commands ORDER BY created_at DESC, rowid DESC LIMIT ?'),
  };

  const rowOf = (id: string): CommandRow => {
    const row = select.get(id) as CommandRow | undefined;
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
      const row = rowOf(id);
      const at = now();
      const next = transitionedRow(id, row, to, patch, at);
      if (isTerminalCommand(to)) {
        finish.run(next.status, next.attempt, next.started_at, next.exit_code, next.error, next.finished_at, id);
      } else {
        update.run(next.status, next.attempt, next.started_at, next.exit_code, next.error, id);
      }
      const command = toCommandRecord(next, dataDir);
      if (to === 'VALIDATING') changes.append({ type: 'command_started', command });
      else if (isTerminalCommand(to)) changes.append({ type: 'command_finished', command });
      else changes.append({ type: 'command_progress', command });
      return command;
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

    setProcess(id, process) {
      const changed = setProcessRow.run(
        process.group,
        process.startedAt,
        process.remoteGroup ?? null,
        process.tag ?? null,
        id,
      ).changes;
      if (changed === 0) throw new RecordNotFoundError('command', id);
    },

    get(id) {
      const row = select.get(id) as CommandRow | undefined;
      return row ? toCommandRecord(row, dataDir) : undefined;
    },

    row(id) {
      return select.get(id) as CommandRow | undefined;
    },

    list(options = {}) {
      const limit = options.limit ?? DEFAULT_LIST_LIMIT;
      const active = options.activeOnly ? 1 : 0;
      let rows: CommandRow[];
      if (options.runId !== undefined && options.hostId !== undefined) {
        rows = listQueries.runHost.all(options.runId, options.hostId, active, limit) as CommandRow[];
      } else if (options.runId !== undefined) rows = listQueries.run.all(options.runId, active, limit) as CommandRow[];
      else if (options.hostId !== undefined) rows = listQueries.host.all(options.hostId, active, limit) as CommandRow[];
      else if (options.activeOnly) rows = listQueries.active.all(limit) as CommandRow[];
      else rows = listQueries.all.all(limit) as CommandRow[];
      return rows.map((row) => toCommandRecord(row, dataDir));
    },
  };
}
