// The `event_log` table: the audit trail (who did what, when, on which host). Each event is also
// a change, so the dashboard's event list updates live (see CORE-003).
import type { ChangeLog } from './change-log.js';
import { prepareLater, type SqliteDatabase } from './database.js';
import { newEventRow } from './record-rules.js';
import { type EventRow, toEventRecord } from './rows.js';
import type { EventRecord, NewEvent } from './types.js';

export interface EventLog {
  /** Writes the event and its change; call inside a transaction. */
  append(event: NewEvent): EventRecord;
  list(limit?: number): EventRecord[];
}

const DEFAULT_LIST_LIMIT = 100;

export function createEventLog(db: SqliteDatabase, changes: ChangeLog, now: () => number): EventLog {
  const insert = prepareLater(
    db,
    `INSERT INTO event_log (timestamp, category, level, actor, host_id, action, message, details)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const newest = prepareLater(db, 'SELECT * FROM event_log ORDER BY id DESC LIMIT ?');
  return {
    append(event) {
      const row = newEventRow(event, now());
      const { lastInsertRowid } = insert.run(
        row.timestamp,
        row.category,
        row.level,
        row.actor,
        row.host_id,
        row.action,
        row.message,
        row.details,
      );
      const record = toEventRecord({ id: Number(lastInsertRowid), ...row });
      changes.append({ type: 'event', event: record });
      return record;
    },
    list(limit = DEFAULT_LIST_LIMIT) {
      return (newest.all(limit) as EventRow[]).map(toEventRecord);
    },
  };
}
