// A `meta` id counter that cannot be used: not a whole number, missing, or pointing at an id a run
// or command already has (a hand-edited or badly restored journal). Both engines check it before
// reserving ids and report a damaged journal instead of failing on a duplicate key (CORE-003,
// errors). The code crosses the PostgreSQL worker's thread with the error (CORE-012).

export const DAMAGED_COUNTER = 'NIXFLEET_DAMAGED_COUNTER';

export type IdCounter = 'next_run' | 'next_command';

/** What each counter numbers: the table and the prefix of its ids (`r12`, `c340`). */
export const COUNTERS: Readonly<
  Record<IdCounter, { readonly table: string; readonly prefix: string; readonly noun: string }>
> = {
  next_run: { table: 'pipelines', prefix: 'r', noun: 'run' },
  next_command: { table: 'commands', prefix: 'c', noun: 'command' },
};

/**
 * A counter's stored value as a number, or undefined when it is not a whole number of at least 1
 * (of at most 15 digits; `src/store/postgres/pg-meta.ts` checks the same pattern in SQL). `3.0`
 * is accepted: SQLite journals up to now stored the counters that way.
 */
export function counterNumber(stored: unknown): number | undefined {
  const text = typeof stored === 'number' ? String(stored) : stored;
  if (typeof text !== 'string' || !/^[0-9]{1,15}(\.0*)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= 1 ? value : undefined;
}

export class DamagedCounterError extends Error {
  readonly code = DAMAGED_COUNTER;
  /** The SQL that sets the counter after the highest id in use, for the hint. */
  readonly fix: string;
  /**
   * `taken`: the first id to reserve that a row already has (`r1`); `highest`: the highest number
   * of the counter's ids in use, after which the fix sets it.
   */
  constructor(counter: IdCounter, stored: unknown, taken: string | undefined, highest: number) {
    const found =
      stored === undefined || stored === null
        ? 'is missing'
        : taken === undefined
          ? `is ${JSON.stringify(String(stored))}, not a whole number of at least 1`
          : `is ${String(stored)}, but ${COUNTERS[counter].noun} ${taken} already exists`;
    super(`its id counter ${counter} (table meta) ${found}`);
    this.name = 'DamagedCounterError';
    const next = `'${highest + 1}'`;
    this.fix =
      stored === undefined || stored === null
        ? `INSERT INTO meta (key, value) VALUES ('${counter}', ${next})`
        : `UPDATE meta SET value = ${next} WHERE key = '${counter}'`;
  }
}
