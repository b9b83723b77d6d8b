// The PostgreSQL store's URL (see CORE-012): what selects the engine, and how it is shown.

/** Whether a --store value names a PostgreSQL database. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//i.test(store);
}

/** The URL without its password, for messages and Journal.dbPath. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the PostgreSQL store';
  }
}
