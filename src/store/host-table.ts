// The `hosts` table mirrors the registry's hosts, so the dashboard and audit queries can name
// hosts without the fleet file (see CORE-003). Only real differences become changes.
import type { TransportKind } from '../registry/types.js';
import type { ChangeLog } from './change-log.js';
import { prepareLater, type SqliteDatabase } from './database.js';
import { type HostRow, toHostRecord } from './rows.js';
import type { HostRecord } from './types.js';

export interface DeclaredHost {
  readonly id: string;
  readonly hostname: string;
  readonly transport: TransportKind;
  readonly tags: readonly string[];
}

export interface HostTable {
  /** Upserts the declared hosts and removes the others; call inside a transaction. */
  sync(hosts: readonly DeclaredHost[]): void;
  list(): HostRecord[];
}

export function createHostTable(db: SqliteDatabase, changes: ChangeLog, now: () => number): HostTable {
  const all = prepareLater(db, 'SELECT * FROM hosts ORDER BY created_at, id');
  const insert = prepareLater(
    db,
    'INSERT INTO hosts (id, hostname, transport, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const update = prepareLater(
    db,
    'UPDATE hosts SET hostname = ?, transport = ?, tags = ?, updated_at = ? WHERE id = ?',
  );
  const remove = prepareLater(db, 'DELETE FROM hosts WHERE id = ?');

  return {
    sync(hosts) {
      const existing = new Map((all.all() as HostRow[]).map((row) => [row.id, row]));
      const at = now();
      for (const host of hosts) {
        const tags = JSON.stringify(host.tags);
        const row = existing.get(host.id);
        existing.delete(host.id);
        if (!row) {
          insert.run(host.id, host.hostname, host.transport, tags, at, at);
          changes.append({ type: 'host_added', host: toHostRecord({ ...host, tags, created_at: at, updated_at: at }) });
        } else if (row.hostname !== host.hostname || row.transport !== host.transport || row.tags !== tags) {
          update.run(host.hostname, host.transport, tags, at, host.id);
          const updated = { ...row, hostname: host.hostname, transport: host.transport, tags, updated_at: at };
          changes.append({ type: 'host_updated', host: toHostRecord(updated) });
        }
      }
      for (const id of existing.keys()) {
        remove.run(id);
        changes.append({ type: 'host_removed', hostId: id });
      }
    },
    list() {
      return (all.all() as HostRow[]).map(toHostRecord);
    },
  };
}
