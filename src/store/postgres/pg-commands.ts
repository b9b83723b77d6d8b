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
  return writeTransition(db, id, to, transitionedRow(id, row, to, patch, at), at);
}

/** Several steps of the status machine in a row, each with its change, in the caller's transaction. */
export async function transitionCommandSteps(
  db: pg.ClientBase,
  id: string,
  steps: readonly CommandStatus[],
  at: number,
  known?: CommandRow,
): Promise<CommandRecord[]> {
  let row = known ?? (await existingRow(db, id));
  const records: CommandRecord[] = [];
  for (const to of steps) {
    row = transitionedRow(id, row, to, {}, at);
    records.push(await writeTransition(db, id, to, row, at));
  }
  return records;
}

async function writeTransition(
  db: pg.ClientBase,
  id: string,
  to: CommandStatus,
  next: CommandRow,
  at: number,
): Promise<CommandRecord> {
  const command = toPgCommandRecord(next);
  const type =
    to === 'VALIDATING' ? 'command_started' : isTerminalCommand(to) ? 'command_finished' : 'command_progress';
  // The engine's hot path: the update and its change (as appendChange writes it) in one round trip.
  await db.query({
    // Named: prepared once per connection, so the hot path skips parsing and planning.
    name: 'nixfleet_transition',
    text: `WITH updated AS (
       UPDATE commands SET status = $1, attempt = $2, started_at = $3, exit_code = $4, error = $5, finished_at = $6
       WHERE id = $7
     ), head AS (
       UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'change_head' RETURNING value::bigint AS version
     )
     INSERT INTO changes (version, type, created_at, payload) SELECT version, $8, $9, $10 FROM head`,
    values: [
      next.status,
      next.attempt,
      next.started_at,
      next.exit_code,
      next.error,
      next.finished_at,
      id,
      type,
      at,
      JSON.stringify({ type, command }),
    ],
  });
  return command;
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
