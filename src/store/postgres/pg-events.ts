// The `event_log` table on PostgreSQL: the audit trail, each event also a change (see CORE-003).
import type pg from 'pg';
import { newEventRow } from '../record-rules.js';
import { type EventRow, toEventRecord } from '../rows.js';
import type { EventRecord, NewEvent } from '../types.js';
import { appendChange } from './pg-changes.js';

export async function appendEvent(db: pg.ClientBase, event: NewEvent, at: number): Promise<EventRecord> {
  const row = newEventRow(event, at);
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO event_log (timestamp, category, level, actor, host_id, action, message, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [row.timestamp, row.category, row.level, row.actor, row.host_id, row.action, row.message, row.details],
  );
  const record = toEventRecord({ id: rows[0]!.id, ...row });
  await appendChange(db, { type: 'event', event: record }, at);
  return record;
}

export async function listEvents(db: pg.ClientBase, limit = 100): Promise<EventRecord[]> {
  const { rows } = await db.query<EventRow>('SELECT * FROM event_log ORDER BY id DESC LIMIT $1', [limit]);
  return rows.map(toEventRecord);
}
