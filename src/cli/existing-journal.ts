// Commands that only read the journal (`runs`, `show`, `logs`, `cancel`) must not create one:
// run in the wrong folder, they say where they looked and how to point elsewhere (see CORE-002,
// the command line), and leave no `.nixfleet/` behind.
import { statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { DB_FILE, openJournal } from '../store/journal.js';
import type { Journal } from '../store/types.js';
import type { CommandContext } from './command.js';
import { journalPlaceFor } from './load-fleet.js';

/**
 * The data directory, and whether a journal is in it (nothing is created to find out). A data
 * directory that is a file, or under one, counts as there: opening it gives the error that names
 * the broken path (CORE-003), instead of "nothing has run here".
 */
export async function existingDataDir(
  ctx: CommandContext,
): Promise<{ dir: string; exists: boolean; store: { store?: string } }> {
  const { dataDir: dir, store } = await journalPlaceFor(ctx);
  // A PostgreSQL store (CORE-012) keeps the journal in the database, not in the directory.
  return {
    dir,
    exists: store.store !== undefined || isThere(join(dir, DB_FILE)) || !isDirectoryOrMissing(dir),
    store,
  };
}

export function noJournalText(ctx: CommandContext, dir: string): string {
  // Relative only below the working directory; elsewhere the absolute path says more than ../../x.
  const below = relative(ctx.io.cwd, dir);
  const shown = below === '' || below.startsWith('..') || isAbsolute(below) ? dir : below;
  return `no journal in ${shown}: nothing has run here yet`;
}

/**
 * Whether something is at `path`. Only "no such file" says no: a journal in a directory this user
 * may not enter (`.nixfleet` is 0700, another user's) counts as there, and opening it names the
 * directory and the fix (CORE-003), where `existsSync` said "nothing has run here" and exit 0.
 */
function isThere(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

function isDirectoryOrMissing(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

export const NO_JOURNAL_HINT =
  'run nixfleet in the folder of your fleet.yaml, or point at the journal with -f FILE or --data-dir DIR';

/**
 * Opens the journal, or fails (exit 2) without creating anything when there is none. `noOutputs`:
 * the command reads and writes no output file, so a broken `logs/` does not stop it (CORE-003).
 */
export async function openExistingJournal(
  ctx: CommandContext,
  options: { noOutputs?: boolean } = {},
): Promise<Journal> {
  const { dir, exists, store } = await existingDataDir(ctx);
  if (!exists) throw new UserError(noJournalText(ctx, dir), { hint: NO_JOURNAL_HINT });
  return openJournal(dir, { ...store, ...options });
}
