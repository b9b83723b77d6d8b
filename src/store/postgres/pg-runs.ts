// The `pipelines` table on PostgreSQL: one row per run (the same rules as run-table.ts; see CORE-003).
import type pg from 'pg';
import { assertRunTransition, type RunStatus } from '../../domain/status.js';
import { RecordNotFoundError } from '../record-not-found-error.js';
import { advancedRow, newRunValues, pausedRow, withCancelRequest } from '../record-rules.js';
import { type RunRow, toRunRecord } from '../rows.js';
import type { ListRunsOptions, NewRun, Owner, RunRecord } from '../types.js';
import { appendChange } from './pg-changes.js';

const DEFAULT_LIST_LIMIT = 50;

async function runRow(db: pg.ClientBase, id: string): Promise<RunRow> {
  const { rows } = await db.query<RunRow>('SELECT * FROM pipelines WHERE id = $1', [id]);
  if (!rows[0]) throw new RecordNotFoundError('run', id);
  return rows[0];
}

export async function insertRun(
  db: pg.ClientBase,
  id: string,
  run: NewRun,
  owner: Owner,
  at: number,
): Promise<RunRecord> {
  await db.query(
    `INSERT INTO pipelines (id, name, target_kind, hosts, stages, current_stage, status, created_at,
       registry_hash, retry_of, cancel_requested, actor, owner_pid, owner_hostname, owner_started_at, rollout)
     VALUES ($1, $2, $3, $4, $5, 0, 'RUNNING', $6, $7, $8, 0, $9, $10, $11, $12, $13)`,
    newRunValues(id, run, owner, at),
  );
  return toRunRecord(await runRow(db, id));
}

export async function advanceRun(
  db: pg.ClientBase,
  id: string,
  stage: number,
  batch: number | undefined,
  at: number,
): Promise<RunRecord> {
  const row = advancedRow(await runRow(db, id), stage, batch);
  await db.query(
    'UPDATE pipelines SET current_stage = $1, current_batch = $2, paused_until = NULL, paused_before = NULL WHERE id = $3',
    [row.current_stage, row.current_batch, id],
  );
  const pipeline = toRunRecord(row);
  await appendChange(db, { type: 'pipeline_updated', pipeline }, at);
  return pipeline;
}

export async function pauseRun(
  db: pg.ClientBase,
  id: string,
  until: number,
  nextBatch: number,
  at: number,
): Promise<RunRecord> {
  const row = pausedRow(await runRow(db, id), until, nextBatch);
  await db.query('UPDATE pipelines SET paused_until = $1, paused_before = $2 WHERE id = $3', [
    row.paused_until,
    row.paused_before,
    id,
  ]);
  const pipeline = toRunRecord(row);
  await appendChange(db, { type: 'pipeline_updated', pipeline }, at);
  return pipeline;
}

export async function finishRun(db: pg.ClientBase, id: string, status: RunStatus, at: number): Promise<RunRecord> {
  const row = await runRow(db, id);
  assertRunTransition(id, row.status as RunStatus, status);
  if (status === 'RUNNING') throw new RangeError(`run ${id}: finishing needs a final status, not RUNNING`);
  // CORE-008: a run that ended is no longer paused, however it ended.
  await db.query(
    'UPDATE pipelines SET status = $1, finished_at = $2, paused_until = NULL, paused_before = NULL WHERE id = $3',
    [status, at, id],
  );
  const pipeline = toRunRecord({ ...row, status, finished_at: at, paused_until: null, paused_before: null });
  await appendChange(db, { type: 'pipeline_finished', pipeline }, at);
  return pipeline;
}

export async function requestCancel(
  db: pg.ClientBase,
  id: string,
  options: { kill?: boolean; hostId?: string },
  at: number,
): Promise<RunRecord> {
  const row = await runRow(db, id);
  const next = withCancelRequest(row, options);
  if (next === undefined) return toRunRecord(row);
  await db.query('UPDATE pipelines SET cancel_requested = $1, kill_requested = $2, kill_hosts = $3 WHERE id = $4', [
    next.cancel_requested,
    next.kill_requested,
    next.kill_hosts,
    id,
  ]);
  const pipeline = toRunRecord(next);
  await appendChange(db, { type: 'pipeline_updated', pipeline }, at);
  return pipeline;
}

export async function getRun(db: pg.ClientBase, id: string): Promise<RunRecord | undefined> {
  const { rows } = await db.query<RunRow>('SELECT * FROM pipelines WHERE id = $1', [id]);
  return rows[0] ? toRunRecord(rows[0]) : undefined;
}

export async function countRuns(db: pg.ClientBase): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::integer AS n FROM pipelines');
  return rows[0]!.n;
}

export async function listRuns(db: pg.ClientBase, options: ListRunsOptions = {}): Promise<RunRecord[]> {
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  const order = 'ORDER BY created_at DESC, seq DESC';
  const { rows } =
    options.retryOf !== undefined
      ? await db.query<RunRow>(`SELECT * FROM pipelines WHERE retry_of = $1 ${order} LIMIT $2`, [
          options.retryOf,
          limit,
        ])
      : await db.query<RunRow>(
          `SELECT * FROM pipelines ${options.activeOnly ? "WHERE status = 'RUNNING'" : ''} ${order} LIMIT $1`,
          [limit],
        );
  return rows.map(toRunRecord);
}
