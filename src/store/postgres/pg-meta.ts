// The `meta` key/value table on PostgreSQL: id counters, the registry summary, the last prune time.
import type pg from 'pg';
import { COUNTERS, counterNumber, DamagedCounterError, type IdCounter } from '../damaged-counter-error.js';

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

/**
 * Reserves `count` consecutive numbers of a counter; ids are never reused (see CORE-003). A
 * counter that is not a whole number, or whose ids are taken, throws DamagedCounterError.
 */
export async function reserve(db: pg.ClientBase, counter: IdCounter, count: number): Promise<number> {
  const stored = await getMeta(db, counter);
  const first = counterNumber(stored);
  const { table, prefix } = COUNTERS[counter];
  const ids = Array.from({ length: first === undefined ? 0 : count }, (_, index) => `${prefix}${first! + index}`);
  const { rows } =
    first === undefined
      ? { rows: [] }
      : await db.query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1) ORDER BY length(id), id LIMIT 1`, [
          ids,
        ]);
  if (first === undefined || rows.length > 0) {
    // Only asked when the counter is damaged, so a scan is fine.
    const highest = await db.query<{ n: string }>(
      `SELECT coalesce(max(substr(id, 2)::bigint), 0) AS n FROM ${table} WHERE id ~ '^${prefix}[0-9]+$'`,
    );
    throw new DamagedCounterError(counter, stored, rows[0]?.id, Number(highest.rows[0]!.n));
  }
  await setMeta(db, counter, String(first + count));
  return first;
}
