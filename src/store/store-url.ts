// The PostgreSQL store's URL (see CORE-012): what selects the engine, and how it is shown.

/** Whether a --store value names a PostgreSQL database. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//i.test(store);
}

/** Query parameters that carry a secret, as libpq and `pg` read them (`?password=...`). */
const SECRET_PARAMETERS = ['password', 'sslpassword'];

/** The URL without its password, wherever it is written, for messages and Journal.dbPath. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const name of SECRET_PARAMETERS) {
      if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
    }
    return parsed.toString();
  } catch {
    return 'the PostgreSQL store';
  }
}
