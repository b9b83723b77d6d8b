// The `hosts` table on PostgreSQL: the registry's hosts, only real differences become changes
// (the same rules as host-table.ts; see CORE-003).
import type pg from 'pg';
import type { DeclaredHost } from '../host-table.js';
import { type HostRow, toHostRecord } from '../rows.js';
import type { HostRecord } from '../types.js';
import { appendChange } from './pg-changes.js';

export async function listHosts(db: pg.ClientBase): Promise<HostRecord[]> {
  const { rows } = await db.query<HostRow>('SELECT * FROM hosts ORDER BY created_at, id');
  return rows.map(toHostRecord);
}

export async function syncHosts(db: pg.ClientBase, hosts: readonly DeclaredHost[], at: number): Promise<void> {
  const { rows } = await db.query<HostRow>('SELECT * FROM hosts ORDER BY created_at, id');
  const existing = new Map(rows.map((row) => [row.id, row]));
  for (const host of hosts) {
    const tags = JSON.stringify(host.tags);
    const row = existing.get(host.id);
    existing.delete(host.id);
    if (!row) {
      await db.query(
        'INSERT INTO hosts (id, hostname, transport, tags, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)',
        [host.id, host.hostname, host.transport, tags, at],
      );
      const record = toHostRecord({ ...host, tags, created_at: at, updated_at: at });
      await appendChange(db, { type: 'host_added', host: record }, at);
    } else if (row.hostname !== host.hostname || row.transport !== host.transport || row.tags !== tags) {
      await db.query('UPDATE hosts SET hostname = $1, transport = $2, tags = $3, updated_at = $4 WHERE id = $5', [
        host.hostname,
        host.transport,
        tags,
        at,
        host.id,
      ]);
      const updated = { ...row, hostname: host.hostname, transport: host.transport, tags, updated_at: at };
      await appendChange(db, { type: 'host_updated', host: toHostRecord(updated) }, at);
    }
  }
  for (const id of existing.keys()) {
    await db.query('DELETE FROM hosts WHERE id = $1', [id]);
    await appendChange(db, { type: 'host_removed', hostId: id }, at);
  }
}
