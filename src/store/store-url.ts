// The PostgreSQL store's URL (see CORE-012): what selects the engine, and how it is shown.
import { SECRET_PARAMETERS } from '../domain/hidden-password.js';

/** Whether a --store value names a PostgreSQL database. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//i.test(store);
}

/**
 * Whether the URL carries a password of its own (else `pg` takes $PGPASSWORD or the password
 * file): an empty one is none to pg.
 */
export function hasOwnPassword(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.password !== '' || (parsed.searchParams.get('password') ?? '') !== '';
  } catch {
    return false;
  }
}

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

/**
 * The URL as handed to `pg`. pg 8 takes `sslmode=prefer`, `require` and `verify-ca` to mean
 * `verify-full` (the server's certificate and name are checked) and says so in a multi-line
 * warning on stderr at every start. nixfleet writes them as `verify-full`, which is what pg does
 * with them anyway: the same connection, no warning (CORE-012). `uselibpqcompat=true` keeps
 * libpq's weaker meanings, and the URL as written.
 */
export function pgConnectionString(url: string): string {
  try {
    const parsed = new URL(url);
    const mode = parsed.searchParams.get('sslmode');
    if (parsed.searchParams.get('uselibpqcompat') === 'true') return url;
    if (mode !== 'prefer' && mode !== 'require' && mode !== 'verify-ca') return url;
    parsed.searchParams.set('sslmode', 'verify-full');
    return parsed.toString();
  } catch {
    return url;
  }
}
