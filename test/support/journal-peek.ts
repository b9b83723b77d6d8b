// Reads a command's status straight from a data directory's journal while another process runs,
// read-only, so a test can wait on what the journal says (see CORE-003).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteDriver as Database } from '../../src/store/database.js';

/** The status of `op` on `host` in `dir`'s journal, or undefined before it exists. */
export function commandStatus(dir: string, host: string, op: string): string | undefined {
  const db = join(dir, '.nixfleet', 'nixfleet.db');
  if (!existsSync(db)) return undefined;
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const row = conn.prepare('SELECT status FROM commands WHERE host_id = ? AND op = ?').get(host, op) as
      | { status: string }
      | undefined;
    return row?.status;
  } catch {
    return undefined; // the journal is still being created
  } finally {
    conn.close();
  }
}
