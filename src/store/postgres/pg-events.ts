// The `event_log` table on PostgreSQL: the audit trail, each event also a change (see CORE-003).
import type pg from 'pg';
import { type EventRow, toEventRecord } from '../rows.js';
import type { EventRecord, NewEvent } from '../types.js';
import { appendChange } from './pg-changes.js';

export async function appendEvent(db: pg.ClientBase, event: NewEvent, at: number): Promise<EventRecord> {
  const details = event.details === undefined ? null : JSON.stringify(event.details);
  const actor = event.actor ?? 'system';
  const hostId = event.hostId ?? null;
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO event_log (timestamp, category, level, actor, host_id, action, message, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [at, event.category, event.level, actor, hostId, event.action, event.message, details],
  );
  const record: EventRecord = {
    id: rows[0]!.id,
    timestamp: at,
    category: event.category,
    level: event.level,
    actor,
    hostId,
    action: event.action,
    message: event.message,
    details: details === null ? null : JSON.parse(details),
  };
  await appendChange(db, { type: 'event', event: record }, at);
  return record;
}

export async function listEvents(db: pg.ClientBase, limit = 100): Promise<EventRecord[]> {
  const { rows } = await db.query<EventRow>('SELECT * FROM event_log ORDER BY id DESC LIMIT $1', [limit]);
  return rows.map(toEventRecord);
}
