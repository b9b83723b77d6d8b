// Retention on PostgreSQL (see CORE-003): the same policy as retention.ts; a pruned command's
// output chunks go in the same transaction as its row, so nothing is ever left pointing nowhere.
import type pg from 'pg';
import {
  CHANGES_KEPT,
  CHANGES_KEPT_MS,
  LAST_PRUNE_KEY,
  OWN_SUMMARIES,
  pruneEvents,
  type RetentionPolicy,
} from '../retention.js';
import type { PruneResult } from '../types.js';
import { appendChange, headVersion } from './pg-changes.js';
import { appendEvent } from './pg-events.js';
import { setMeta } from './pg-meta.js';

export async function pruneRows(
  db: pg.ClientBase,
  policy: RetentionPolicy,
  at: number,
  problems: readonly string[],
): Promise<PruneResult> {
  const expired = await db.query<{ id: string }>(
    `SELECT id FROM pipelines p
     WHERE p.status <> 'RUNNING' AND p.finished_at IS NOT NULL AND p.finished_at < $1
       AND NOT EXISTS (SELECT 1 FROM commands c WHERE c.pipeline_id = p.id AND c.finished_at IS NULL)`,
    [at - policy.commandRetentionMs],
  );
  const runIds = expired.rows.map((row) => row.id);
  const withOutput = await db.query<{ n: number }>(
    'SELECT count(*)::bigint AS n FROM commands WHERE pipeline_id = ANY($1::text[]) AND output_file IS NOT NULL',
    [runIds],
  );
  await db.query(
    `DELETE FROM output_chunks WHERE command_id IN (
       SELECT id FROM commands WHERE pipeline_id = ANY($1::text[]) AND output_file IS NOT NULL)`,
    [runIds],
  );
  const commands = (await db.query('DELETE FROM commands WHERE pipeline_id = ANY($1::text[])', [runIds])).rowCount ?? 0;
  const pipelines = (await db.query('DELETE FROM pipelines WHERE id = ANY($1::text[])', [runIds])).rowCount ?? 0;
  const cut = at - policy.eventRetentionMs;
  const events =
    (await db.query(`DELETE FROM event_log WHERE timestamp < $1 AND NOT (${OWN_SUMMARIES})`, [cut])).rowCount ?? 0;
  await db.query(`DELETE FROM event_log WHERE timestamp < $1 AND ${OWN_SUMMARIES}`, [cut]);
  const head = await headVersion(db);
  const changes =
    (
      await db.query('DELETE FROM changes WHERE version <= $1 AND created_at < $2', [
        head - CHANGES_KEPT,
        at - CHANGES_KEPT_MS,
      ])
    ).rowCount ?? 0;
  if (runIds.length > 0) await appendChange(db, { type: 'pipelines_removed', runIds }, at);
  const result: PruneResult = { commands, pipelines, events, changes, outputFiles: withOutput.rows[0]!.n };
  for (const event of pruneEvents(result, problems, policy)) await appendEvent(db, event, at);
  await setMeta(db, LAST_PRUNE_KEY, String(at));
  return result;
}
