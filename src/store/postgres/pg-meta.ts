// The `meta` key/value table on PostgreSQL: id counters, the registry summary, the last prune time,
// the journal's id.
import type pg from 'pg';
import { COUNTERS, DamagedCounterError, type IdCounter } from '../damaged-counter-error.js';
import { JOURNAL_ID_KEY } from '../meta.js';

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
  const { table, prefix } = COUNTERS[counter];
  // One round trip, as before the check: the counter moves on only when it is a whole number (the
  // pattern of counterNumber), and the first of its new ids already in use comes back with it.
  const { rows } = await db.query<{ first: string; taken: string | null }>(
    `UPDATE meta SET value = (value::numeric::bigint + $1)::text
     WHERE key = $2 AND CASE WHEN value ~ '^[0-9]{1,15}(\\.0*)?$' THEN value::numeric >= 1 ELSE false END
     RETURNING value::bigint - $1 AS first,
       (SELECT id FROM ${table}
         WHERE id IN (SELECT '${prefix}' || (value::bigint - $1 + g) FROM generate_series(0, $1 - 1) AS g)
         ORDER BY length(id), id LIMIT 1) AS taken`,
    [count, counter],
  );
  const reserved = rows[0];
  if (reserved !== undefined && reserved.taken === null) return Number(reserved.first);
  // Damaged: the caller's transaction rolls back whatever moved. Only asked then, so a scan is fine.
  const stored = reserved === undefined ? await getMeta(db, counter) : reserved.first;
  const highest = await db.query<{ n: string }>(
    `SELECT coalesce(max(substr(id, 2)::bigint), 0) AS n FROM ${table} WHERE id ~ '^${prefix}[0-9]+$'`,
  );
  throw new DamagedCounterError(counter, stored, reserved?.taken ?? undefined, Number(highest.rows[0]!.n));
}

/**
 * The journal's id (CORE-003, the journal's id), one for every controller on the database; when
 * it has none and `make`, one is made first: a random UUID's 32 hex digits (`gen_random_uuid`,
 * PostgreSQL 13 and later). Controllers opening at the same moment all end with the first one
 * inserted: it is only inserted where there is none, and never changed. Without `make` (a
 * read-only open, which writes nothing), undefined when there is none.
 */
export async function journalId(db: pg.ClientBase, make: boolean): Promise<string | undefined> {
  const stored = await getMeta(db, JOURNAL_ID_KEY);
  if (stored !== undefined || !make) return stored;
  await db.query(
    "INSERT INTO meta (key, value) VALUES ($1, replace(gen_random_uuid()::text, '-', '')) ON CONFLICT (key) DO NOTHING",
    [JOURNAL_ID_KEY],
  );
  return getMeta(db, JOURNAL_ID_KEY);
}
