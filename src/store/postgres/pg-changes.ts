// The `changes` table on PostgreSQL (see CORE-012, State Sync): the version is a counter in meta
// bumped by the writing transaction itself. Every write holds the journal's write lock until it
// commits, so versions are contiguous and become visible in order, whichever controller wrote them.
import type pg from 'pg';
import type { Change, VersionedChange } from '../types.js';

const DEFAULT_LIMIT = 10_000;

export async function appendChange(db: pg.ClientBase, change: Change, at: number): Promise<number> {
  const { rows } = await db.query<{ version: number }>({
    // Named: prepared once per connection (every write appends one).
    name: 'nixfleet_append_change',
    text: `WITH head AS (
       UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'change_head' RETURNING value::bigint AS version
     )
     INSERT INTO changes (version, type, created_at, payload) SELECT version, $1, $2, $3 FROM head RETURNING version`,
    values: [change.type, at, JSON.stringify(change)],
  });
  return rows[0]!.version;
}

export async function changesSince(
  db: pg.ClientBase,
  version: number,
  limit = DEFAULT_LIMIT,
): Promise<VersionedChange[]> {
  const { rows } = await db.query<{ version: number; payload: string }>(
    'SELECT version, payload FROM changes WHERE version > $1 ORDER BY version LIMIT $2',
    [version, limit],
  );
  return rows.map((row) => ({ version: row.version, change: JSON.parse(row.payload) as Change }));
}

export async function headVersion(db: pg.ClientBase): Promise<number> {
  const { rows } = await db.query<{ v: number }>("SELECT value::bigint AS v FROM meta WHERE key = 'change_head'");
  return rows[0]?.v ?? 0;
}

export async function oldestVersion(db: pg.ClientBase): Promise<number> {
  const { rows } = await db.query<{ v: number | null }>('SELECT min(version) AS v FROM changes');
  return rows[0]?.v ?? (await headVersion(db)) + 1;
}
