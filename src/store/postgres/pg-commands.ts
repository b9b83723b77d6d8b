// The `commands` table on PostgreSQL: one op on one host, moved only along CORE-001's status
// machine (the same rules as command-table.ts; see CORE-003).
import type pg from 'pg';
import type { ArmedState } from '../../domain/armed-state.js';
import { type CommandStatus, isTerminalCommand } from '../../domain/status.js';
import { RecordNotFoundError } from '../record-not-found-error.js';
import { type NewCommandRow, pendingCommandRecord, transitionedRow } from '../record-rules.js';
import { type CommandRow, toCommandRecord } from '../rows.js';
import type { CommandPatch, CommandProcessRecord, CommandRecord, Owner } from '../types.js';
import { appendChange } from './pg-changes.js';

const DEFAULT_LIST_LIMIT = 1000;

/** Output lives in output_chunks; output_file only says that there is some (see CORE-012). */
export function toPgCommandRecord(row: CommandRow): CommandRecord {
  return { ...toCommandRecord({ ...row, output_file: null }, '/'), outputFile: row.output_file };
}

export async function commandRow(db: pg.ClientBase, id: string): Promise<CommandRow | undefined> {
  const { rows } = await db.query<CommandRow>('SELECT * FROM commands WHERE id = $1', [id]);
  return rows[0];
}

async function existingRow(db: pg.ClientBase, id: string): Promise<CommandRow> {
  const row = await commandRow(db, id);
  if (!row) throw new RecordNotFoundError('command', id);
  return row;
}

export async function insertCommands(
  db: pg.ClientBase,
  commands: readonly NewCommandRow[],
  owner: Owner,
  at: number,
): Promise<CommandRecord[]> {
  if (commands.length > 0) {
    // One statement for the whole fan-out: a 900-command run is one round trip, not 900.
    await db.query(
      `INSERT INTO commands (id, pipeline_id, host_id, op, stage, status, attempt, created_at,
         owner_pid, owner_hostname, owner_started_at, batch, rollback_of)
       SELECT id, $2, host_id, op, stage, 'PENDING', 1, $3, $4, $5, $6, batch, rollback_of
       FROM unnest($1::text[], $7::text[], $8::text[], $9::int[], $10::int[], $11::text[])
         WITH ORDINALITY AS c(id, host_id, op, stage, batch, rollback_of, n)
       ORDER BY n`,
      [
        commands.map((c) => c.id),
        commands[0]!.runId,
        at,
        owner.pid,
        owner.hostname,
        owner.startedAt,
        commands.map((c) => c.hostId),
        commands.map((c) => c.op),
        commands.map((c) => c.stage),
        commands.map((c) => c.batch ?? null),
        commands.map((c) => c.rollbackOf ?? null),
      ],
    );
  }
  return commands.map((command) => pendingCommandRecord(command, at));
}

export async function setArmed(
  db: pg.ClientBase,
  id: string,
  delayMs: number,
  state: ArmedState,
  at: number,
): Promise<CommandRecord> {
  const row = { ...(await existingRow(db, id)), armed_ms: delayMs, armed_state: state };
  await db.query('UPDATE commands SET armed_ms = $1, armed_state = $2 WHERE id = $3', [delayMs, state, id]);
  const command = toPgCommandRecord(row);
  await appendChange(db, { type: 'command_progress', command }, at);
  return command;
}

export async function transitionCommand(
  db: pg.ClientBase,
  id: string,
  to: CommandStatus,
  patch: CommandPatch,
  at: number,
  /** The row, when the caller already read it in this transaction. */
  known?: CommandRow,
): Promise<CommandRecord> {
  const row = known ?? (await existingRow(db, id));
  const [record] = await writeTransitions(db, id, [{ to, next: transitionedRow(id, row, to, patch, at) }], at);
  return record!;
}

/**
 * Several steps of the status machine in a row, each with its change, and the command's processes
 * when given, in the caller's transaction.
 */
export async function transitionCommandSteps(
  db: pg.ClientBase,
  id: string,
  steps: readonly CommandStatus[],
  at: number,
  known?: CommandRow,
  process?: CommandProcessRecord,
): Promise<CommandRecord[]> {
  let row = known ?? (await existingRow(db, id));
  const moves = steps.map((to) => {
    row = transitionedRow(id, row, to, {}, at);
    return { to, next: row };
  });
  if (moves.length === 0) {
    if (process !== undefined) await setProcess(db, id, process);
    return [];
  }
  return writeTransitions(db, id, moves, at, process);
}

