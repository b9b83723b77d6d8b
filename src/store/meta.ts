// The `meta` key/value table: id counters, the current registry summary, the last prune time.
import type { SqliteDatabase } from './database.js';

export interface MetaStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  /** Reserves `count` consecutive numbers of a counter; ids are never reused (see CORE-003). */
  reserve(counter: 'next_run' | 'next_command', count: number): number;
}

export function createMetaStore(db: SqliteDatabase): MetaStore {
  const select = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  const upsert = db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const bump = db
    .prepare('UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = ? RETURNING CAST(value AS INTEGER) - ?')
    .pluck();
  return {
    get: (key) => select.get(key) as string | undefined,
    set: (key, value) => {
      upsert.run(key, value);
    },
    reserve: (counter, count) => bump.get(count, counter, count) as number,
  };
}
