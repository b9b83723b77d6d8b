// The `pipelines` table: one row per run of a pipeline or single op (see CORE-002, CORE-003).
import { assertRunTransition, type RunStatus } from '../domain/status.js';
import type { ChangeLog } from './change-log.js';
import { prepareLater, type SqliteDatabase } from './database.js';
import { RecordNotFoundError } from './record-not-found-error.js';
import { advancedRow, newRunValues, pausedRow, withCancelRequest } from './record-rules.js';
import { type RunRow, toRunRecord } from './rows.js';
import type { ListRunsOptions, NewRun, Owner, RunRecord } from './types.js';

export interface RunTable {
  /** Inserts the run RUNNING at stage 0; the caller appends pipeline_started with its commands. */
  insert(id: string, run: NewRun, owner: Owner, at: number): RunRecord;
  advance(id: string, stage: number, batch?: number): RunRecord;
  pause(id: string, until: number, nextBatch: number): RunRecord;
  finish(id: string, status: RunStatus): RunRecord;
  requestCancel(id: string, options?: { kill?: boolean; hostId?: string }): RunRecord;
  get(id: string): RunRecord | undefined;
  list(options?: ListRunsOptions): RunRecord[];
  count(): number;
}

const DEFAULT_LIST_LIMIT = 50;

export function createRunTable(db: SqliteDatabase, changes: ChangeLog, now: () => number): RunTable {
  const insert = prepareLater(
    db,
    `INSERT INTO pipelines (id, name, target_kind, hosts, stages, current_stage, status, created_at,
       registry_hash, retry_of, cancel_requested, actor, owner_pid, owner_hostname, owner_started_at, rollout)
     VALUES (?, ?, ?, ?, ?, 0, 'RUNNING', ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
  );
  const select = prepareLater(db, 'SELECT * FROM pipelines WHERE id = ?');
  const setStage = prepareLater(
    db,
    'UPDATE pipelines SET current_stage = ?, current_batch = ?, paused_until = NULL, paused_before = NULL WHERE id = ?',
  );
  const setPause = prepareLater(db, 'UPDATE pipelines SET paused_until = ?, paused_before = ? WHERE id = ?');
  // CORE-008: a run that ended is no longer paused, however it ended.
  const setFinished = prepareLater(
    db,
    'UPDATE pipelines SET status = ?, finished_at = ?, paused_until = NULL, paused_before = NULL WHERE id = ?',
  );
  const setCancel = prepareLater(
    db,
    'UPDATE pipelines SET cancel_requested = ?, kill_requested = ?, kill_hosts = ? WHERE id = ?',
  );
  // Newest first; ids are `r<N>`, so the number breaks ties within one millisecond.
  const order = 'ORDER BY created_at DESC, CAST(substr(id, 2) AS INTEGER) DESC LIMIT ?';
  const newest = prepareLater(db, `SELECT * FROM pipelines ${order}`);
  const newestActive = prepareLater(db, `SELECT * FROM pipelines WHERE status = 'RUNNING' ${order}`);
  const newestRetries = prepareLater(db, `SELECT * FROM pipelines WHERE retry_of = ? ${order}`);
  const countAll = prepareLater(db, 'SELECT count(*) AS n FROM pipelines');

  const rowOf = (id: string): RunRow => {
    const row = select.get(id) as RunRow | undefined;
    if (!row) throw new RecordNotFoundError('run', id);
    return row;
  };

  return {
    insert(id, run, owner, at) {
      insert.run(...newRunValues(id, run, owner, at));
      return toRunRecord(rowOf(id));
    },

    advance(id, stage, batch) {
      const row = advancedRow(rowOf(id), stage, batch);
      setStage.run(row.current_stage, row.current_batch, id);
      const pipeline = toRunRecord(row);
      changes.append({ type: 'pipeline_updated', pipeline });
      return pipeline;
    },

    pause(id, until, nextBatch) {
      const row = pausedRow(rowOf(id), until, nextBatch);
      setPause.run(row.paused_until, row.paused_before, id);
      const pipeline = toRunRecord(row);
      changes.append({ type: 'pipeline_updated', pipeline });
      return pipeline;
    },

    finish(id, status) {
      const row = rowOf(id);
      assertRunTransition(id, row.status as RunStatus, status);
      if (status === 'RUNNING') throw new RangeError(`run ${id}: finishing needs a final status, not RUNNING`);
      const at = now();
      setFinished.run(status, at, id);
      const pipeline = toRunRecord({ ...row, status, finished_at: at, paused_until: null, paused_before: null });
      changes.append({ type: 'pipeline_finished', pipeline });
      return pipeline;
    },

    requestCancel(id, options = {}) {
      const row = rowOf(id);
      const next = withCancelRequest(row, options);
      if (next === undefined) return toRunRecord(row);
      setCancel.run(next.cancel_requested, next.kill_requested, next.kill_hosts, id);
      const pipeline = toRunRecord(next);
      changes.append({ type: 'pipeline_updated', pipeline });
      return pipeline;
    },

    get(id) {
      const row = select.get(id) as RunRow | undefined;
      return row ? toRunRecord(row) : undefined;
    },

    list(options = {}) {
      const limit = options.limit ?? DEFAULT_LIST_LIMIT;
      const rows =
        options.retryOf !== undefined
          ? newestRetries.all(options.retryOf, limit)
          : (options.activeOnly ? newestActive : newest).all(limit);
      return (rows as RunRow[]).map(toRunRecord);
    },

    count: () => (countAll.get() as { n: number }).n,
  };
}
