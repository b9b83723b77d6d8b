// The `meta` key/value table on PostgreSQL: id counters, the registry summary, the last prune time.
import type pg from 'pg';

export async function getMeta(db: pg.ClientBase, key: string): Promise<string | undefined> {
  const { rows } = await db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
  return rows[0]?.value;
}

export async function setMeta(db: pg.ClientBase, key: string, value: string): Promise<void> {
  await db.query(
    'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    [key, value],
  );
}

/** Reserves `count` consecutive numbers of a counter; ids are never reused (see CORE-003). */
export async function reserve(db: pg.ClientBase, counter: 'next_run' | 'next_command', count: number): Promise<number> {
  const { rows } = await db.query<{ first: number }>(
    'UPDATE meta SET value = (value::bigint + $1)::text WHERE key = $2 RETURNING value::bigint - $1 AS first',
    [count, counter],
  );
  return rows[0]!.first;
}