/**
 * The engine's hot path: the row as its last step left it (and its processes, when given) and a
 * change per step, as appendChange writes them, in one statement and so one round trip: a local
 * command's start (two steps and its processes) took three, one per statement (CORE-012).
 */
async function writeTransitions(
  db: pg.ClientBase,
  id: string,
  moves: readonly { readonly to: CommandStatus; readonly next: CommandRow }[],
  at: number,
  process?: CommandProcessRecord,
): Promise<CommandRecord[]> {
  const records = moves.map(({ next }) => toPgCommandRecord(next));
  const types = moves.map(({ to }) =>
    to === 'VALIDATING' ? 'command_started' : isTerminalCommand(to) ? 'command_finished' : 'command_progress',
  );
  const last = moves[moves.length - 1]!.next;
  await db.query({
    // Named: prepared once per connection, so the hot path skips parsing and planning.
    name: 'nixfleet_transitions',
    text: `WITH updated AS (
       UPDATE commands SET status = $1, attempt = $2, started_at = $3, exit_code = $4, error = $5, finished_at = $6,
         process_group = CASE WHEN $11 THEN $12 ELSE process_group END,
         process_started_at = CASE WHEN $11 THEN $13 ELSE process_started_at END,
         remote_group = CASE WHEN $11 THEN $14 ELSE remote_group END,
         process_tag = CASE WHEN $11 THEN $15 ELSE process_tag END
       WHERE id = $7
     ), head AS (
       UPDATE meta SET value = (value::bigint + cardinality($8::text[]))::text WHERE key = 'change_head'
       RETURNING value::bigint AS version
     )
     INSERT INTO changes (version, type, created_at, payload)
     SELECT head.version - cardinality($8::text[]) + step.n, step.type, $9, step.payload
     FROM head, unnest($8::text[], $10::text[]) WITH ORDINALITY AS step(type, payload, n)`,
    values: [
      last.status,
      last.attempt,
      last.started_at,
      last.exit_code,
      last.error,
      last.finished_at,
      id,
      types,
      at,
      records.map((command, i) => JSON.stringify({ type: types[i], command })),
      process !== undefined,
      process?.group ?? null,
      process?.startedAt ?? null,
      process?.remoteGroup ?? null,
      process?.tag ?? null,
    ],
  });
  return records;
}

export async function setProcess(db: pg.ClientBase, id: string, process: CommandProcessRecord): Promise<void> {
  const result = await db.query(
    'UPDATE commands SET process_group = $1, process_started_at = $2, remote_group = $3, process_tag = $4 WHERE id = $5',
    [process.group, process.startedAt, process.remoteGroup ?? null, process.tag ?? null, id],
  );
  if (result.rowCount === 0) throw new RecordNotFoundError('command', id);
}

export async function reportProgress(db: pg.ClientBase, id: string, tail: string, at: number): Promise<void> {
  const command = toPgCommandRecord(await existingRow(db, id));
  await appendChange(db, { type: 'command_progress', command, tail }, at);
}

export async function setOutputFile(db: pg.ClientBase, id: string, marker: string): Promise<void> {
  const result = await db.query('UPDATE commands SET output_file = $1 WHERE id = $2', [marker, id]);
  if (result.rowCount === 0) throw new RecordNotFoundError('command', id);
}

export async function listCommands(
  db: pg.ClientBase,
  options: { runId?: string; hostId?: string; activeOnly?: boolean; limit?: number } = {},
): Promise<CommandRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (options.runId !== undefined) where.push(`pipeline_id = $${params.push(options.runId)}`);
  if (options.hostId !== undefined) where.push(`host_id = $${params.push(options.hostId)}`);
  if (options.activeOnly) where.push('finished_at IS NULL');
  const order = options.runId !== undefined ? 'stage, seq' : 'created_at DESC, seq DESC';
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const limit = `$${params.push(options.limit ?? DEFAULT_LIST_LIMIT)}`;
  const { rows } = await db.query<CommandRow>(
    `SELECT * FROM commands ${filter} ORDER BY ${order} LIMIT ${limit}`,
    params,
  );
  return rows.map(toPgCommandRecord);
}
